// LayerNorm on the CPU over the last dimension: y = (x - mean) / sqrt(var + eps) * weight + bias,
// with the biased variance (as PyTorch), by the corrected two-pass algorithm in vectorised float.
#pragma once

#include <cmath>

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

}  // namespace vit::cpu
