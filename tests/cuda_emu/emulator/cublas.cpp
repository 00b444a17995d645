// The cuBLAS subset vit and its GPU benchmarks use, on the emulated device: handles bound to a stream, and
// cublasGemmEx / cublasGemmStridedBatchedEx, defined here for NVIDIA's own cublas_api.h declarations.
//
// A GEMM is queued like a kernel. It reads its inputs in their own type (fp32, fp16, bf16: exact in fp32),
// multiplies and accumulates in fp32 (Eigen's float GEMM, with FMA where the CPU has it) and rounds once to
// the output type, to nearest even: cuBLAS's contract for CUBLAS_COMPUTE_32F. The summation order is not
// cuBLAS's (which is not documented and varies with the algorithm it picks): results agree with a GPU to
// fp32 rounding, not bit for bit. *_FAST_TF32 / _16F / _16BF compute types, and CUBLAS_TF32_TENSOR_OP_MATH on
// fp32 inputs, first round the inputs to that type, as tensor cores do.
// Every matrix must lie inside one cudaMalloc allocation: reading past one is a hazard (cudaErrorIllegalAddress
// at the next synchronisation), where a GPU would fault or silently read a neighbour.
#include "internal.hpp"  // first: it brings emulator/device.hpp, which must precede the CUDA headers
//
#include <cublas_v2.h>

#include <Eigen/Core>
#include <memory>

struct cublasContext {
  int device = 0;  // current at cublasCreate: the handle works there only
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
};

namespace vit::emu {

namespace {

std::size_t type_size(cudaDataType type) {
  switch (type) {
    case CUDA_R_32F:
      return 4;
    case CUDA_R_16F:
    case CUDA_R_16BF:
      return 2;
    default:
      return 0;
  }
}

float load(const void* data, cudaDataType type, std::int64_t index) {
  switch (type) {
    case CUDA_R_16F:
      return __half2float(static_cast<const __half*>(data)[index]);
    case CUDA_R_16BF:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(data)[index]);
    default:
      return static_cast<const float*>(data)[index];
  }
}

void store(void* data, cudaDataType type, std::int64_t index, float value) {
  switch (type) {
    case CUDA_R_16F:
      static_cast<__half*>(data)[index] = __float2half_rn(value);
      return;
    case CUDA_R_16BF:
      static_cast<__nv_bfloat16*>(data)[index] = __float2bfloat16_rn(value);
      return;
    default:
      static_cast<float*>(data)[index] = value;
  }
}

// What tensor-core compute types do to fp32 inputs first: round to nearest even at `bits` fraction bits.
enum class InputRounding { None, TF32, F16, BF16 };

float round_input(float value, InputRounding rounding) {
  switch (rounding) {
    case InputRounding::None:
      return value;
    case InputRounding::F16:
      return __half2float(__float2half_rn(value));
    case InputRounding::BF16:
      return __bfloat162float(__float2bfloat16_rn(value));
    case InputRounding::TF32: {
      std::uint32_t bits;
      std::memcpy(&bits, &value, 4);
      if ((bits & 0x7f800000u) != 0x7f800000u) bits = (bits + 0xfffu + ((bits >> 13) & 1u)) & ~0x1fffu;
      std::memcpy(&value, &bits, 4);
      return value;
    }
  }
  return value;
}

struct Operand {
  const void* data;
  cudaDataType type;
  std::int64_t ld;
  bool transposed;
};

// op(X) as a rows × cols fp32 matrix.
Eigen::MatrixXf gather(const Operand& x, std::int64_t rows, std::int64_t cols, InputRounding rounding) {
  Eigen::MatrixXf out(rows, cols);
  for (std::int64_t c = 0; c < cols; ++c)
    for (std::int64_t r = 0; r < rows; ++r)
      out(r, c) = round_input(load(x.data, x.type, x.transposed ? c + r * x.ld : r + c * x.ld), rounding);
  return out;
}

// Bytes a column-major matrix of `rows` × `cols` with leading dimension ld spans.
std::size_t extent(std::int64_t rows, std::int64_t cols, std::int64_t ld, cudaDataType type) {
  if (rows == 0 || cols == 0) return 0;
  return std::size_t((cols - 1) * ld + rows) * type_size(type);
}

struct Gemm {
  cublasOperation_t transa, transb;
  std::int64_t m, n, k;
  float alpha, beta;
  Operand a, b;
  void* c;
  cudaDataType c_type;
  std::int64_t ldc;
  InputRounding rounding;

  void run() const {
    Eigen::MatrixXf product(m, n);
    if (k > 0) {
      product.noalias() = gather(a, m, k, rounding) * gather(b, k, n, rounding);
    } else {
      product.setZero();
    }
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t i = 0; i < m; ++i) {
        const std::int64_t index = i + j * ldc;
        float value = alpha * product(i, j);
        if (beta != 0.0f) value += beta * load(c, c_type, index);  // beta = 0: C is not read (may be NaN)
        store(c, c_type, index, value);
      }
  }
};

