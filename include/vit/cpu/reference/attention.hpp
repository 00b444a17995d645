// Reference multi-head self-attention: the textbook formula with explicit loops and double accumulation,
// P = softmax(Q Kᵀ / √d), O = P V per image and head.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "vit/core/tensor.hpp"

namespace vit::cpu::reference {

struct AttentionResult {
  Tensor<float> out;            // [B, N, D]
  Tensor<float> probabilities;  // [B, H, N, N]
};

// qkv: [B, N, 3D] (q | k | v, heads side by side within each).
inline AttentionResult attention(TensorView<const float> qkv, int num_heads) {
  const std::int64_t batch = qkv.size(0), tokens = qkv.size(1), dim = qkv.size(2) / 3, head_dim = dim / num_heads;
  AttentionResult result{Tensor<float>({batch, tokens, dim}), Tensor<float>({batch, num_heads, tokens, tokens})};
  const auto at = [&](std::int64_t b, std::int64_t n, int which, std::int64_t h, std::int64_t i) {
    return double(qkv[(b * tokens + n) * 3 * dim + which * dim + h * head_dim + i]);
  };
  std::vector<double> row(static_cast<std::size_t>(tokens));
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t h = 0; h < num_heads; ++h)
      for (std::int64_t query = 0; query < tokens; ++query) {
        for (std::int64_t key = 0; key < tokens; ++key) {
          double dot = 0;
          for (std::int64_t i = 0; i < head_dim; ++i) dot += at(b, query, 0, h, i) * at(b, key, 1, h, i);
          row[std::size_t(key)] = dot / std::sqrt(double(head_dim));
        }
        const double max_value = *std::max_element(row.begin(), row.end());
        double sum = 0;
        for (double& value : row) sum += (value = std::exp(value - max_value));
        float* p = result.probabilities.data() + ((b * num_heads + h) * tokens + query) * tokens;
        for (std::int64_t key = 0; key < tokens; ++key) p[key] = float(row[std::size_t(key)] / sum);
        for (std::int64_t i = 0; i < head_dim; ++i) {
          double value = 0;
          for (std::int64_t key = 0; key < tokens; ++key) value += row[std::size_t(key)] / sum * at(b, key, 2, h, i);
          result.out[(b * tokens + query) * dim + h * head_dim + i] = float(value);
        }
      }
  return result;
}

}  // namespace vit::cpu::reference
