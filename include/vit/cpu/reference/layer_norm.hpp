// Reference LayerNorm over the last dimension and its backward pass: plain loops, double accumulation.
#pragma once

#include <cmath>
#include <vector>

#include "vit/core/tensor.hpp"

namespace vit::cpu::reference {

// x: [M, D]; weight, bias: [D] → [M, D].
inline Tensor<float> layer_norm(TensorView<const float> x, TensorView<const float> weight, TensorView<const float> bias,
                                float eps) {
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

struct LayerNormGradients {
  Tensor<float> x;       // [M, D]
  Tensor<float> weight;  // [D]
  Tensor<float> bias;    // [D]
};

// The backward pass for dy: [M, D], in double, from the textbook derivative written out element by element:
// ∂y_j/∂x_i = weight_j · inv_std · (δ_ij - 1/D - x̂_i x̂_j / D).
inline LayerNormGradients layer_norm_backward(TensorView<const float> x, TensorView<const float> weight, float eps,
                                              TensorView<const float> dy) {
  const std::int64_t rows = x.size(0), dim = x.size(1);
  LayerNormGradients result{Tensor<float>({rows, dim}), Tensor<float>({dim}), Tensor<float>({dim})};
  std::vector<double> weight_sum(static_cast<std::size_t>(dim)), bias_sum(static_cast<std::size_t>(dim)),
      normed(static_cast<std::size_t>(dim));
  for (std::int64_t r = 0; r < rows; ++r) {
    double mean = 0, variance = 0;
    for (std::int64_t i = 0; i < dim; ++i) mean += x[r * dim + i];
    mean /= double(dim);
    for (std::int64_t i = 0; i < dim; ++i) variance += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
    variance /= double(dim);
    const double inv_std = 1.0 / std::sqrt(variance + double(eps));
    for (std::int64_t i = 0; i < dim; ++i) normed[std::size_t(i)] = (x[r * dim + i] - mean) * inv_std;
    for (std::int64_t i = 0; i < dim; ++i) {
      double sum = 0;
      for (std::int64_t j = 0; j < dim; ++j) {
        const double jacobian =
            double(weight[j]) * inv_std *
            ((i == j ? 1.0 : 0.0) - 1.0 / double(dim) - normed[std::size_t(i)] * normed[std::size_t(j)] / double(dim));
        sum += double(dy[r * dim + j]) * jacobian;
      }
      result.x[r * dim + i] = float(sum);
      weight_sum[std::size_t(i)] += double(dy[r * dim + i]) * normed[std::size_t(i)];
      bias_sum[std::size_t(i)] += dy[r * dim + i];
    }
  }
  for (std::int64_t i = 0; i < dim; ++i) {
    result.weight[i] = float(weight_sum[std::size_t(i)]);
    result.bias[i] = float(bias_sum[std::size_t(i)]);
  }
  return result;
}

}  // namespace vit::cpu::reference
