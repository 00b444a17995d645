// Linear layer on the CPU: y = act(x · Wᵀ + b), or y += x · Wᵀ + b (a fused residual add).
//
// One single-threaded GEMM per thread (detail::gemm), on a slice of the output: a chunk of rows when
// there are more rows than output features (large batches), otherwise a chunk of output features, so
// that at batch 1 each thread packs and streams only its part of the weight matrix rather than all of it.
// The bias is written into the slice first and the GEMM accumulates onto it (one pass over y instead of
// a zeroing pass and a bias pass); GELU, when asked for, runs on the slice while it is still in cache,
// instead of a separate pass over the whole activation.
#pragma once

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/cpu/gelu.hpp"
#include "vit/cpu/gemm.hpp"
#include "vit/cpu/parallel.hpp"

namespace vit::cpu {

// What linear applies to x · Wᵀ + b before storing it (Overwrite only).
enum class Activation { None, Gelu };

// x: [M, K], weight: [N, K] (PyTorch layout), bias: [N] or empty, y: [M, N].
// Output::Accumulate adds to y instead of overwriting it; Activation::Gelu needs Output::Overwrite.
// pre_activation: [M, N] or empty; with an activation it receives x · Wᵀ + b before the activation (what
// the backward pass of the activation needs), copied from the slice while it is in cache.
inline void linear(const Context& context, TensorView<const float> x, TensorView<const float> weight,
                   TensorView<const float> bias, TensorView<float> y, Output output = Output::Overwrite,
                   Activation activation = Activation::None, TensorView<float> pre_activation = {}) {
  VIT_CHECK(activation == Activation::None || output == Output::Overwrite,
            "cpu::linear: an activation applies to a fresh output, not to one accumulated into y");
  VIT_CHECK(pre_activation.empty() || activation != Activation::None,
            "cpu::linear: a pre-activation output needs an activation");
  const std::int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  const float* b = bias.empty() ? nullptr : bias.data();
  // y[row_begin:row_end, column_begin:column_end] from the matching rows of x and of the weight.
  const auto part = [&](std::int64_t row_begin, std::int64_t row_end, std::int64_t column_begin,
                        std::int64_t column_end) {
    const std::int64_t part_rows = row_end - row_begin, part_columns = column_end - column_begin;
    float* y_part = y.data() + row_begin * out + column_begin;
    Output gemm_output = output;
    if (b) {
      // Row by row: Eigen's replicate() into a strided map is scalar, with a division per element.
      const detail::ConstRowVectorMap b_row(b + column_begin, part_columns);
      for (std::int64_t row = 0; row < part_rows; ++row) {
        detail::RowVectorMap y_row(y_part + row * out, part_columns);
        if (output == Output::Accumulate)
          y_row += b_row;
        else
          y_row = b_row;
      }
      gemm_output = Output::Accumulate;
    }
    detail::gemm({x.data() + row_begin * in, part_rows, in, in},
                 {weight.data() + column_begin * in, part_columns, in, in}, detail::BLayout::NByK, 1.0f,
                 {y_part, part_rows, part_columns, out}, gemm_output);
    if (activation == Activation::Gelu)
      for (std::int64_t row = 0; row < part_rows; ++row) {
        if (!pre_activation.empty())
          std::copy_n(y_part + row * out, part_columns, pre_activation.data() + (row_begin + row) * out + column_begin);
        detail::gelu_span(y_part + row * out, part_columns);
      }
  };
  if (rows >= out)
    parallel_for(context.threads, rows, 16, [&](std::int64_t begin, std::int64_t end) { part(begin, end, 0, out); });
  else
    parallel_for(context.threads, out, 64, [&](std::int64_t begin, std::int64_t end) { part(0, rows, begin, end); });
}

// The backward pass of y = x · Wᵀ + b, given dy = ∂L/∂y: [M, N].
//   dx: [M, K] = dy · W (written, or added with dx_output = Accumulate), or empty to skip;
//   dweight: [N, K] += dyᵀ · x and dbias: [N] += Σ_rows dy, each optional (empty: skipped). Parameter
//   gradients accumulate, so that a weight used several times sums its contributions.
// dx is split by rows across threads, the parameter gradients by output features: no two threads write
// the same element, and each GEMM is single-threaded on its slice, as in the forward.
inline void linear_backward(const Context& context, TensorView<const float> x, TensorView<const float> weight,
                            TensorView<const float> dy, TensorView<float> dx, TensorView<float> dweight,
                            TensorView<float> dbias, Output dx_output = Output::Overwrite) {
  const std::int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  if (!dx.empty())
    parallel_for(context.threads, rows, 16, [&](std::int64_t begin, std::int64_t end) {
      detail::gemm({dy.data() + begin * out, end - begin, out, out}, {weight.data(), out, in, in},
                   detail::BLayout::KByN, 1.0f, {dx.data() + begin * in, end - begin, in, in}, dx_output);
    });
  if (dweight.empty() && dbias.empty()) return;
  parallel_for(context.threads, out, 16, [&](std::int64_t begin, std::int64_t end) {
    if (!dweight.empty())
      detail::gemm({dy.data() + begin, rows, end - begin, out}, detail::ALayout::KByM, {x.data(), rows, in, in},
                   detail::BLayout::KByN, 1.0f, {dweight.data() + begin * in, end - begin, in, in}, Output::Accumulate);
    if (!dbias.empty()) {
      detail::RowVectorMap sums(dbias.data() + begin, end - begin);
      for (std::int64_t row = 0; row < rows; ++row)
        sums += detail::ConstRowVectorMap(dy.data() + row * out + begin, end - begin);
    }
  });
}

}  // namespace vit::cpu
