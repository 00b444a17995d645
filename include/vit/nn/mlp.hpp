// The transformer MLP: fc2(GELU(fc1(h))), added to the residual stream.
#pragma once

#include "vit/core/tensor.hpp"
#include "vit/cpu/gelu.hpp"
#include "vit/nn/linear.hpp"

namespace vit::nn {

struct MlpGradients {
  LinearGradients fc1;
  LinearGradients fc2;
};

template <typename T>
struct Mlp {
  Linear<T> fc1;  // [hidden, D]
  Linear<T> fc2;  // [D, hidden]

  // h: [M, D] normalised input; hidden: [M, hidden] scratch; residual: [M, D], receives += fc2(GELU(fc1(h))).
  // pre_activation: [M, hidden] receives fc1(h) before the GELU when given (for the backward pass).
  void forward(const Context& context, TensorView<const T> h, TensorView<T> hidden, TensorView<T> residual,
               TensorView<T> pre_activation = {}) const {
    fc1.forward_gelu(context, h, hidden, pre_activation);
    fc2.forward(context, hidden, residual, Output::Accumulate);
  }

  // The backward pass, from what the forward saved: h [M, D] (its input), pre_activation and hidden
  // [M, hidden]; d_residual: [M, D] the gradient of the residual stream it added to. dh: [M, D] receives
  // ∂L/∂h. Scratch: d_hidden [M, hidden].
  void backward(const Context& context, TensorView<const T> h, TensorView<const T> pre_activation,
                TensorView<const T> hidden, TensorView<const T> d_residual, TensorView<T> dh,
                const MlpGradients& gradients, TensorView<T> d_hidden) const {
    fc2.backward(context, hidden, d_residual, d_hidden, gradients.fc2);
    detail::require_cpu_float<T>(context, "Mlp backward");
    if constexpr (std::is_same_v<T, float>) cpu::gelu_backward(context, pre_activation, d_hidden, d_hidden);
    fc1.backward(context, h, d_hidden, dh, gradients.fc1);
  }
};

}  // namespace vit::nn
