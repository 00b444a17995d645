// Single-threaded fp32 GEMM on row-major blocks: the CPU backend's matrix product on slices (attention,
// the backward pass, and linear layers without oneDNN; with it a linear's forward is one matmul primitive,
// onednn_matmul.hpp).
//
//   C[M, N] = alpha · op(A) · op(B)  (+ C with Output::Accumulate),
//   op(A) = A[M, K] or A[K, M]ᵀ (the backward pass's weight gradients),  op(B) = B[K, N] or B[N, K]ᵀ
//
// With VIT_WITH_ONEDNN (set by the vit::vit CMake target when oneDNN is found) it is oneDNN's dnnl_sgemm;
// otherwise Eigen's product. At ViT shapes on an AVX-512 machine dnnl_sgemm runs at 80-95% of the
// measured fp32 FMA peak where Eigen runs at 60-70% (bench_gemm; bench/results/). Callers parallelise
// with parallel_for and call this on their own slice. oneDNN (OpenMP runtime) runs sequentially inside
// an OpenMP parallel region; outside one it is held to one thread here, so that Context::threads stays
// the only thread count.
#pragma once

#include <algorithm>
#include <cstdint>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"

#if defined(VIT_WITH_ONEDNN)
#include <dnnl.h>
#if defined(_OPENMP)
#include <omp.h>
#endif
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

enum class ALayout {
  MByK,  // A is [M, K]
  KByM,  // A is [K, M]: C = Aᵀ · op(B) (a weight gradient dW = dYᵀ · X)
};

enum class BLayout {
  KByN,  // B is [K, N]: C = A · B
  NByK,  // B is [N, K] (a PyTorch weight, or keys): C = A · Bᵀ
};

#if defined(VIT_WITH_ONEDNN)
// dnnl_sgemm on the calling thread: outside a parallel region the calling thread's OpenMP thread count is
// set to 1 for the call and restored after.
inline void onednn_sgemm(char transa, char transb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                         ConstSlice a, ConstSlice b, float beta, Slice c) {
#if defined(_OPENMP)
  const bool outside_parallel_region = !omp_in_parallel();
  const int saved_threads = omp_get_max_threads();
  if (outside_parallel_region) omp_set_num_threads(1);
#endif
  const dnnl_status_t status =
      dnnl_sgemm(transa, transb, m, n, k, alpha, a.data, a.stride, b.data, b.stride, beta, c.data, c.stride);
#if defined(_OPENMP)
  if (outside_parallel_region) omp_set_num_threads(saved_threads);
#endif
  VIT_CHECK(status == dnnl_success, "cpu gemm: dnnl_sgemm failed with status ", int(status), " (M ", m, ", N ", n,
            ", K ", k, ", lda ", a.stride, ", ldb ", b.stride, ", ldc ", c.stride, ")");
}
#endif

// c = alpha · op(a) · op(b), or c += that with Output::Accumulate. Shapes: a per `a_layout`, b per
// `b_layout`, c [M, N].
inline void gemm(ConstSlice a, ALayout a_layout, ConstSlice b, BLayout b_layout, float alpha, Slice c, Output output) {
  const std::int64_t m = c.rows, n = c.cols, k = a_layout == ALayout::MByK ? a.cols : a.rows;
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum: nothing to add, or zeros
    if (output == Output::Overwrite)
      for (std::int64_t row = 0; row < m; ++row) std::fill(c.data + row * c.stride, c.data + row * c.stride + n, 0.0f);
    return;
  }
#if defined(VIT_WITH_ONEDNN)
  onednn_sgemm(a_layout == ALayout::KByM ? 'T' : 'N', b_layout == BLayout::NByK ? 'T' : 'N', m, n, k, alpha, a, b,
               output == Output::Accumulate ? 1.0f : 0.0f, c);
#else
  const ConstStridedMatrixMap a_map(a.data, a.rows, a.cols, Eigen::OuterStride<>(a.stride));
  const ConstStridedMatrixMap b_map(b.data, b.rows, b.cols, Eigen::OuterStride<>(b.stride));
  StridedMatrixMap c_map(c.data, m, n, Eigen::OuterStride<>(c.stride));
  // Eigen folds a scalar factor on the left operand into the product's alpha (no temporary).
  const auto product = [&](const auto& left) {
    if (b_layout == BLayout::NByK) {
      if (output == Output::Accumulate)
        c_map.noalias() += (alpha * left) * b_map.transpose();
      else
        c_map.noalias() = (alpha * left) * b_map.transpose();
    } else {
      if (output == Output::Accumulate)
        c_map.noalias() += (alpha * left) * b_map;
      else
        c_map.noalias() = (alpha * left) * b_map;
    }
  };
  if (a_layout == ALayout::MByK)
    product(a_map);
  else
    product(a_map.transpose());
#endif
}

// c = alpha · a · op(b) (+ c): the forward pass's products, A [M, K].
inline void gemm(ConstSlice a, ConstSlice b, BLayout b_layout, float alpha, Slice c, Output output) {
  gemm(a, ALayout::MByK, b, b_layout, alpha, c, output);
}

}  // namespace vit::cpu::detail
