// Reference multi-head self-attention and its backward pass: the textbook formulas with explicit loops and
// double accumulation, P = softmax(Q Kᵀ / √d), O = P V per image and head.
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

struct AttentionGradients {
  Tensor<float> qkv;            // [B, N, 3D]
  Tensor<float> probabilities;  // [B, H, N, N]: ∂L/∂P
  Tensor<float> scores;         // [B, H, N, N]: ∂L/∂S, S = Q Kᵀ / √d the softmax input
};

// The backward pass for d_out: [B, N, D], in double, recomputing P; the softmax step uses its Jacobian
// written out, ∂P_j/∂S_i = P_j (δ_ij - P_i).
inline AttentionGradients attention_backward(TensorView<const float> qkv, int num_heads,
                                             TensorView<const float> d_out) {
  const std::int64_t batch = qkv.size(0), tokens = qkv.size(1), dim = qkv.size(2) / 3, head_dim = dim / num_heads;
  AttentionGradients result{Tensor<float>({batch, tokens, 3 * dim}), Tensor<float>({batch, num_heads, tokens, tokens}),
                            Tensor<float>({batch, num_heads, tokens, tokens})};
  const double scale = 1.0 / std::sqrt(double(head_dim));
  const auto at = [&](std::int64_t b, std::int64_t n, int which, std::int64_t h, std::int64_t i) {
    return double(qkv[(b * tokens + n) * 3 * dim + which * dim + h * head_dim + i]);
  };
  const auto n = std::size_t(tokens);
  std::vector<double> p(n * n), dp(n * n), ds(n * n);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t h = 0; h < num_heads; ++h) {
      for (std::size_t query = 0; query < n; ++query) {
        double max_value = -1e300;
        for (std::size_t key = 0; key < n; ++key) {
          double dot = 0;
          for (std::int64_t i = 0; i < head_dim; ++i)
            dot += at(b, std::int64_t(query), 0, h, i) * at(b, std::int64_t(key), 1, h, i);
          p[query * n + key] = dot * scale;
          max_value = std::max(max_value, p[query * n + key]);
        }
        double sum = 0;
        for (std::size_t key = 0; key < n; ++key)
          sum += (p[query * n + key] = std::exp(p[query * n + key] - max_value));
        for (std::size_t key = 0; key < n; ++key) p[query * n + key] /= sum;
        for (std::size_t key = 0; key < n; ++key) {
          double value = 0;
          for (std::int64_t i = 0; i < head_dim; ++i)
            value += double(d_out[(b * tokens + std::int64_t(query)) * dim + h * head_dim + i]) *
                     at(b, std::int64_t(key), 2, h, i);
          dp[query * n + key] = value;
        }
        for (std::size_t i = 0; i < n; ++i) {
          double value = 0;
          for (std::size_t j = 0; j < n; ++j)
            value += dp[query * n + j] * p[query * n + j] * ((i == j ? 1.0 : 0.0) - p[query * n + i]);
          ds[query * n + i] = value;
        }
      }
      float* dp_out = result.probabilities.data() + (b * num_heads + h) * tokens * tokens;
      float* ds_out = result.scores.data() + (b * num_heads + h) * tokens * tokens;
      for (std::size_t i = 0; i < n * n; ++i) {
        dp_out[i] = float(dp[i]);
        ds_out[i] = float(ds[i]);
      }
      for (std::size_t token = 0; token < n; ++token)
        for (std::int64_t i = 0; i < head_dim; ++i) {
          double dq = 0, dk = 0, dv = 0;
          for (std::size_t other = 0; other < n; ++other) {
            dq += ds[token * n + other] * scale * at(b, std::int64_t(other), 1, h, i);
            dk += ds[other * n + token] * scale * at(b, std::int64_t(other), 0, h, i);
            dv += p[other * n + token] * double(d_out[(b * tokens + std::int64_t(other)) * dim + h * head_dim + i]);
          }
          float* row = result.qkv.data() + (b * tokens + std::int64_t(token)) * 3 * dim + h * head_dim + i;
          row[0] = float(dq);
          row[dim] = float(dk);
          row[2 * dim] = float(dv);
        }
    }
  return result;
}

}  // namespace vit::cpu::reference
