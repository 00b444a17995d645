// Reference exact GELU, 0.5 · x · (1 + erf(x / √2)), and its derivative, in double.
#pragma once

#include <cmath>

#include "vit/core/tensor.hpp"

namespace vit::cpu::reference {

inline Tensor<float> gelu(TensorView<const float> x) {
  Tensor<float> y = Tensor<float>::uninitialized(x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double v = x[i];
    y[i] = float(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))));
  }
  return y;
}

// dx = dy ⊙ GELU'(x), GELU'(x) = Φ(x) + x · φ(x), in double.
inline Tensor<float> gelu_backward(TensorView<const float> x, TensorView<const float> dy) {
  Tensor<float> dx = Tensor<float>::uninitialized(x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double v = x[i];
    const double cdf = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0)));
    const double pdf = std::exp(-0.5 * v * v) / std::sqrt(2.0 * 3.14159265358979323846);
    dx[i] = float(dy[i] * (cdf + v * pdf));
  }
  return dx;
}

}  // namespace vit::cpu::reference
