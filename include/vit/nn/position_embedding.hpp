// Learned absolute positional embedding: one vector per prefix token (class, distillation) and per
// patch of the training grid. For another input size the patch-grid part is resized bicubically, the
// way the checkpoint's own framework does it (timm: antialiased; HF: plain), prefix rows unchanged.
// backward() carries a gradient of the embedding used for some grid back to the table.
#pragma once

#include <algorithm>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/bicubic_resize.hpp"

namespace vit::nn {

template <typename T>
struct PositionEmbedding {
  TensorView<const T> table;  // [K + G·G, D]: K prefix rows, then the G×G training grid row-major
  int prefix_tokens = 1;
  int grid_size = 14;
  bool antialias = true;  // resampling flavour, see vit::PosEmbedResampling

  // The embedding for a grid_h × grid_w input: [K + grid_h·grid_w, D]. A copy of the table when the
  // grid is the training grid (cheap next to the forward pass), resampled otherwise.
  Tensor<float> for_grid(std::int64_t grid_h, std::int64_t grid_w) const {
    static_assert(std::is_same_v<T, float>, "positional-embedding resampling runs on the host in float");
    const std::int64_t dim = table.size(1);
    Tensor<float> out({prefix_tokens + grid_h * grid_w, dim});
    std::copy_n(table.data(), prefix_tokens * dim, out.data());
    const TensorView<const float> grid(table.data() + prefix_tokens * dim, {grid_size, grid_size, dim});
    if (grid_h == grid_size && grid_w == grid_size) {
      std::copy_n(grid.data(), grid.numel(), out.data() + prefix_tokens * dim);
    } else {
      const Tensor<float> resized = cpu::bicubic_resize(grid, grid_h, grid_w, antialias);
      std::copy_n(resized.data(), resized.numel(), out.data() + prefix_tokens * dim);
    }
    return out;
  }

  // d_position: [K + grid_h·grid_w, D] = ∂L/∂(the embedding for_grid returned) → d_table: [K + G·G, D]
  // receives += ∂L/∂table (through the resampling when the grid is not the training grid).
  void backward(TensorView<const float> d_position, std::int64_t grid_h, std::int64_t grid_w,
                TensorView<float> d_table) const {
    const std::int64_t dim = table.size(1);
    const auto add = [](const float* from, std::int64_t count, float* to) {
      for (std::int64_t i = 0; i < count; ++i) to[i] += from[i];
    };
    add(d_position.data(), prefix_tokens * dim, d_table.data());
    const float* d_grid = d_position.data() + prefix_tokens * dim;
    if (grid_h == grid_size && grid_w == grid_size) {
      add(d_grid, grid_h * grid_w * dim, d_table.data() + prefix_tokens * dim);
    } else {
      const Tensor<float> d_training_grid = cpu::bicubic_resize_backward(
          TensorView<const float>(d_grid, {grid_h, grid_w, dim}), grid_size, grid_size, antialias);
      add(d_training_grid.data(), d_training_grid.numel(), d_table.data() + prefix_tokens * dim);
    }
  }
};

}  // namespace vit::nn
