// Generic attention explainability (Chefer, Gur & Wolf, ICCV 2021, "Generic Attention-model Explainability
// for Interpreting Bi-Modal and Encoder-Decoder Transformers"), self-attention rule as in the authors' ViT
// example (Transformer-MM-Explainability): relevance accumulated from the first layer up,
//   R = I;  for l = start .. L-1:  Ā_l = mean_h clamp≥0(G_l ⊙ A_l);  R ← R + Ā_l · R
// with A_l the softmax probabilities and G_l = ∂y_c/∂A_l. The map is row t of R (0: class token) over the
// patch tokens, raw values (not normalised). R = (I + Ā_{L-1}) ⋯ (I + Ā_start), computed as its row t only.
#pragma once

#include <algorithm>

#include "vit/core/tensor.hpp"
#include "vit/explain/attention_maps.hpp"

namespace vit {

struct GenericAttentionOptions {
  int start_layer = 0;  // layers before it are left out
  int token = 0;        // whose row is the map: 0 the class token, 1 the distillation token
};

// attentions, gradients: per layer [B, H, N, N] → [B, grid_h, grid_w].
inline Tensor<float> generic_attention(const AttentionLayers& attentions, const AttentionLayers& gradients,
                                       const PatchGrid& grid, const GenericAttentionOptions& options = {}) {
  detail::check_attention_maps(attentions, grid);
  detail::check_attention_gradients(attentions, gradients, "generic attention");
  detail::check_start_and_token(attentions, grid, options.start_layer, options.token, "generic attention");
  const std::int64_t batch = attentions[0].size(0), heads = attentions[0].size(1), n = grid.tokens();
  Tensor<float> maps({batch, grid.height, grid.width});
  for (std::int64_t image = 0; image < batch; ++image)
    detail::product_row(
        n, options.start_layer, int(attentions.size()) - 1, options.token, grid,
        [&](int layer, Eigen::MatrixXd& factor) {
          detail::head_mean(
              detail::layer_slice(attentions, std::size_t(layer), image),
              detail::layer_slice(gradients, std::size_t(layer), image), heads, n,
              [](double a, double g) { return std::max(0.0, a * g); }, factor);
          factor.diagonal().array() += 1.0;
        },
        maps.data() + image * grid.patches());
  return maps;
}

}  // namespace vit
