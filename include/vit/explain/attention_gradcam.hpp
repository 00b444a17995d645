// Attention Grad-CAM, the gradient baseline of Chefer et al. (the `generate_attn_gradcam` of
// Transformer-Explainability's ViT_explanation_generator.py): the last layer's attention from one token to
// the patches, each head weighted by its mean gradient over those same entries.
//   w_h   = mean_{j ∈ patches} G[h, t, j]              G = ∂y_c/∂A of the last layer, t the token's row
//   map_j = max(0, mean_h w_h · A[h, t, j])           (raw values: the reference then min-max normalises)
#pragma once

#include <algorithm>

#include "vit/core/tensor.hpp"
#include "vit/explain/attention_maps.hpp"

namespace vit {

// attentions, gradients: per layer [B, H, N, N] → [B, grid_h, grid_w].
inline Tensor<float> attention_gradcam(const AttentionLayers& attentions, const AttentionLayers& gradients,
                                       const PatchGrid& grid, int token = 0) {
  detail::check_attention_maps(attentions, grid);
  detail::check_attention_gradients(attentions, gradients, "attention Grad-CAM");
  detail::check_start_and_token(attentions, grid, 0, token, "attention Grad-CAM");
  const std::size_t last = attentions.size() - 1;
  const std::int64_t batch = attentions[last].size(0), heads = attentions[last].size(1), n = grid.tokens();
  const std::int64_t patches = grid.patches();
  Tensor<float> maps({batch, grid.height, grid.width});
  for (std::int64_t image = 0; image < batch; ++image) {
    const float* a = detail::layer_slice(attentions, last, image);
    const float* g = detail::layer_slice(gradients, last, image);
    std::vector<double> map(static_cast<std::size_t>(patches), 0.0);
    for (std::int64_t h = 0; h < heads; ++h) {
      const std::int64_t row = (h * n + token) * n + grid.prefix_tokens;
      double weight = 0;
      for (std::int64_t p = 0; p < patches; ++p) weight += g[row + p];
      weight /= double(patches);
      for (std::int64_t p = 0; p < patches; ++p) map[std::size_t(p)] += weight * a[row + p] / double(heads);
    }
    for (std::int64_t p = 0; p < patches; ++p) maps[image * patches + p] = float(std::max(0.0, map[std::size_t(p)]));
  }
  return maps;
}

}  // namespace vit
