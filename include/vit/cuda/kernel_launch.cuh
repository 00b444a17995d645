// VIT_CUDA_LAUNCH(grid, block, shared_bytes, stream, kernel)(arguments...): the one spelling of a kernel launch
// in vit. Under nvcc it is exactly kernel<<<grid, block, shared_bytes, stream>>>(arguments...); compiled by the
// host compiler against the CUDA emulator (tests/cuda_emu, which defines VIT_CUDA_EMULATION) it queues the
// same launch on the emulated device. So the launchers in launch.cuh run unchanged on both. The kernel comes
// last because a template-id such as attention_kernel<T, 64> holds a comma.
#pragma once

#if defined(VIT_CUDA_EMULATION)
#define VIT_CUDA_LAUNCH(grid, block, shared_bytes, stream, ...) \
  ::vit::emu::launcher(__VA_ARGS__, grid, block, shared_bytes, stream, #__VA_ARGS__, __FILE__, __LINE__)
#elif defined(__CUDACC__)
#define VIT_CUDA_LAUNCH(grid, block, shared_bytes, stream, ...) __VA_ARGS__<<<grid, block, shared_bytes, stream>>>
#else
#error "CUDA kernels compile with nvcc, or with the host compiler after tests/cuda_emu/emulator/device.hpp"
#endif
