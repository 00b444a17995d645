// LayerNorm on the CPU over the last dimension: y = (x - mean) / sqrt(var + eps) * weight + bias,
// with the biased variance (as PyTorch), by the corrected two-pass algorithm in vectorised float; and its
// backward pass, layer_norm_backward.
#pragma once

#include <cmath>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/cpu/parallel.hpp"

namespace vit::cpu {

// x, y: [M, D] (may alias); weight, bias: [D].
inline void layer_norm(const Context& context, TensorView<const float> x, TensorView<const float> weight,
                       TensorView<const float> bias, float eps, TensorView<float> y) {
  const std::int64_t rows = x.size(0), dim = x.size(1);
  const Eigen::Map<const Eigen::ArrayXf> w(weight.data(), dim), b(bias.data(), dim);
  parallel_for(context.threads, rows, 32, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const Eigen::Map<const Eigen::ArrayXf> in(x.data() + r * dim, dim);
      Eigen::Map<Eigen::ArrayXf> out(y.data() + r * dim, dim);
      // A row with a large common offset (residual streams can have one) loses its mean to float
      // rounding: the first mean's error is measured on the centred values and taken off again
      // (corrected two-pass), which keeps float sums as accurate as the double sums this replaced
      // while running vectorised (the scalar double loops cost 10% of deit_tiny's forward).
      const float rough_mean = in.sum() / float(dim);
      const float correction = (in - rough_mean).sum() / float(dim);
      const auto centred = (in - rough_mean) - correction;
      const float variance = centred.square().sum() / float(dim);
      const float inv_std = float(1.0 / std::sqrt(double(variance) + double(eps)));
      out = centred * inv_std * w + b;
    }
  });
}

namespace detail {

// The mean and 1/√(var + eps) of one row of `dim` floats, as layer_norm computes them.
inline void row_statistics(const float* row, std::int64_t dim, float eps, float& mean, float& inv_std) {
  const Eigen::Map<const Eigen::ArrayXf> in(row, dim);
  const float rough_mean = in.sum() / float(dim);
  const float correction = (in - rough_mean).sum() / float(dim);
  mean = rough_mean + correction;
  const float variance = ((in - rough_mean) - correction).square().sum() / float(dim);
  inv_std = float(1.0 / std::sqrt(double(variance) + double(eps)));
}

}  // namespace detail

// The backward pass of y = LayerNorm(x), given dy = ∂L/∂y, with x̂ = (x - mean) · inv_std and g = dy ⊙ weight:
//   dx = inv_std · (g - mean(g) - x̂ · mean(g ⊙ x̂))   per row (written, or added with dx_output = Accumulate:
//                                                     the residual stream's gradient joins it)
//   dweight += Σ_rows dy ⊙ x̂,  dbias += Σ_rows dy     (each optional: empty views are skipped)
// x: [M, D] the forward's input (the statistics are recomputed from it); weight: [D]; dy, dx: [M, D].
inline void layer_norm_backward(const Context& context, TensorView<const float> x, TensorView<const float> weight,
                                float eps, TensorView<const float> dy, TensorView<float> dx, TensorView<float> dweight,
                                TensorView<float> dbias, Output dx_output = Output::Overwrite) {
  const std::int64_t rows = x.size(0), dim = x.size(1);
  std::vector<float> means(static_cast<std::size_t>(rows)), inv_stds(static_cast<std::size_t>(rows));
  const Eigen::Map<const Eigen::ArrayXf> w(weight.data(), dim);
  parallel_for(context.threads, rows, 32, [&](std::int64_t begin, std::int64_t end) {
    Eigen::ArrayXf normed(dim), g(dim);
    for (std::int64_t r = begin; r < end; ++r) {
      float& mean = means[std::size_t(r)];
      float& inv_std = inv_stds[std::size_t(r)];
      detail::row_statistics(x.data() + r * dim, dim, eps, mean, inv_std);
      if (dx.empty()) continue;
      normed = (Eigen::Map<const Eigen::ArrayXf>(x.data() + r * dim, dim) - mean) * inv_std;
      g = Eigen::Map<const Eigen::ArrayXf>(dy.data() + r * dim, dim) * w;
      const float g_mean = g.sum() / float(dim), gx_mean = (g * normed).sum() / float(dim);
      Eigen::Map<Eigen::ArrayXf> out(dx.data() + r * dim, dim);
      if (dx_output == Output::Accumulate)
        out += inv_std * (g - g_mean - normed * gx_mean);
      else
        out = inv_std * (g - g_mean - normed * gx_mean);
    }
  });
  if (dweight.empty() && dbias.empty()) return;
  // Split by columns so that each thread owns its part of dweight and dbias.
  parallel_for(context.threads, dim, 16, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t width = end - begin;
    Eigen::ArrayXf weight_sum = Eigen::ArrayXf::Zero(width), bias_sum = Eigen::ArrayXf::Zero(width);
    for (std::int64_t r = 0; r < rows; ++r) {
      const Eigen::Map<const Eigen::ArrayXf> d(dy.data() + r * dim + begin, width);
      const Eigen::Map<const Eigen::ArrayXf> in(x.data() + r * dim + begin, width);
      weight_sum += d * (in - means[std::size_t(r)]) * inv_stds[std::size_t(r)];
      bias_sum += d;
    }
    if (!dweight.empty()) Eigen::Map<Eigen::ArrayXf>(dweight.data() + begin, width) += weight_sum;
    if (!dbias.empty()) Eigen::Map<Eigen::ArrayXf>(dbias.data() + begin, width) += bias_sum;
  });
}

}  // namespace vit::cpu
