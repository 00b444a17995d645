// The emulated device's GEMM: see gemm.hpp.
#include "gemm.hpp"
//
#include <cublas_api.h>

#include <Eigen/Core>
#include <cstring>
#include <string>

namespace vit::emu::gemm {

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

namespace {

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

// What tensor-core compute types do to fp32 inputs first: round to nearest even in the narrower type.
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

}  // namespace

void Gemm::run() const {
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

bool input_rounding(int compute_type, cudaDataType a_type, bool tf32_math, InputRounding* rounding) {
  const bool fp32_inputs = a_type == CUDA_R_32F;
  switch (compute_type) {
    case CUBLAS_COMPUTE_32F:
      *rounding = fp32_inputs && tf32_math ? InputRounding::TF32 : InputRounding::None;
      return true;
    case CUBLAS_COMPUTE_32F_PEDANTIC:
      *rounding = InputRounding::None;
      return true;
    case CUBLAS_COMPUTE_32F_FAST_TF32:
      *rounding = fp32_inputs ? InputRounding::TF32 : InputRounding::None;
      return true;
    case CUBLAS_COMPUTE_32F_FAST_16F:
      *rounding = fp32_inputs ? InputRounding::F16 : InputRounding::None;
      return true;
    case CUBLAS_COMPUTE_32F_FAST_16BF:
      *rounding = fp32_inputs ? InputRounding::BF16 : InputRounding::None;
      return true;
    default:
      return false;
  }
}

void submit(const Gemm& gemm, const char* call, int device) {
  const std::int64_t a_rows = gemm.a.transposed ? gemm.k : gemm.m, a_cols = gemm.a.transposed ? gemm.m : gemm.k;
  const std::int64_t b_rows = gemm.b.transposed ? gemm.n : gemm.k, b_cols = gemm.b.transposed ? gemm.k : gemm.n;
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

}  // namespace vit::emu::gemm
