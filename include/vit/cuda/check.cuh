// VIT_CUDA_CHECK / VIT_CUBLAS_CHECK: every CUDA runtime and cuBLAS call goes through one of these, which
// throw vit::Error with the call as written, the error's name and text, and file:line.
#pragma once

#include <cuda_runtime.h>

#include "vit/core/error.hpp"
#include "vit/cuda/cublas_library.cuh"

#define VIT_CUDA_CHECK(expression)                                                                                     \
  do {                                                                                                                 \
    const cudaError_t vit_cuda_status = (expression);                                                                  \
    if (vit_cuda_status != cudaSuccess)                                                                                \
      ::vit::detail::fail("CUDA error ", cudaGetErrorName(vit_cuda_status), " (", cudaGetErrorString(vit_cuda_status), \
                          ") in ", #expression, " at ", __FILE__, ":", __LINE__);                                      \
  } while (false)

#define VIT_CUBLAS_CHECK(expression)                                                                             \
  do {                                                                                                           \
    const cublasStatus_t vit_cublas_status = (expression);                                                       \
    if (vit_cublas_status != CUBLAS_STATUS_SUCCESS)                                                              \
      ::vit::detail::fail("cuBLAS error ", ::vit::cuda::detail::cublas_library().status_name(vit_cublas_status),   \
                          " (", ::vit::cuda::detail::cublas_library().status_string(vit_cublas_status), ") in ", \
                          #expression, " at ", __FILE__, ":", __LINE__);                                         \
  } while (false)

// After a kernel launch: a bad configuration shows up here, not at the next synchronisation.
#define VIT_CUDA_CHECK_LAUNCH() VIT_CUDA_CHECK(cudaGetLastError())
