// Reference exact GELU: 0.5 · x · (1 + erf(x / √2)) in double.
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

}  // namespace vit::cpu::reference
