// LayerNorm on the CPU over the last dimension: y = (x - mean) / sqrt(var + eps) * weight + bias,
// with the biased variance (as PyTorch), computed in two passes with double sums for accuracy.
#pragma once

#include <cmath>

#include "vit/core/context.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/parallel.hpp"

namespace vit::cpu {

// x, y: [M, D] (may alias); weight, bias: [D].
inline void layer_norm(const Context& context, TensorView<const float> x, TensorView<const float> weight,
                       TensorView<const float> bias, float eps, TensorView<float> y) {
  const std::int64_t rows = x.size(0), dim = x.size(1);
  parallel_for(context.threads, rows, 32, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* in = x.data() + r * dim;
      float* out = y.data() + r * dim;
      // Sums in double: a row with a large common offset (residual streams can have one) would
      // otherwise lose the mean to float rounding. The cost is negligible next to the GEMMs.
      double sum = 0;
      for (std::int64_t i = 0; i < dim; ++i) sum += in[i];
      const double mean_exact = sum / double(dim);
      double square_sum = 0;
      for (std::int64_t i = 0; i < dim; ++i) square_sum += (in[i] - mean_exact) * (in[i] - mean_exact);
      const float mean = float(mean_exact);
      const float inv_std = float(1.0 / std::sqrt(square_sum / double(dim) + double(eps)));
      for (std::int64_t i = 0; i < dim; ++i) out[i] = (in[i] - mean) * inv_std * weight[i] + bias[i];
    }
  });
}

}  // namespace vit::cpu
