// What every kernel shares: the storage types behind vit::DType, conversions to and from the fp32 that
// all arithmetic uses, and warp/block reductions.
//
// Reductions assume blockDim.x is a multiple of 32 and at most 1024, and must be reached by every thread
// of the block (they synchronise); each kernel's launcher guarantees both.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstddef>
#include <cstdint>

namespace vit::kernels {

constexpr unsigned kFullWarp = 0xffffffffu;

__device__ __forceinline__ float to_f32(float value) { return value; }
__device__ __forceinline__ float to_f32(__half value) { return __half2float(value); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 value) { return __bfloat162float(value); }

// Round to nearest even, as vit::from_float does on the host.
template <typename T>
__device__ __forceinline__ T from_f32(float value);
template <>
__device__ __forceinline__ float from_f32<float>(float value) {
  return value;
}
template <>
__device__ __forceinline__ __half from_f32<__half>(float value) {
  return __float2half_rn(value);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float value) {
  return __float2bfloat16_rn(value);
}

__device__ __forceinline__ float warp_sum(float value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(kFullWarp, value, offset);
  return value;
}

__device__ __forceinline__ float warp_max(float value) {
  for (int offset = 16; offset > 0; offset /= 2) value = fmaxf(value, __shfl_xor_sync(kFullWarp, value, offset));
  return value;
}

// The sum (kMax = false) or maximum (kMax = true) of `value` over the block, returned to every thread.
template <bool kMax>
__device__ float block_reduce(float value) {
  __shared__ float partial[32];
  __shared__ float total;
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32, warps = int(blockDim.x) / 32;
  value = kMax ? warp_max(value) : warp_sum(value);
  if (lane == 0) partial[warp] = value;
  __syncthreads();
  if (warp == 0) {
    const float identity = kMax ? -INFINITY : 0.0f;
    float combined = lane < warps ? partial[lane] : identity;
    combined = kMax ? warp_max(combined) : warp_sum(combined);
    if (lane == 0) total = combined;
  }
  __syncthreads();
  const float result = total;
  __syncthreads();  // a second call in the same kernel may overwrite `partial` and `total` only after all read
  return result;
}

__device__ __forceinline__ float block_sum(float value) { return block_reduce<false>(value); }
__device__ __forceinline__ float block_max(float value) { return block_reduce<true>(value); }

// Dynamic shared memory (the launch's shared_bytes) as `count` elements of T, the one way kernels reach it.
// On a GPU it is the extern __shared__ array; under the CUDA emulator (tests/cuda_emu) the emulator checks
// count · sizeof(T) against what the launch asked for, so a kernel that outgrows its launcher's request fails.
template <typename T>
__device__ __forceinline__ T* dynamic_shared(std::size_t count) {
#if defined(VIT_CUDA_EMULATION)
  return static_cast<T*>(::vit::emu::dynamic_shared(count * sizeof(T), alignof(T), __FILE__, __LINE__));
#else
  (void)count;
  extern __shared__ __align__(16) unsigned char vit_dynamic_shared[];
  return reinterpret_cast<T*>(vit_dynamic_shared);
#endif
}

// Enough blocks of `threads` to cover `count` elements with a grid-stride loop, capped so the grid stays
// within limits (the loop covers the rest).
inline unsigned grid_for(std::int64_t count, int threads) {
  const std::int64_t blocks = (count + threads - 1) / threads;
  return unsigned(blocks < 1 ? 1 : (blocks > 65536 ? 65536 : blocks));
}

// Grid-stride loop index helpers: the first index of this thread and the stride of the whole grid.
__device__ __forceinline__ std::int64_t grid_first() { return std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ std::int64_t grid_stride() { return std::int64_t(gridDim.x) * blockDim.x; }

}  // namespace vit::kernels
