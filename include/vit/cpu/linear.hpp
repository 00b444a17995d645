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
inline void linear(const Context& context, TensorView<const float> x, TensorView<const float> weight,
                   TensorView<const float> bias, TensorView<float> y, Output output = Output::Overwrite,
                   Activation activation = Activation::None) {
  VIT_CHECK(activation == Activation::None || output == Output::Overwrite,
            "cpu::linear: an activation applies to a fresh output, not to one accumulated into y");
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
        if (output == Output::Accumulate) y_row += b_row;
        else y_row = b_row;
      }
      gemm_output = Output::Accumulate;
    }
    detail::gemm({x.data() + row_begin * in, part_rows, in, in}, {weight.data() + column_begin * in, part_columns, in, in},
                 detail::BLayout::NByK, 1.0f, {y_part, part_rows, part_columns, out}, gemm_output);
    if (activation == Activation::Gelu)
      for (std::int64_t row = 0; row < part_rows; ++row) detail::gelu_span(y_part + row * out, part_columns);
  };
  if (rows >= out)
    parallel_for(context.threads, rows, 16, [&](std::int64_t begin, std::int64_t end) { part(begin, end, 0, out); });
  else
    parallel_for(context.threads, out, 64, [&](std::int64_t begin, std::int64_t end) { part(0, rows, begin, end); });
}

}  // namespace vit::cpu
