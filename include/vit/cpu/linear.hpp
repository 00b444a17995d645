// Linear layer on the CPU: y = x · Wᵀ + b, optionally accumulated into y (a fused residual add).
//
// One Eigen GEMM per thread, on a slice of the output: a chunk of rows when there are more rows than
// output features (large batches), otherwise a chunk of output features, so that at batch 1 each
// thread packs and streams only its part of the weight matrix rather than all of it.
#pragma once

#include "vit/core/context.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/cpu/parallel.hpp"

namespace vit::cpu {

namespace detail {

// One thread's share: y_part = x_part · w_partᵀ + bias (or += with Output::Accumulate).
template <typename XPart, typename WPart, typename YPart>
void linear_part(const XPart& x_part, const WPart& w_part, YPart y_part, const float* bias, Output output) {
  if (output == Output::Accumulate) y_part.noalias() += x_part * w_part.transpose();
  else y_part.noalias() = x_part * w_part.transpose();
  if (bias) y_part.rowwise() += ConstRowVectorMap(bias, y_part.cols());
}

}  // namespace detail

// x: [M, K], weight: [N, K] (PyTorch layout), bias: [N] or empty, y: [M, N].
// Output::Accumulate adds to y instead of overwriting it.
inline void linear(const Context& context, TensorView<const float> x, TensorView<const float> weight,
                   TensorView<const float> bias, TensorView<float> y, Output output = Output::Overwrite) {
  const std::int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  const detail::ConstMatrixMap x_all(x.data(), rows, in), w(weight.data(), out, in);
  const float* b = bias.empty() ? nullptr : bias.data();
  if (rows >= out) {
    parallel_for(context.threads, rows, 16, [&](std::int64_t begin, std::int64_t end) {
      detail::linear_part(x_all.middleRows(begin, end - begin), w,
                          detail::MatrixMap(y.data() + begin * out, end - begin, out), b, output);
    });
  } else {
    parallel_for(context.threads, out, 64, [&](std::int64_t begin, std::int64_t end) {
      detail::linear_part(x_all, w.middleRows(begin, end - begin),
                          detail::StridedMatrixMap(y.data() + begin, rows, end - begin, Eigen::OuterStride<>(out)),
                          b ? b + begin : nullptr, output);
    });
  }
}

}  // namespace vit::cpu
