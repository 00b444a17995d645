// Raw attention, the class-blind baseline: the last layer's attention from one token (0: the class token,
// 1: the distillation token) to every patch, as the model computed it (probabilities, not normalised).
//   raw_attention:      per head, [B, H, grid_h, grid_w]
//   raw_attention_mean: map_j = mean_h A_{L-1}[h, token, j], [B, grid_h, grid_w]
#pragma once

#include <algorithm>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/explain/attention_maps.hpp"

namespace vit {

inline Tensor<float> raw_attention(const AttentionLayers& attentions, const PatchGrid& grid, int token = 0) {
  detail::check_attention_maps(attentions, grid);
  detail::check_start_and_token(attentions, grid, 0, token, "raw attention");
  const TensorView<const float>& last = attentions.back();
  const std::int64_t batch = last.size(0), heads = last.size(1), n = grid.tokens(), patches = grid.patches();
  Tensor<float> maps({batch, heads, grid.height, grid.width});
  for (std::int64_t bh = 0; bh < batch * heads; ++bh)
    std::copy_n(last.data() + (bh * n + token) * n + grid.prefix_tokens, patches, maps.data() + bh * patches);
  return maps;
}

inline Tensor<float> raw_attention(const std::vector<Tensor<float>>& attentions, const PatchGrid& grid, int token = 0) {
  return raw_attention(layer_views(attentions), grid, token);
}

inline Tensor<float> raw_attention_mean(const AttentionLayers& attentions, const PatchGrid& grid, int token = 0) {
  const Tensor<float> per_head = raw_attention(attentions, grid, token);
  const std::int64_t batch = per_head.size(0), heads = per_head.size(1), patches = grid.patches();
  Tensor<float> maps({batch, grid.height, grid.width});
  for (std::int64_t image = 0; image < batch; ++image)
    for (std::int64_t p = 0; p < patches; ++p) {
      double sum = 0;
      for (std::int64_t h = 0; h < heads; ++h) sum += per_head[(image * heads + h) * patches + p];
      maps[image * patches + p] = float(sum / double(heads));
    }
  return maps;
}

}  // namespace vit
