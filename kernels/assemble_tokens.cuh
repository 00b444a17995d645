// Token assembly: the transformer's input sequence, written into the fp32 residual stream.
//   x[b, t] = prefix[t] + pos[t]                               for the K prefix tokens (class, distillation)
//   x[b, t] = patch_acc[b · P + t − K] + patch_bias + pos[t]    for the P patch tokens
// The patch embedding's bias add is folded in here, so its GEMM writes straight to patch_acc.
//
// Shapes: prefix [K, D] fp32 (K may be 0); patch_acc [B · P, D] fp32; patch_bias [D] fp32;
// pos [K + P, D] fp32 (already resampled to this grid); x [B, K + P, D] fp32. All fp32: no rounding.
// Scheme: one thread per element of x, grid-stride loop, 256 threads per block.
//
// Measured numbers: not yet measured on a GPU.
#pragma once

#include "kernels/common.cuh"

namespace vit::kernels {

__global__ void __launch_bounds__(256)
    assemble_tokens_kernel(const float* prefix, const float* patch_acc, const float* patch_bias, const float* pos,
                           float* x, int batch, int prefix_tokens, int patches, int dim) {
  const int tokens = prefix_tokens + patches;
  const std::int64_t count = std::int64_t(batch) * tokens * dim;
  for (std::int64_t i = grid_first(); i < count; i += grid_stride()) {
    const int d = int(i % dim), token = int((i / dim) % tokens);
    const std::int64_t image = i / (std::int64_t(tokens) * dim);
    const float value = token < prefix_tokens
                            ? prefix[std::int64_t(token) * dim + d]
                            : patch_acc[(image * patches + token - prefix_tokens) * dim + d] + patch_bias[d];
    x[i] = value + pos[std::int64_t(token) * dim + d];
  }
}

}  // namespace vit::kernels
