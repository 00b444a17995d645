// The epilogue of a linear layer: out = act(acc + bias), act the exact GELU 0.5 · v · (1 + erf(v / √2))
// or the identity. cuBLAS writes the GEMM's fp32 result to acc; this pass adds the bias and activates in
// fp32 and rounds once to the activation dtype (cuBLASLt's GELU epilogue is the tanh approximation, which
// the checkpoints do not use, hence our own).
//
// Shapes: acc [M, C] fp32; bias [C] fp32 or null; out [M, C] of OutT ∈ {float, __half, __nv_bfloat16}.
// Scheme: elementwise, grid-stride loop, 256 threads per block, consecutive threads on consecutive
// columns (coalesced).
//
// Measured numbers: not yet measured on a GPU.
#pragma once

#include "kernels/common.cuh"

namespace vit::kernels {

constexpr int kElementwiseThreads = 256;

template <typename OutT, bool kGelu>
__global__ void __launch_bounds__(kElementwiseThreads)
    bias_activation_kernel(const float* acc, const float* bias, OutT* out, std::int64_t rows, int cols) {
  const std::int64_t count = rows * cols;
  for (std::int64_t i = grid_first(); i < count; i += grid_stride()) {
    float value = acc[i] + (bias != nullptr ? bias[i % cols] : 0.0f);
    if (kGelu) value = 0.5f * value * (1.0f + erff(value * 0.70710678118654752f));
    out[i] = from_f32<OutT>(value);
  }
}

}  // namespace vit::kernels
