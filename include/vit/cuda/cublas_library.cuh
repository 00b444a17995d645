// cuBLAS, loaded when the first vit::cuda::Blas is made rather than when the program starts.
//
// Why: libcublas pulls in libcublasLt (about 600 MB of code together); merely loading them at start-up costs
// a process ~215 MB of resident memory. A CUDA-enabled build of `classify` run on the CPU would pay that for
// nothing, so vit::cuda does not link cuBLAS: the handful of functions it calls are looked up with dlopen /
// dlsym on first use. On the emulated device (tests/cuda_emu) the emulator's own definitions are used directly.
#pragma once

#include <cublas_v2.h>

namespace vit::cuda::detail {

// The cuBLAS functions vit::cuda calls. (cublas_v2.h maps several names to their _v2 symbols with macros;
// decltype follows the macros, and the loader looks up the symbols the macros name.)
struct CublasLibrary {
  decltype(&cublasCreate) create = nullptr;
  decltype(&cublasDestroy) destroy = nullptr;
  decltype(&cublasSetStream) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  // The extern "C" cublasGemmEx (C++ also sees an inline overload taking a cudaDataType compute type).
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                            const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                            cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
  decltype(&cublasGetStatusName) status_name = nullptr;
  decltype(&cublasGetStatusString) status_string = nullptr;
};

// The loaded library; throws vit::Error naming the library and the loader's message when it cannot be loaded
// (and tries again on the next call). Thread-safe. Defined in runtime.cuh.
const CublasLibrary& cublas_library();

}  // namespace vit::cuda::detail
