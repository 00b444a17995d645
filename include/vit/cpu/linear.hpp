// Linear layer on the CPU: y = act(x · Wᵀ + b), or y += x · Wᵀ + b (a fused residual add).
//
// With oneDNN (VIT_WITH_ONEDNN) the whole product is one matmul primitive (detail::onednn_linear): oneDNN
// splits it over Context::threads, packs each block of W once for all threads, and adds the bias and the
// residual in the pass that stores y; GELU follows in a pass of its own, vit's gelu_span rather than oneDNN's
// GELU post-op, so that the forward with and without the training's pre-activation output (and so the plain
// and the cached forward of the model) give the same bits. Without oneDNN, one single-threaded Eigen GEMM per
// thread (detail::gemm) on a slice of the output: a chunk of rows when there are more rows than output
// features (large batches), otherwise a chunk of output features, so that at batch 1 each thread streams only
// its part of the weight matrix; the bias is written into the slice first and the GEMM accumulates onto it,
// and GELU runs on the slice while it is still in cache.
#pragma once

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/cpu/gelu.hpp"
#include "vit/cpu/gemm.hpp"
#include "vit/cpu/onednn_matmul.hpp"
#include "vit/cpu/parallel.hpp"

namespace vit::cpu {

// What linear applies to x · Wᵀ + b before storing it (Overwrite only).
enum class Activation { None, Gelu };

// x: [M, K], weight: [N, K] (PyTorch layout), bias: [N] or empty, y: [M, N].
// Output::Accumulate adds to y instead of overwriting it; Activation::Gelu needs Output::Overwrite.
// pre_activation: [M, N] or empty; with an activation it receives x · Wᵀ + b before the activation (what
// the backward pass of the activation needs), copied from each row while it is in cache.
inline void linear(const Context& context, TensorView<const float> x, TensorView<const float> weight,
                   TensorView<const float> bias, TensorView<float> y, Output output = Output::Overwrite,
                   Activation activation = Activation::None, TensorView<float> pre_activation = {}) {
  VIT_CHECK(activation == Activation::None || output == Output::Overwrite,
            "cpu::linear: an activation applies to a fresh output, not to one accumulated into y");
  VIT_CHECK(pre_activation.empty() || activation != Activation::None,
            "cpu::linear: a pre-activation output needs an activation");
  const std::int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  const float* b = bias.empty() ? nullptr : bias.data();
  const bool gelu = activation == Activation::Gelu;
  // GELU on y[row_begin:row_end, column_begin:column_end], which holds x · Wᵀ + b: each row is copied to
  // pre_activation (when asked for) and then replaced by its GELU, while it is in cache.
  const auto keep_and_apply_gelu = [&](std::int64_t row_begin, std::int64_t row_end, std::int64_t column_begin,
                                       std::int64_t column_end) {
    for (std::int64_t row = row_begin; row < row_end; ++row) {
      const std::int64_t offset = row * out + column_begin;
      if (!pre_activation.empty())
        std::copy_n(y.data() + offset, column_end - column_begin, pre_activation.data() + offset);
      detail::gelu_span(y.data() + offset, column_end - column_begin);
    }
  };
  if (rows == 0 || out == 0) return;
#if defined(VIT_WITH_ONEDNN)
  if (in > 0) {
    detail::onednn_linear(context.threads, x.data(), weight.data(), b, y.data(), rows, in, out,
                          output == Output::Accumulate);
    if (gelu)
      parallel_for(context.threads, rows, 16,
                   [&](std::int64_t begin, std::int64_t end) { keep_and_apply_gelu(begin, end, 0, out); });
    return;
  }
#endif
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
    if (gelu) keep_and_apply_gelu(row_begin, row_end, column_begin, column_end);
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
// dx is split by rows or by columns (as the forward splits y), the parameter gradients by output features:
// no two threads write the same element, and each GEMM is single-threaded on its slice, as in the forward.
inline void linear_backward(const Context& context, TensorView<const float> x, TensorView<const float> weight,
                            TensorView<const float> dy, TensorView<float> dx, TensorView<float> dweight,
                            TensorView<float> dbias, Output dx_output = Output::Overwrite) {
  const std::int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  // dx as the forward splits y: by rows for large batches, otherwise by its columns, so that at batch 1 each
  // thread streams only its columns of the weight.
  if (!dx.empty() && rows >= in)
    parallel_for(context.threads, rows, 16, [&](std::int64_t begin, std::int64_t end) {
      detail::gemm({dy.data() + begin * out, end - begin, out, out}, {weight.data(), out, in, in},
                   detail::BLayout::KByN, 1.0f, {dx.data() + begin * in, end - begin, in, in}, dx_output);
    });
  else if (!dx.empty())
    parallel_for(context.threads, in, 64, [&](std::int64_t begin, std::int64_t end) {
      detail::gemm({dy.data(), rows, out, out}, {weight.data() + begin, out, end - begin, in}, detail::BLayout::KByN,
                   1.0f, {dx.data() + begin, rows, end - begin, in}, dx_output);
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
