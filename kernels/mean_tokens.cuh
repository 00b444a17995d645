// Pooling over tokens: pooled[b] = mean of x[b, first : first + count]. Mean pooling uses the patch tokens
// (first = K, count = P); class-token pooling is the same kernel with count = 1 (first = 0 for the class
// token, 1 for the distillation token), which makes it a gather.
//
// Shapes: x [B, N, D] fp32; pooled [B, D] fp32. Accumulation: fp32 sum in token order, then one division
// (as the CPU path). Scheme: one thread per (b, d), grid-stride loop, 256 threads per block; threads of a
// warp read consecutive d (coalesced).
//
// Measured numbers: not yet measured on a GPU.
#pragma once

#include "kernels/common.cuh"

namespace vit::kernels {

__global__ void __launch_bounds__(256)
    mean_tokens_kernel(const float* x, float* pooled, int batch, int tokens, int dim, int first, int count) {
  const std::int64_t outputs = std::int64_t(batch) * dim;
  for (std::int64_t i = grid_first(); i < outputs; i += grid_stride()) {
    const std::int64_t image = i / dim;
    const int d = int(i % dim);
    const float* column = x + (image * tokens + first) * dim + d;
    float sum = 0.0f;
    for (int token = 0; token < count; ++token) sum += column[std::int64_t(token) * dim];
    pooled[i] = sum / float(count);
  }
}

}  // namespace vit::kernels
