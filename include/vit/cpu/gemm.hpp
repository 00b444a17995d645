// Single-threaded fp32 GEMM on row-major blocks: the CPU backend's only matrix product.
//
//   C[M, N] = alpha · A[M, K] · op(B)  (+ C with Output::Accumulate),  op(B) = B[K, N] or B[N, K]ᵀ
//
// With VIT_WITH_OPENBLAS (set by the vit::vit CMake target when OpenBLAS is found) it is OpenBLAS's
// sgemm; otherwise Eigen's. OpenBLAS's AVX-512 kernels reach 86-89% of one core's fp32 FMA peak at ViT
// shapes where Eigen reaches 65-75% (bench_gemm, bench/results/). Callers parallelise with parallel_for
// and call this on their own slice, so OpenBLAS is asked once for a single thread of its own: two thread
// pools on the same cores would only fight (see detail::use_single_blas_thread).
#pragma once

#include <cstdint>

#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"

#if defined(VIT_WITH_OPENBLAS)
#include <cblas.h>
#endif

namespace vit::cpu::detail {

// A row-major slice of a larger buffer: rows × cols, consecutive rows `stride` floats apart.
struct ConstSlice {
  const float* data;
  std::int64_t rows, cols, stride;
};
struct Slice {
  float* data;
  std::int64_t rows, cols, stride;
};

enum class BLayout {
  KByN,  // B is [K, N]: C = A · B
  NByK,  // B is [N, K] (a PyTorch weight, or keys): C = A · Bᵀ
};

#if defined(VIT_WITH_OPENBLAS)
// OpenBLAS's process-wide thread count, set to 1 on first use. Our parallel_for owns the cores; an
// OpenBLAS call made from inside it must not wake a second pool. This touches the whole process's
// OpenBLAS, which is documented in the README next to the option that enables it.
inline void use_single_blas_thread() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}
#endif

// c = alpha · a · op(b), or c += that with Output::Accumulate. Shapes: a [M, K], b per `layout`, c [M, N].
inline void gemm(ConstSlice a, ConstSlice b, BLayout layout, float alpha, Slice c, Output output) {
  const std::int64_t m = c.rows, n = c.cols, k = a.cols;
  if (m == 0 || n == 0) return;
#if defined(VIT_WITH_OPENBLAS)
  use_single_blas_thread();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, layout == BLayout::NByK ? CblasTrans : CblasNoTrans, blasint(m),
              blasint(n), blasint(k), alpha, a.data, blasint(a.stride), b.data, blasint(b.stride),
              output == Output::Accumulate ? 1.0f : 0.0f, c.data, blasint(c.stride));
#else
  const ConstStridedMatrixMap a_map(a.data, m, k, Eigen::OuterStride<>(a.stride));
  const ConstStridedMatrixMap b_map(b.data, b.rows, b.cols, Eigen::OuterStride<>(b.stride));
  StridedMatrixMap c_map(c.data, m, n, Eigen::OuterStride<>(c.stride));
  // Eigen folds a scalar factor on the left operand into the product's alpha (no temporary).
  if (layout == BLayout::NByK) {
    if (output == Output::Accumulate) c_map.noalias() += (alpha * a_map) * b_map.transpose();
    else c_map.noalias() = (alpha * a_map) * b_map.transpose();
  } else {
    if (output == Output::Accumulate) c_map.noalias() += (alpha * a_map) * b_map;
    else c_map.noalias() = (alpha * a_map) * b_map;
  }
#endif
}

}  // namespace vit::cpu::detail
