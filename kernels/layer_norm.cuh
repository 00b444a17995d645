// LayerNorm fused with the residual add that precedes it in a pre-norm transformer:
//   x ← x + delta + delta_bias          (when delta is given: the attention or MLP output joins the stream)
//   out = (x − mean) / √(var + eps) · gamma + beta   (when gamma is given: the next block's input)
//
// Shapes: x [M, D] fp32 residual stream (read, and written when delta is given); delta [M, D] fp32 (a GEMM's
// fp32 result) or null; delta_bias [D] or null; gamma, beta [D] fp32 or null (then only the add runs);
// out [M, D] of OutT ∈ {float, __half, __nv_bfloat16}. The residual stream stays fp32 for every activation
// dtype: rounding it to 16 bits every layer would add an error that grows with depth, and it costs
// only one [M, D] fp32 buffer.
// Accumulation: two-pass mean and variance in fp32 (the values are re-read from x, which this thread just
// wrote, so no barrier is needed between the passes beyond the reductions).
// Aliasing: out may be x (OutT = float): each thread reads exactly the elements it later writes.
// Scheme: one block of 128 threads per row, strided over D. Grid: M blocks.
//
// Measured numbers: not yet measured on a GPU.
#pragma once

#include "kernels/common.cuh"

namespace vit::kernels {

constexpr int kLayerNormThreads = 128;

template <typename OutT>
__global__ void __launch_bounds__(kLayerNormThreads)
    residual_layer_norm_kernel(float* x, const float* delta, const float* delta_bias, const float* gamma,
                               const float* beta, OutT* out, int dim, float eps) {
  const std::int64_t row = blockIdx.x;
  float* x_row = x + row * dim;
  float local_sum = 0.0f;
  for (int i = int(threadIdx.x); i < dim; i += int(blockDim.x)) {
    float value = x_row[i];
    if (delta != nullptr) {
      value += delta[row * dim + i] + (delta_bias != nullptr ? delta_bias[i] : 0.0f);
      x_row[i] = value;
    }
    local_sum += value;
  }
  if (gamma == nullptr) return;  // the same for the whole block: nobody waits at the barriers below
  const float mean = block_sum(local_sum) / float(dim);
  float local_squares = 0.0f;
  for (int i = int(threadIdx.x); i < dim; i += int(blockDim.x)) {
    const float centred = x_row[i] - mean;
    local_squares += centred * centred;
  }
  const float inverse_std = 1.0f / sqrtf(block_sum(local_squares) / float(dim) + eps);
  OutT* out_row = out + row * dim;
  for (int i = int(threadIdx.x); i < dim; i += int(blockDim.x))
    out_row[i] = from_f32<OutT>((x_row[i] - mean) * inverse_std * gamma[i] + beta[i]);
}

}  // namespace vit::kernels
