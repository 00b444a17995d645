// Reference linear layer: plain loops, double accumulation. The oracle for cpu::linear (and later CUDA).
#pragma once

#include "vit/core/tensor.hpp"

namespace vit::cpu::reference {

// x: [M, K], weight: [N, K], bias: [N] or empty → [M, N].
inline Tensor<float> linear(TensorView<const float> x, TensorView<const float> weight, TensorView<const float> bias) {
  const std::int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  Tensor<float> y({rows, out});
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t o = 0; o < out; ++o) {
      double sum = bias.empty() ? 0.0 : bias[o];
      for (std::int64_t i = 0; i < in; ++i) sum += double(x[r * in + i]) * weight[o * in + i];
      y[r * out + o] = float(sum);
    }
  return y;
}

}  // namespace vit::cpu::reference
