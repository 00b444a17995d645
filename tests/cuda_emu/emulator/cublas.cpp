// The cuBLAS subset vit and its GPU benchmarks use, on the emulated device: handles bound to a device and a
// stream, and cublasGemmEx / cublasGemmStridedBatchedEx (gemm.hpp computes them), defined here for NVIDIA's own
// cublas_api.h declarations.
#include "gemm.hpp"  // first: it brings emulator/device.hpp, which must precede the CUDA headers
//
#include <cublas_v2.h>

#include <string>

struct cublasContext {
  int device = 0;  // current at cublasCreate: the handle works there only
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
};

namespace vit::emu {

namespace {

cublasStatus_t check_gemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, std::int64_t m,
                          std::int64_t n, std::int64_t k, const void* alpha, const void* beta, cudaDataType a_type,
                          std::int64_t lda, cudaDataType b_type, std::int64_t ldb, cudaDataType c_type,
                          std::int64_t ldc, cublasComputeType_t compute, gemm::InputRounding* rounding) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (internal::precondition() != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
  const bool ops_ok =
      (transa == CUBLAS_OP_N || transa == CUBLAS_OP_T) && (transb == CUBLAS_OP_N || transb == CUBLAS_OP_T);
  if (!ops_ok || m < 0 || n < 0 || k < 0 || alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < std::max<std::int64_t>(1, transa == CUBLAS_OP_N ? m : k) ||
      ldb < std::max<std::int64_t>(1, transb == CUBLAS_OP_N ? k : n) || ldc < std::max<std::int64_t>(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (handle->pointer_mode != CUBLAS_POINTER_MODE_HOST) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (a_type != b_type || gemm::type_size(a_type) == 0 || (c_type != CUDA_R_32F && c_type != a_type))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  // fp16/fp64/integer compute types: vit does not use them.
  return gemm::input_rounding(compute, a_type, handle->math == CUBLAS_TF32_TENSOR_OP_MATH, rounding)
             ? CUBLAS_STATUS_SUCCESS
             : CUBLAS_STATUS_NOT_SUPPORTED;
}

cublasStatus_t gemm_batched(const char* call, cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                            int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype, int lda,
                            long long int strideA, const void* B, cudaDataType Btype, int ldb, long long int strideB,
                            const void* beta, void* C, cudaDataType Ctype, int ldc, long long int strideC,
                            int batchCount, cublasComputeType_t computeType) {
  gemm::InputRounding rounding = gemm::InputRounding::None;
  const cublasStatus_t status = check_gemm(handle, transa, transb, m, n, k, alpha, beta, Atype, lda, Btype, ldb, Ctype,
                                           ldc, computeType, &rounding);
  if (status != CUBLAS_STATUS_SUCCESS) return status;
  if (batchCount < 0) return CUBLAS_STATUS_INVALID_VALUE;
  const float alpha_value = *static_cast<const float*>(alpha), beta_value = *static_cast<const float*>(beta);
  const std::size_t a_size = gemm::type_size(Atype), c_size = gemm::type_size(Ctype);
  for (int batch = 0; batch < batchCount; ++batch) {
    const gemm::Gemm product{
        m,
        n,
        k,
        alpha_value,
        beta_value,
        {static_cast<const char*>(A) + batch * strideA * std::int64_t(a_size), Atype, lda, transa == CUBLAS_OP_T},
        {static_cast<const char*>(B) + batch * strideB * std::int64_t(a_size), Btype, ldb, transb == CUBLAS_OP_T},
        static_cast<char*>(C) + batch * strideC * std::int64_t(c_size),
        Ctype,
        ldc,
        rounding};
    gemm::submit(product, call, handle->device);
  }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace
}  // namespace vit::emu

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (vit::emu::internal::precondition() != cudaSuccess) return CUBLAS_STATUS_NOT_INITIALIZED;
  *handle = new cublasContext;
  (*handle)->device = vit::emu::internal::current_device();
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t* stream) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (stream == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = handle->math;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void*, size_t) {
  return handle == nullptr ? CUBLAS_STATUS_NOT_INITIALIZED : CUBLAS_STATUS_SUCCESS;  // the host needs none
}

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    default:
      return "CUBLAS_STATUS_UNKNOWN";
  }
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "the functionality requested is not supported (by the CUDA emulator)";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "the GPU program failed to execute";
    default:
      return "unknown error";
  }
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype,
                                          int lda, long long int strideA, const void* B, cudaDataType Btype, int ldb,
                                          long long int strideB, const void* beta, void* C, cudaDataType Ctype, int ldc,
                                          long long int strideC, int batchCount, cublasComputeType_t computeType,
                                          cublasGemmAlgo_t) {
  return vit::emu::gemm_batched("cublasGemmStridedBatchedEx", handle, transa, transb, m, n, k, alpha, A, Atype, lda,
                                strideA, B, Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType);
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B,
                            cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t) {
  return vit::emu::gemm_batched("cublasGemmEx", handle, transa, transb, m, n, k, alpha, A, Atype, lda, 0, B, Btype, ldb,
                                0, beta, C, Ctype, ldc, 0, 1, computeType);
}

}  // extern "C"
