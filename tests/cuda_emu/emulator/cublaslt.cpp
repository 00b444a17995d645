// The cuBLASLt subset vit's GPU benchmarks use (bench/cuda/bench_cuda_kernels.cpp compares Blas::linear with
// cuBLASLt's best algorithm), on the emulated device, for NVIDIA's own cublasLt.h declarations: handles, matmul
// descriptors (compute type, transposes), matrix layouts (type, rows, columns, leading dimension; one matrix,
// no batches), preferences, a heuristic that offers one algorithm, and cublasLtMatmul, which gemm.hpp computes.
// Descriptors live in the opaque structs the header defines (their data[] words hold the fields below).
#include "gemm.hpp"  // first: it brings emulator/device.hpp, which must precede the CUDA headers
//
#include <cublasLt.h>

#include <cstring>

struct cublasLtContext {
  int device = 0;  // current at cublasLtCreate
};

namespace vit::emu {
namespace {

// cublasLtMatmulDescOpaque_t::data: [0] compute type, [1] scale type, [2] transa, [3] transb.
// cublasLtMatrixLayoutOpaque_t::data: [0] type, [1] rows, [2] columns, [3] leading dimension.
// cublasLtMatmulPreferenceOpaque_t::data: [0] the largest workspace allowed.
enum : std::size_t { kCompute = 0, kScale = 1, kTransA = 2, kTransB = 3 };
enum : std::size_t { kType = 0, kRows = 1, kColumns = 2, kLeading = 3 };

bool same_layout(cublasLtMatrixLayout_t x, cublasLtMatrixLayout_t y) {
  return std::memcmp(x->data, y->data, 4 * sizeof(std::uint64_t)) == 0;
}

}  // namespace
}  // namespace vit::emu

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (vit::emu::internal::precondition() != cudaSuccess) return CUBLAS_STATUS_NOT_INITIALIZED;
  *handle = new cublasLtContext{vit::emu::internal::current_device()};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* description, cublasComputeType_t compute,
                                        cudaDataType_t scale) {
  if (description == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *description = new cublasLtMatmulDescOpaque_t{};
  (*description)->data[vit::emu::kCompute] = std::uint64_t(compute);
  (*description)->data[vit::emu::kScale] = std::uint64_t(scale);
  (*description)->data[vit::emu::kTransA] = CUBLAS_OP_N;
  (*description)->data[vit::emu::kTransB] = CUBLAS_OP_N;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t description,
                                              cublasLtMatmulDescAttributes_t attribute, const void* value,
                                              size_t bytes) {
  if (description == nullptr || value == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (attribute != CUBLASLT_MATMUL_DESC_TRANSA && attribute != CUBLASLT_MATMUL_DESC_TRANSB)
    return CUBLAS_STATUS_NOT_SUPPORTED;  // epilogues, scales, pointer modes: the benchmarks set none
  if (bytes != sizeof(cublasOperation_t)) return CUBLAS_STATUS_INVALID_VALUE;
  cublasOperation_t operation;
  std::memcpy(&operation, value, sizeof operation);
  if (operation != CUBLAS_OP_N && operation != CUBLAS_OP_T) return CUBLAS_STATUS_NOT_SUPPORTED;
  description->data[attribute == CUBLASLT_MATMUL_DESC_TRANSA ? vit::emu::kTransA : vit::emu::kTransB] = operation;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t description) {
  delete description;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType type, uint64_t rows,
                                          uint64_t columns, int64_t leading) {
  if (layout == nullptr || leading < std::int64_t(std::max<uint64_t>(rows, 1))) return CUBLAS_STATUS_INVALID_VALUE;
  *layout = new cublasLtMatrixLayoutOpaque_t{};
  (*layout)->data[vit::emu::kType] = std::uint64_t(type);
  (*layout)->data[vit::emu::kRows] = rows;
  (*layout)->data[vit::emu::kColumns] = columns;
  (*layout)->data[vit::emu::kLeading] = std::uint64_t(leading);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  delete layout;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* preference) {
  if (preference == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *preference = new cublasLtMatmulPreferenceOpaque_t{};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t preference,
                                                    cublasLtMatmulPreferenceAttributes_t attribute, const void* value,
                                                    size_t bytes) {
  if (preference == nullptr || value == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (attribute == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES && bytes == sizeof(std::uint64_t))
    std::memcpy(&preference->data[0], value, bytes);
  return CUBLAS_STATUS_SUCCESS;  // other preferences narrow the search; one algorithm has nothing to narrow
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t preference) {
  delete preference;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t description,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t, int requested,
                                              cublasLtMatmulHeuristicResult_t results[], int* returned) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (description == nullptr || a == nullptr || b == nullptr || c == nullptr || d == nullptr || results == nullptr ||
      returned == nullptr || requested < 1)
    return CUBLAS_STATUS_INVALID_VALUE;
  results[0] = cublasLtMatmulHeuristicResult_t{};
  results[0].algo.data[0] = 1;  // the emulator's one algorithm: gemm.hpp, no workspace
  results[0].workspaceSize = 0;
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].wavesCount = 1.0f;
  *returned = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t description, const void* alpha,
                              const void* A, cublasLtMatrixLayout_t a, const void* B, cublasLtMatrixLayout_t b,
                              const void* beta, const void* C, cublasLtMatrixLayout_t c, void* D,
                              cublasLtMatrixLayout_t d, const cublasLtMatmulAlgo_t*, void*, size_t, cudaStream_t) {
  using vit::emu::gemm::InputRounding;
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (vit::emu::internal::precondition() != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
  if (description == nullptr || a == nullptr || b == nullptr || c == nullptr || d == nullptr || alpha == nullptr ||
      beta == nullptr)
    return CUBLAS_STATUS_INVALID_VALUE;
  const auto a_type = cudaDataType(a->data[vit::emu::kType]), d_type = cudaDataType(d->data[vit::emu::kType]);
  InputRounding rounding = InputRounding::None;
  if (!vit::emu::gemm::input_rounding(int(description->data[vit::emu::kCompute]), a_type, false, &rounding) ||
      description->data[vit::emu::kScale] != CUDA_R_32F || cudaDataType(b->data[vit::emu::kType]) != a_type ||
      vit::emu::gemm::type_size(a_type) == 0 || (d_type != CUDA_R_32F && d_type != a_type))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  // C and D the same matrix (the benchmarks' use): D = α op(A) op(B) + β D.
  if (C != D || !vit::emu::same_layout(c, d)) return CUBLAS_STATUS_NOT_SUPPORTED;
  const bool transa = description->data[vit::emu::kTransA] == CUBLAS_OP_T;
  const bool transb = description->data[vit::emu::kTransB] == CUBLAS_OP_T;
  const auto m = std::int64_t(d->data[vit::emu::kRows]), n = std::int64_t(d->data[vit::emu::kColumns]);
  const auto k = std::int64_t(transa ? a->data[vit::emu::kRows] : a->data[vit::emu::kColumns]);
  if (std::int64_t(transa ? a->data[vit::emu::kColumns] : a->data[vit::emu::kRows]) != m ||
      std::int64_t(transb ? b->data[vit::emu::kColumns] : b->data[vit::emu::kRows]) != k ||
      std::int64_t(transb ? b->data[vit::emu::kRows] : b->data[vit::emu::kColumns]) != n)
    return CUBLAS_STATUS_INVALID_VALUE;
  const vit::emu::gemm::Gemm product{m,
                                     n,
                                     k,
                                     *static_cast<const float*>(alpha),
                                     *static_cast<const float*>(beta),
                                     {A, a_type, std::int64_t(a->data[vit::emu::kLeading]), transa},
                                     {B, a_type, std::int64_t(b->data[vit::emu::kLeading]), transb},
                                     D,
                                     d_type,
                                     std::int64_t(d->data[vit::emu::kLeading]),
                                     rounding};
  vit::emu::gemm::submit(product, "cublasLtMatmul", handle->device);
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
