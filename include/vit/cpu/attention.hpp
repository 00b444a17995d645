// Multi-head self-attention core on the CPU: for each image and head,
//   P = softmax(Q Kᵀ / √head_dim),  O = P V
// reading Q, K, V straight out of the fused qkv projection (no reshuffling copies) and writing each
// head's output into its column block of `out`. One task is a block of query rows of one (image, head)
// pair, so that even batch 1 with 3 heads keeps every thread busy; the scores of a block live in
// per-thread scratch unless the caller asked for the probabilities, which are then written in place.
// The blocks are the same with and without maps, so asking for maps cannot change the output.
// attention_backward is its backward pass.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/cpu/gemm.hpp"
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
  // Blocks of at most kMaxQueryRows query rows, sized evenly (N = 197: 4 blocks of 50, 50, 50, 47).
  constexpr std::int64_t kMaxQueryRows = 64;
  const std::int64_t blocks = (tokens + kMaxQueryRows - 1) / kMaxQueryRows;
  const std::int64_t block_rows = (tokens + blocks - 1) / blocks;
  parallel_for(context.threads, batch * num_heads * blocks, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> scratch(probabilities.empty() ? std::size_t(block_rows * tokens) : 0);
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t pair = task / blocks, image = pair / num_heads, head = pair % num_heads;
      const std::int64_t first = task % blocks * block_rows, rows = std::min(block_rows, tokens - first);
      const float* base = qkv.data() + image * tokens * 3 * dim + head * head_dim;
      const float* q = base + first * 3 * dim;
      const float *k = base + dim, *v = base + 2 * dim;
      float* score_data =
          probabilities.empty() ? scratch.data() : probabilities.data() + (pair * tokens + first) * tokens;
      detail::gemm({q, rows, head_dim, 3 * dim}, {k, tokens, head_dim, 3 * dim}, detail::BLayout::NByK, scale,
                   {score_data, rows, tokens, tokens}, Output::Overwrite);
      for (std::int64_t row = 0; row < rows; ++row) softmax_row(score_data + row * tokens, tokens);
      float* o = out.data() + (image * tokens + first) * dim + head * head_dim;
      detail::gemm({score_data, rows, tokens, tokens}, {v, tokens, head_dim, 3 * dim}, detail::BLayout::KByN, 1.0f,
                   {o, rows, head_dim, dim}, Output::Overwrite);
    }
  });
}

// The backward pass of attention, per image and head, given dO = ∂L/∂O and the forward's P:
//   dP = dO · Vᵀ,  dV = Pᵀ · dO,  dS = P ⊙ (dP - rowsum(P ⊙ dP))  (softmax),
//   dQ = scale · dS · K,  dK = scale · dSᵀ · Q                     (S = scale · Q Kᵀ)
// qkv: [B, N, 3D] the forward's input; probabilities: [B, H, N, N] the forward's P; d_out: [B, N, D];
// d_qkv: [B, N, 3D] (written); d_probabilities (dP) and d_scores (dS): [B, H, N, N] or empty (then they
// live in per-thread scratch). One task is one (image, head) pair: dK and dV sum over every query row.
inline void attention_backward(const Context& context, TensorView<const float> qkv,
                               TensorView<const float> probabilities, int num_heads, TensorView<const float> d_out,
                               TensorView<float> d_qkv, TensorView<float> d_probabilities = {},
                               TensorView<float> d_scores = {}) {
  const std::int64_t batch = qkv.size(0), tokens = qkv.size(1), dim = qkv.size(2) / 3;
  const std::int64_t head_dim = dim / num_heads, stride = 3 * dim;
  const float scale = 1.0f / std::sqrt(float(head_dim));
  parallel_for(context.threads, batch * num_heads, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> scratch(
        std::size_t((d_probabilities.empty() ? tokens * tokens : 0) + (d_scores.empty() ? tokens * tokens : 0)));
    for (std::int64_t pair = begin; pair < end; ++pair) {
      const std::int64_t image = pair / num_heads, head = pair % num_heads;
      const std::int64_t column = image * tokens * stride + head * head_dim;
      const float *q = qkv.data() + column, *k = q + dim, *v = q + 2 * dim;
      float *dq = d_qkv.data() + column, *dk = dq + dim, *dv = dq + 2 * dim;
      const float* p = probabilities.data() + pair * tokens * tokens;
      const float* d_o = d_out.data() + image * tokens * dim + head * head_dim;
      float* dp = d_probabilities.empty() ? scratch.data() : d_probabilities.data() + pair * tokens * tokens;
      float* ds = d_scores.empty() ? scratch.data() + (d_probabilities.empty() ? tokens * tokens : 0)
                                   : d_scores.data() + pair * tokens * tokens;
      detail::gemm({d_o, tokens, head_dim, dim}, {v, tokens, head_dim, stride}, detail::BLayout::NByK, 1.0f,
                   {dp, tokens, tokens, tokens}, Output::Overwrite);
      detail::gemm({p, tokens, tokens, tokens}, detail::ALayout::KByM, {d_o, tokens, head_dim, dim},
                   detail::BLayout::KByN, 1.0f, {dv, tokens, head_dim, stride}, Output::Overwrite);
      for (std::int64_t row = 0; row < tokens; ++row) {
        const Eigen::Map<const Eigen::ArrayXf> p_row(p + row * tokens, tokens), dp_row(dp + row * tokens, tokens);
        const float dot = (p_row * dp_row).sum();
        Eigen::Map<Eigen::ArrayXf>(ds + row * tokens, tokens) = p_row * (dp_row - dot);
      }
      detail::gemm({ds, tokens, tokens, tokens}, {k, tokens, head_dim, stride}, detail::BLayout::KByN, scale,
                   {dq, tokens, head_dim, stride}, Output::Overwrite);
      detail::gemm({ds, tokens, tokens, tokens}, detail::ALayout::KByM, {q, tokens, head_dim, stride},
                   detail::BLayout::KByN, scale, {dk, tokens, head_dim, stride}, Output::Overwrite);
    }
  });
}

}  // namespace vit::cpu
