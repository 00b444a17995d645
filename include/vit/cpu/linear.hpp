// Linear layer on the CPU: y = x · Wᵀ + b, optionally accumulated into y (a fused residual add).
//
// Eigen GEMM per chunk of rows; the chunks run on separate threads, so every thread streams the
// whole weight matrix and its own rows of x and y.
#pragma once

#include "vit/core/context.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/cpu/parallel.hpp"

namespace vit::cpu {

// x: [M, K], weight: [N, K] (PyTorch layout), bias: [N] or empty, y: [M, N].
// Output::Accumulate adds to y instead of overwriting it.
inline void linear(const Context& context, TensorView<const float> x, TensorView<const float> weight,
                   TensorView<const float> bias, TensorView<float> y, Output output = Output::Overwrite) {
  const std::int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  const detail::ConstMatrixMap w(weight.data(), out, in);
  parallel_for(context.threads, rows, 16, [&](std::int64_t begin, std::int64_t end) {
    const detail::ConstMatrixMap x_rows(x.data() + begin * in, end - begin, in);
    detail::MatrixMap y_rows(y.data() + begin * out, end - begin, out);
    if (output == Output::Accumulate) y_rows.noalias() += x_rows * w.transpose();
    else y_rows.noalias() = x_rows * w.transpose();
    if (!bias.empty()) y_rows.rowwise() += detail::ConstRowVectorMap(bias.data(), out);
  });
}

}  // namespace vit::cpu
