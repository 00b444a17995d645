// Fused multi-head self-attention: O = softmax(Q Kᵀ / √d) V per image and head, in one kernel.
//
// Shapes: qkv [B, N, 3D] (q | k | v, heads side by side within each, timm's layout), out [B, N, D],
// probabilities [B, H, N, N] (fp32) or null; D = H · d, d = kHeadDim ∈ {16, 32, 64, 80, 128}
// (instantiated in vit/cuda/launch.cuh; any d ≤ 128 works, lanes past d idle).
// Dtypes: qkv and out are T ∈ {float, __half, __nv_bfloat16}; every score, exponential, running sum and
// output accumulator is fp32, and the probabilities are written in fp32 whatever T is.
//
// Scheme (FlashAttention-style online softmax): a block of kAttentionWarps warps owns kAttentionWarps
// consecutive query rows of one (image, head), one warp per row. The block walks the keys in tiles of
// kAttentionKeys = 32, staged in shared memory as fp32 (rows padded to d + 1 floats so that the 32 lanes,
// each reading its own key, hit 32 different banks). In a tile, lane j scores key j against the warp's
// query (held in shared memory, pre-scaled by 1/√d); the warp updates its running maximum m and sum l,
// rescales its output accumulator by exp(m_old − m_new), and adds Σ_j p_j v_j, with lane t owning output
// elements t, t + 32, ... (ceil(d / 32) registers). Scores never leave registers and nothing N×N is stored.
//
// When probabilities are requested, a second pass in the same kernel, after the row's final m and l are
// known, re-scores each key tile and writes p = exp(s − m) / l, coalesced across the lanes. Recomputing
// the scores (d FMAs per key) is cheaper than staging an N-wide row, and the probabilities are exactly
// those the output used (same scores, same m and l).
//
// Edges: query rows ≥ N (last block) compute on zeros and store nothing, but still take part in every
// __syncthreads (all loop bounds depend only on N, never on the row); keys ≥ N are loaded as zeros and
// masked to probability 0. Key `start` of each tile is always < N, so the running maximum is finite after
// the first tile and exp(−∞ − m) = 0 never meets ∞ − ∞.
// Grid: (ceil(N / kAttentionWarps), H, B), block kAttentionWarps · 32 threads; static shared memory
// 2 · 32 · (d + 1) · 4 + kAttentionWarps · d · 4 bytes (37 KB at d = 128, under the 48 KB static limit).
//
// Measured numbers: not yet measured on a GPU.
#pragma once

#include "kernels/common.cuh"

namespace vit::kernels {

constexpr int kAttentionWarps = 8;  // query rows per block
constexpr int kAttentionKeys = 32;  // keys per shared-memory tile: one per lane

template <typename T, int kHeadDim>
__device__ __forceinline__ void load_key_tile(const T* head_base, std::int64_t row_stride, std::int64_t dim, int start,
                                              int tokens, bool with_values, float (*keys)[kHeadDim + 1],
                                              float (*values)[kHeadDim + 1]) {
  for (int i = int(threadIdx.x); i < kAttentionKeys * kHeadDim; i += int(blockDim.x)) {
    const int j = i / kHeadDim, d = i % kHeadDim, key = start + j;
    const bool valid = key < tokens;
    const T* row = head_base + std::int64_t(valid ? key : 0) * row_stride;
    keys[j][d] = valid ? to_f32(row[dim + d]) : 0.0f;
    if (with_values) values[j][d] = valid ? to_f32(row[2 * dim + d]) : 0.0f;
  }
}

template <typename T, int kHeadDim>
__global__ void __launch_bounds__(kAttentionWarps * 32)
    attention_kernel(const T* __restrict__ qkv, T* __restrict__ out, float* __restrict__ probabilities, int tokens,
                     int heads, float scale) {
  constexpr int kPerLane = (kHeadDim + 31) / 32;
  __shared__ float keys[kAttentionKeys][kHeadDim + 1];
  __shared__ float values[kAttentionKeys][kHeadDim + 1];
  __shared__ float queries[kAttentionWarps][kHeadDim];

  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int head = int(blockIdx.y);
  const std::int64_t image = blockIdx.z;
  const int query = int(blockIdx.x) * kAttentionWarps + warp;
  const bool active = query < tokens;
  const std::int64_t dim = std::int64_t(heads) * kHeadDim, row_stride = 3 * dim;
  const T* head_base = qkv + image * tokens * row_stride + std::int64_t(head) * kHeadDim;  // q of token 0

  for (int d = lane; d < kHeadDim; d += 32)
    queries[warp][d] = active ? to_f32(head_base[std::int64_t(query) * row_stride + d]) * scale : 0.0f;
  __syncwarp();  // the warp reads all of its query row below

  float row_max = -INFINITY, row_sum = 0.0f, acc[kPerLane];
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) acc[k] = 0.0f;

  for (int start = 0; start < tokens; start += kAttentionKeys) {
    __syncthreads();  // every warp is done with the previous tile
    load_key_tile<T, kHeadDim>(head_base, row_stride, dim, start, tokens, true, keys, values);
    __syncthreads();

    const bool valid = start + lane < tokens;
    float score = -INFINITY;
    if (valid) {
      float dot = 0.0f;
#pragma unroll 16
      for (int d = 0; d < kHeadDim; ++d) dot += queries[warp][d] * keys[lane][d];
      score = dot;
    }
    const float new_max = fmaxf(row_max, warp_max(score));  // finite: key `start` is valid
    const float p = valid ? expf(score - new_max) : 0.0f;
    const float correction = expf(row_max - new_max);  // 0 on the first tile (row_max = −∞)
    row_sum = row_sum * correction + warp_sum(p);
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) acc[k] *= correction;
    for (int j = 0; j < kAttentionKeys; ++j) {
      const float p_j = __shfl_sync(kFullWarp, p, j);  // 0 for masked keys, whose values are zeros too
#pragma unroll
      for (int k = 0; k < kPerLane; ++k) {
        const int d = lane + 32 * k;
        if (d < kHeadDim) acc[k] += p_j * values[j][d];
      }
    }
    row_max = new_max;
  }

  if (active) {
    T* out_row = out + (image * tokens + query) * dim + std::int64_t(head) * kHeadDim;
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) {
      const int d = lane + 32 * k;
      if (d < kHeadDim) out_row[d] = from_f32<T>(acc[k] / row_sum);
    }
  }
  if (probabilities == nullptr) return;  // uniform over the grid: no thread waits at a barrier below alone

  for (int start = 0; start < tokens; start += kAttentionKeys) {
    __syncthreads();
    load_key_tile<T, kHeadDim>(head_base, row_stride, dim, start, tokens, false, keys, values);
    __syncthreads();
    const int key = start + lane;
    if (active && key < tokens) {
      float dot = 0.0f;
#pragma unroll 16
      for (int d = 0; d < kHeadDim; ++d) dot += queries[warp][d] * keys[lane][d];
      probabilities[((image * heads + head) * tokens + query) * std::int64_t(tokens) + key] =
          expf(dot - row_max) / row_sum;
    }
  }
}

}  // namespace vit::kernels
