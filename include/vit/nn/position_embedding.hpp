// Learned absolute positional embedding: one vector per prefix token (class, distillation) and per
// patch of the training grid. For another input size the patch-grid part is resized bicubically, the
// way the checkpoint's own framework does it (timm: antialiased; HF: plain), prefix rows unchanged.
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
};

}  // namespace vit::nn
