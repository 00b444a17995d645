// Eigen maps over raw row-major buffers: the only way the CPU backend talks to Eigen.
#pragma once

// The CPU backend parallelises with its own parallel_for, honouring Context::threads; Eigen's GEMM
// would otherwise start its own OpenMP team whenever a call runs on one chunk (Context::threads = 1
// used two threads). Effective when this is the first header to include Eigen in a translation unit.
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE
#endif

#include <Eigen/Core>

namespace vit::cpu::detail {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowVector = Eigen::Matrix<float, 1, Eigen::Dynamic>;
using MatrixMap = Eigen::Map<RowMatrix>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
using RowVectorMap = Eigen::Map<RowVector>;
using ConstRowVectorMap = Eigen::Map<const RowVector>;
// A row-major matrix whose rows are `stride` floats apart (a column block of a wider matrix).
using StridedMatrixMap = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;
using ConstStridedMatrixMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;

}  // namespace vit::cpu::detail
