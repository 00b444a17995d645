// Reference LayerNorm over the last dimension: plain loops, double accumulation.
#pragma once

#include <cmath>

#include "vit/core/tensor.hpp"

namespace vit::cpu::reference {

// x: [M, D]; weight, bias: [D] → [M, D].
inline Tensor<float> layer_norm(TensorView<const float> x, TensorView<const float> weight,
                                TensorView<const float> bias, float eps) {
  const std::int64_t rows = x.size(0), dim = x.size(1);
  Tensor<float> y({rows, dim});
  for (std::int64_t r = 0; r < rows; ++r) {
    double mean = 0, variance = 0;
    for (std::int64_t i = 0; i < dim; ++i) mean += x[r * dim + i];
    mean /= double(dim);
    for (std::int64_t i = 0; i < dim; ++i) variance += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
    variance /= double(dim);
    for (std::int64_t i = 0; i < dim; ++i)
      y[r * dim + i] = float((x[r * dim + i] - mean) / std::sqrt(variance + double(eps)) * weight[i] + bias[i]);
  }
  return y;
}

}  // namespace vit::cpu::reference