cublasStatus_t check_gemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, std::int64_t m,
                          std::int64_t n, std::int64_t k, const void* alpha, const void* beta, cudaDataType a_type,
                          std::int64_t lda, cudaDataType b_type, std::int64_t ldb, cudaDataType c_type,
                          std::int64_t ldc, cublasComputeType_t compute, InputRounding* rounding) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (internal::precondition() != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
  const bool ops_ok =
      (transa == CUBLAS_OP_N || transa == CUBLAS_OP_T) && (transb == CUBLAS_OP_N || transb == CUBLAS_OP_T);
  if (!ops_ok || m < 0 || n < 0 || k < 0 || alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < std::max<std::int64_t>(1, transa == CUBLAS_OP_N ? m : k) ||
      ldb < std::max<std::int64_t>(1, transb == CUBLAS_OP_N ? k : n) || ldc < std::max<std::int64_t>(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (handle->pointer_mode != CUBLAS_POINTER_MODE_HOST) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (a_type != b_type || type_size(a_type) == 0 || (c_type != CUDA_R_32F && c_type != a_type))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  switch (compute) {
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC:
      *rounding = a_type == CUDA_R_32F && compute == CUBLAS_COMPUTE_32F && handle->math == CUBLAS_TF32_TENSOR_OP_MATH
                      ? InputRounding::TF32
                      : InputRounding::None;
      return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_COMPUTE_32F_FAST_TF32:
      *rounding = a_type == CUDA_R_32F ? InputRounding::TF32 : InputRounding::None;
      return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_COMPUTE_32F_FAST_16F:
      *rounding = a_type == CUDA_R_32F ? InputRounding::F16 : InputRounding::None;
      return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_COMPUTE_32F_FAST_16BF:
      *rounding = a_type == CUDA_R_32F ? InputRounding::BF16 : InputRounding::None;
      return CUBLAS_STATUS_SUCCESS;
    default:
      return CUBLAS_STATUS_NOT_SUPPORTED;  // fp16/fp64/integer compute: vit does not use them
  }
}

// Queues `gemm`, or a device failure when one of its matrices leaves its allocation or belongs to another
// device than the handle's (which must be current).
void submit(const Gemm& gemm, const char* call, int device) {
  const std::int64_t a_rows = gemm.transa == CUBLAS_OP_N ? gemm.m : gemm.k,
                     a_cols = gemm.transa == CUBLAS_OP_N ? gemm.k : gemm.m;
  const std::int64_t b_rows = gemm.transb == CUBLAS_OP_N ? gemm.k : gemm.n,
                     b_cols = gemm.transb == CUBLAS_OP_N ? gemm.n : gemm.k;
  const bool inside = internal::in_device_memory(gemm.a.data, extent(a_rows, a_cols, gemm.a.ld, gemm.a.type)) &&
                      internal::in_device_memory(gemm.b.data, extent(b_rows, b_cols, gemm.b.ld, gemm.b.type)) &&
                      internal::in_device_memory(gemm.c, extent(gemm.m, gemm.n, gemm.ldc, gemm.c_type));
  const int current = internal::current_device();
  for (const void* matrix : {gemm.a.data, gemm.b.data, static_cast<const void*>(gemm.c)}) {
    const int owner = internal::allocation_device(matrix);
    if ((owner >= 0 && owner != device) || current != device) {
      internal::record_hazard(std::string(call) + " with a cuBLAS handle of device " + std::to_string(device) +
                              " while device " + std::to_string(current) + " is current, on memory of device " +
                              std::to_string(owner));
      internal::enqueue([] { return cudaErrorIllegalAddress; });
      return;
    }
  }
  if (!inside && gemm.m > 0 && gemm.n > 0) {
    internal::record_hazard(std::string(call) + " (m " + std::to_string(gemm.m) + ", n " + std::to_string(gemm.n) +
                            ", k " + std::to_string(gemm.k) + "): a matrix reaches beyond its cudaMalloc allocation");
    internal::enqueue([] { return cudaErrorIllegalAddress; });
    return;
  }
  internal::enqueue([gemm] {
    gemm.run();
    return cudaSuccess;
  });
}

cublasStatus_t gemm(const char* call, cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                    int n, int k, const void* alpha, const void* A, cudaDataType Atype, int lda, long long int strideA,
                    const void* B, cudaDataType Btype, int ldb, long long int strideB, const void* beta, void* C,
                    cudaDataType Ctype, int ldc, long long int strideC, int batchCount,
                    cublasComputeType_t computeType) {
  InputRounding rounding = InputRounding::None;
  const cublasStatus_t status = check_gemm(handle, transa, transb, m, n, k, alpha, beta, Atype, lda, Btype, ldb, Ctype,
                                           ldc, computeType, &rounding);
  if (status != CUBLAS_STATUS_SUCCESS) return status;
  if (batchCount < 0) return CUBLAS_STATUS_INVALID_VALUE;
  const float alpha_value = *static_cast<const float*>(alpha), beta_value = *static_cast<const float*>(beta);
  const std::size_t a_size = type_size(Atype), c_size = type_size(Ctype);
  for (int batch = 0; batch < batchCount; ++batch) {
    Gemm gemm{transa,
              transb,
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
    submit(gemm, call, handle->device);
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
  return vit::emu::gemm("cublasGemmStridedBatchedEx", handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B,
                        Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType);
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B,
                            cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t) {
  return vit::emu::gemm("cublasGemmEx", handle, transa, transb, m, n, k, alpha, A, Atype, lda, 0, B, Btype, ldb, 0,
                        beta, C, Ctype, ldc, 0, 1, computeType);
}

}  // extern "C"
