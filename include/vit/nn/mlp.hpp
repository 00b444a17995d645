// The transformer MLP: fc2(GELU(fc1(h))), added to the residual stream.
#pragma once

#include "vit/core/tensor.hpp"
#include "vit/nn/linear.hpp"

namespace vit::nn {

template <typename T>
struct Mlp {
  Linear<T> fc1;  // [hidden, D]
  Linear<T> fc2;  // [D, hidden]

  // h: [M, D] normalised input; hidden: [M, hidden] scratch; residual: [M, D], receives += fc2(GELU(fc1(h))).
  void forward(const Context& context, TensorView<const T> h, TensorView<T> hidden, TensorView<T> residual) const {
    fc1.forward_gelu(context, h, hidden);
    fc2.forward(context, hidden, residual, Output::Accumulate);
  }
};

}  // namespace vit::nn
