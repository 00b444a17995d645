// Reference linear layer and its backward pass: plain loops, double accumulation. The oracle for cpu::linear
// and cpu::linear_backward (and the CUDA linear).
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

struct LinearGradients {
  Tensor<float> x;       // [M, K]
  Tensor<float> weight;  // [N, K]
  Tensor<float> bias;    // [N]
};

// The backward pass of y = x · Wᵀ + b for dy: [M, N], in double: dx = dy · W, dW = dyᵀ · x, db = Σ_rows dy.
inline LinearGradients linear_backward(TensorView<const float> x, TensorView<const float> weight,
                                       TensorView<const float> dy) {
  const std::int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  LinearGradients result{Tensor<float>({rows, in}), Tensor<float>({out, in}), Tensor<float>({out})};
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t i = 0; i < in; ++i) {
      double sum = 0;
      for (std::int64_t o = 0; o < out; ++o) sum += double(dy[r * out + o]) * weight[o * in + i];
      result.x[r * in + i] = float(sum);
    }
  for (std::int64_t o = 0; o < out; ++o) {
    double bias_sum = 0;
    for (std::int64_t r = 0; r < rows; ++r) bias_sum += dy[r * out + o];
    result.bias[o] = float(bias_sum);
    for (std::int64_t i = 0; i < in; ++i) {
      double sum = 0;
      for (std::int64_t r = 0; r < rows; ++r) sum += double(dy[r * out + o]) * x[r * in + i];
      result.weight[o * in + i] = float(sum);
    }
  }
  return result;
}

}  // namespace vit::cpu::reference
