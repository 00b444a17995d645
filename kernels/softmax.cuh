// Row softmax, standalone: y = exp(x − max x) / Σ exp(x − max x) over the last dimension.
// The fused attention kernel does not use it (its softmax is online, in registers); this is the building
// block of an unfused attention (scores by cuBLAS, then this) kept for comparisons, and the tests hold it
// against the CPU softmax. The model does not call it.
//
// Shapes: in, out [R, C] (may alias: each thread reads its elements before writing them, and the block
// reductions separate the passes). Dtypes: T ∈ {float, __half, __nv_bfloat16}; max, exponentials and
// sum in fp32. Scheme: one block of 256 threads per row, three strided passes (max, sum, write), two block
// reductions; any C ≥ 1. Grid: R blocks (R < 2^31).
//
// Measured numbers: not yet measured on a GPU.
#pragma once

#include "kernels/common.cuh"

namespace vit::kernels {

constexpr int kSoftmaxThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kSoftmaxThreads) softmax_kernel(const T* in, T* out, int cols) {
  const std::int64_t row = blockIdx.x;
  const T* x = in + row * cols;
  T* y = out + row * cols;
  float local_max = -INFINITY;
  for (int i = int(threadIdx.x); i < cols; i += int(blockDim.x)) local_max = fmaxf(local_max, to_f32(x[i]));
  const float row_max = block_max(local_max);
  float local_sum = 0.0f;
  for (int i = int(threadIdx.x); i < cols; i += int(blockDim.x)) local_sum += expf(to_f32(x[i]) - row_max);
  const float inverse_sum = 1.0f / block_sum(local_sum);
  for (int i = int(threadIdx.x); i < cols; i += int(blockDim.x))
    y[i] = from_f32<T>(expf(to_f32(x[i]) - row_max) * inverse_sum);
}

}  // namespace vit::kernels
