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
//   dP = dO · Vᵀ,  dS = P ⊙ (dP - rowsum(P ⊙ dP))  (softmax),  dQ = scale · dS · K   (row by row: query blocks)
//   dV = Pᵀ · dO,  dK = scale · dSᵀ · Q                                             (column by column: key blocks)
// with S = scale · Q Kᵀ. qkv: [B, N, 3D] the forward's input; probabilities: [B, H, N, N] the forward's P;
// d_out: [B, N, D]; d_qkv: [B, N, 3D] (written); d_probabilities (dP) and d_scores (dS): [B, H, N, N] or empty
// (then they live in scratch). With many (image, head) pairs a task is a whole pair; with few (batch 1 of
// DeiT-tiny has 3 pairs for 2 threads) each pair is split, first by query blocks, then by key blocks, so that
// every thread stays busy.
inline void attention_backward(const Context& context, TensorView<const float> qkv,
                               TensorView<const float> probabilities, int num_heads, TensorView<const float> d_out,
                               TensorView<float> d_qkv, TensorView<float> d_probabilities = {},
                               TensorView<float> d_scores = {}) {
  const std::int64_t batch = qkv.size(0), tokens = qkv.size(1), dim = qkv.size(2) / 3;
  const std::int64_t head_dim = dim / num_heads, stride = 3 * dim, pairs = batch * num_heads, square = tokens * tokens;
  const float scale = 1.0f / std::sqrt(float(head_dim));
  struct Pair {
    const float *q, *k, *v, *p, *d_o;
    float *dq, *dk, *dv, *dp, *ds;
  };
  // The pointers of one pair; dP and dS go to the outputs when given, else to `scratch` (2 N² floats).
  const auto pair_at = [&](std::int64_t pair, float* scratch) {
    const std::int64_t image = pair / num_heads, head = pair % num_heads;
    const std::int64_t column = image * tokens * stride + head * head_dim;
    Pair at;
    at.q = qkv.data() + column, at.k = at.q + dim, at.v = at.q + 2 * dim;
    at.dq = d_qkv.data() + column, at.dk = at.dq + dim, at.dv = at.dq + 2 * dim;
    at.p = probabilities.data() + pair * square;
    at.d_o = d_out.data() + image * tokens * dim + head * head_dim;
    at.dp = d_probabilities.empty() ? scratch : d_probabilities.data() + pair * square;
    at.ds = d_scores.empty() ? scratch + square : d_scores.data() + pair * square;
    return at;
  };
  // Query rows [first, last): dP, dS and dQ of those rows.
  const auto query_rows = [&](const Pair& at, std::int64_t first, std::int64_t last) {
    const std::int64_t rows = last - first;
    detail::gemm({at.d_o + first * dim, rows, head_dim, dim}, {at.v, tokens, head_dim, stride}, detail::BLayout::NByK,
                 1.0f, {at.dp + first * tokens, rows, tokens, tokens}, Output::Overwrite);
    for (std::int64_t row = first; row < last; ++row) {
      const Eigen::Map<const Eigen::ArrayXf> p_row(at.p + row * tokens, tokens), dp_row(at.dp + row * tokens, tokens);
      const float dot = (p_row * dp_row).sum();
      Eigen::Map<Eigen::ArrayXf>(at.ds + row * tokens, tokens) = p_row * (dp_row - dot);
    }
    detail::gemm({at.ds + first * tokens, rows, tokens, tokens}, {at.k, tokens, head_dim, stride},
                 detail::BLayout::KByN, scale, {at.dq + first * stride, rows, head_dim, stride}, Output::Overwrite);
  };
  // Key rows [first, last): dV and dK of those keys, from every query row's P and dS.
  const auto key_rows = [&](const Pair& at, std::int64_t first, std::int64_t last) {
    const std::int64_t keys = last - first;
    detail::gemm({at.p + first, tokens, keys, tokens}, detail::ALayout::KByM, {at.d_o, tokens, head_dim, dim},
                 detail::BLayout::KByN, 1.0f, {at.dv + first * stride, keys, head_dim, stride}, Output::Overwrite);
    detail::gemm({at.ds + first, tokens, keys, tokens}, detail::ALayout::KByM, {at.q, tokens, head_dim, stride},
                 detail::BLayout::KByN, scale, {at.dk + first * stride, keys, head_dim, stride}, Output::Overwrite);
  };

  const int threads = std::max(1, context.threads);
  if (pairs % threads == 0 || pairs >= 4 * threads) {
    parallel_for(threads, pairs, 1, [&](std::int64_t begin, std::int64_t end) {
      std::vector<float> scratch(std::size_t(2 * square));
      for (std::int64_t pair = begin; pair < end; ++pair) {
        const Pair at = pair_at(pair, scratch.data());
        query_rows(at, 0, tokens);
        key_rows(at, 0, tokens);
      }
    });
    return;
  }
  std::vector<float> scratch(std::size_t(2 * square));
  for (std::int64_t pair = 0; pair < pairs; ++pair) {
    const Pair at = pair_at(pair, scratch.data());
    parallel_for(threads, tokens, 16, [&](std::int64_t begin, std::int64_t end) { query_rows(at, begin, end); });
    parallel_for(threads, tokens, 16, [&](std::int64_t begin, std::int64_t end) { key_rows(at, begin, end); });
  }
}

}  // namespace vit::cpu
