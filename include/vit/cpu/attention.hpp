// Multi-head self-attention core on the CPU: for each image and head,
//   P = softmax(Q Kᵀ / √head_dim),  O = P V
// reading Q, K, V straight out of the fused qkv projection (no reshuffling copies) and writing each
// head's output into its column block of `out`. One (image, head) pair per task; the N×N scores live
// in per-thread scratch unless the caller asked for the probabilities, which are then written in place.
#pragma once

#include <cmath>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/cpu/parallel.hpp"
#include "vit/cpu/softmax.hpp"

namespace vit::cpu {

// qkv: [B, N, 3D], each row q | k | v with heads of head_dim = D / num_heads side by side (timm's layout);
// out: [B, N, D]; probabilities: [B, H, N, N] or empty (then nothing N×N outlives a task).
inline void attention(const Context& context, TensorView<const float> qkv, int num_heads, TensorView<float> out,
                      TensorView<float> probabilities = {}) {
  const std::int64_t batch = qkv.size(0), tokens = qkv.size(1), dim = qkv.size(2) / 3;
  const std::int64_t head_dim = dim / num_heads;
  const float scale = 1.0f / std::sqrt(float(head_dim));
  parallel_for(context.threads, batch * num_heads, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> scratch(probabilities.empty() ? std::size_t(tokens * tokens) : 0);
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t image = task / num_heads, head = task % num_heads;
      const float* base = qkv.data() + image * tokens * 3 * dim + head * head_dim;
      const detail::ConstStridedMatrixMap q(base, tokens, head_dim, Eigen::OuterStride<>(3 * dim));
      const detail::ConstStridedMatrixMap k(base + dim, tokens, head_dim, Eigen::OuterStride<>(3 * dim));
      const detail::ConstStridedMatrixMap v(base + 2 * dim, tokens, head_dim, Eigen::OuterStride<>(3 * dim));
      float* score_data = probabilities.empty() ? scratch.data() : probabilities.data() + task * tokens * tokens;
      detail::MatrixMap scores(score_data, tokens, tokens);
      scores.noalias() = (q * scale) * k.transpose();
      for (std::int64_t row = 0; row < tokens; ++row) softmax_row(score_data + row * tokens, tokens);
      detail::StridedMatrixMap o(out.data() + image * tokens * dim + head * head_dim, tokens, head_dim,
                                 Eigen::OuterStride<>(dim));
      o.noalias() = scores * v;
    }
  });
}

}  // namespace vit::cpu
