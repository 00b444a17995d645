// The emulated device's GEMM, behind both cuBLAS subsets (cublas.cpp, cublaslt.cpp): C = α op(A) op(B) + β C,
// column-major as BLAS, queued on the device like a kernel.
//
// It reads its inputs in their own type (fp32, fp16, bf16: exact in fp32), multiplies and accumulates in fp32
// (Eigen's float GEMM, with FMA where the CPU has it) and rounds once to the output type, to nearest even:
// cuBLAS's contract for CUBLAS_COMPUTE_32F. The summation order is not cuBLAS's (undocumented, and it varies
// with the algorithm picked): results agree with a GPU to fp32 rounding, not bit for bit. TF32/FP16/BF16 "fast"
// compute types first round fp32 inputs to that type, as tensor cores do.
// Every matrix must lie inside one cudaMalloc allocation of the handle's device, which must be current: else it
// is a hazard (cudaErrorIllegalAddress at the next synchronisation), where a GPU would fault or read a neighbour.
#pragma once

#include "internal.hpp"  // first: it brings emulator/device.hpp, which must precede the CUDA headers
//
#include <library_types.h>

#include <cstdint>

namespace vit::emu::gemm {

enum class InputRounding { None, TF32, F16, BF16 };

struct Operand {  // a column-major matrix, used as op(X) = X or Xᵀ
  const void* data;
  cudaDataType type;
  std::int64_t ld;
  bool transposed;
};

struct Gemm {
  std::int64_t m, n, k;  // op(A) m × k, op(B) k × n, C m × n
  float alpha, beta;
  Operand a, b;
  void* c;
  cudaDataType c_type;
  std::int64_t ldc;
  InputRounding rounding;

  void run() const;  // on the host, now
};

// Bytes per element of fp32, fp16 and bf16; 0 for any other type (not emulated).
std::size_t type_size(cudaDataType type);

// The input rounding of a 32-bit compute type for inputs of a_type (tf32_math: CUBLAS_TF32_TENSOR_OP_MATH
// set on the handle); false for compute types the emulator does not have (16-bit, 64-bit, integer).
bool input_rounding(int compute_type, cudaDataType a_type, bool tf32_math, InputRounding* rounding);

// Queues `gemm` for the handle of `device`, or a hazard and a device failure (see above). `call` names the
// API function in the report.
void submit(const Gemm& gemm, const char* call, int device);

}  // namespace vit::emu::gemm
