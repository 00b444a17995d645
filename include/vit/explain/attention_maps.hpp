// What every explanation method reads: per-layer attention maps [B, H, N, N] (the forward's softmax
// probabilities, ForwardResult::attentions or ActivationCache::blocks[l].attention) and, for the
// class-specific methods, their gradients ∂y_c/∂A of the same shape (BackwardResult::attentions); the patch
// grid they cover; and the step all of them end with, one token's row over the patch tokens as a
// [grid_h, grid_w] map.
#pragma once

#include <cstdint>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/model/forward.hpp"

namespace vit {

// The patch grid an attention map of N tokens covers: N = prefix_tokens + grid_h · grid_w.
struct PatchGrid {
  int prefix_tokens = 1;
  int height = 14;
  int width = 14;
  std::int64_t tokens() const { return prefix_tokens + std::int64_t(height) * width; }
  std::int64_t patches() const { return std::int64_t(height) * width; }
};

// One view per layer, [B, H, N, N] each.
using AttentionLayers = std::vector<TensorView<const float>>;

inline AttentionLayers layer_views(const std::vector<Tensor<float>>& layers) {
  return AttentionLayers(layers.begin(), layers.end());
}

// The attention probabilities an activation cache holds.
inline AttentionLayers layer_views(const ActivationCache& cache) {
  AttentionLayers views;
  for (const auto& block : cache.blocks) views.push_back(block.attention);
  return views;
}

namespace detail {

inline void check_attention_maps(const AttentionLayers& attentions, const PatchGrid& grid) {
  VIT_CHECK(!attentions.empty(), "attention maps: none given (run forward with ForwardOptions::attentions = true)");
  const Shape& first = attentions.front().shape();
  VIT_CHECK(first.rank() == 4 && first[2] == first[3], "attention maps: expected [B, H, N, N], got ", first);
  VIT_CHECK(grid.prefix_tokens >= 1 && grid.height > 0 && grid.width > 0, "attention maps: invalid patch grid ",
            grid.height, "x", grid.width, " with ", grid.prefix_tokens, " prefix tokens");
  VIT_CHECK(first[2] == grid.tokens(), "attention maps: ", first[2], " tokens do not fit a ", grid.height, "x",
            grid.width, " patch grid plus ", grid.prefix_tokens, " prefix tokens (", grid.tokens(), ")");
  for (const TensorView<const float>& map : attentions)
    VIT_CHECK(map.shape() == first, "attention maps: layers differ in shape (", first, " and ", map.shape(), ")");
}

inline void check_attention_maps(const std::vector<Tensor<float>>& attentions, const PatchGrid& grid) {
  check_attention_maps(layer_views(attentions), grid);
}

// Gradients ∂y/∂A beside their maps: one per layer, each of its layer's shape.
inline void check_attention_gradients(const AttentionLayers& attentions, const AttentionLayers& gradients,
                                      std::string_view method) {
  VIT_CHECK(gradients.size() == attentions.size(), method, ": ", gradients.size(),
            " layers of attention gradients for ", attentions.size(),
            " layers of maps (run backward with BackwardOptions::attentions = true)");
  for (std::size_t layer = 0; layer < gradients.size(); ++layer)
    VIT_CHECK(gradients[layer].shape() == attentions[layer].shape(), method, ": layer ", layer,
              " has gradients of shape ", gradients[layer].shape(), " for maps of shape ", attentions[layer].shape());
}

inline void check_start_and_token(const AttentionLayers& attentions, const PatchGrid& grid, int start_layer, int token,
                                  std::string_view method) {
  VIT_CHECK(start_layer >= 0 && start_layer < int(attentions.size()), method, ": start layer ", start_layer,
            " is outside [0, ", attentions.size(), ")");
  VIT_CHECK(token >= 0 && token < grid.prefix_tokens, method, ": token ", token, " is not one of the ",
            grid.prefix_tokens, " prefix tokens");
}

// Image `image`'s [H, N, N] slice of layer `layer` as a pointer.
inline const float* layer_slice(const AttentionLayers& layers, std::size_t layer, std::int64_t image) {
  const Shape& shape = layers[layer].shape();
  return layers[layer].data() + image * shape[1] * shape[2] * shape[3];
}

// Writes row `token` of a product of per-layer matrices, restricted to the patch columns, as one image's map:
// out [grid_h · grid_w] = (e_tokenᵀ · M_last ⋯ M_first)[prefix:]. The factors come from step(layer, M) for
// layer = last .. first; multiplying a row vector from the left costs N² per layer instead of N³ for the
// whole matrix product, and gives the same row.
template <typename Step>
void product_row(std::int64_t tokens, int first_layer, int last_layer, int token, const PatchGrid& grid,
                 const Step& step, float* out) {
  Eigen::RowVectorXd row = Eigen::RowVectorXd::Zero(tokens);
  row(token) = 1.0;
  Eigen::MatrixXd matrix(tokens, tokens);
  for (int layer = last_layer; layer >= first_layer; --layer) {
    step(layer, matrix);
    row = row * matrix;
  }
  for (std::int64_t p = 0; p < grid.patches(); ++p) out[p] = float(row(grid.prefix_tokens + p));
}

// The per-image [N, N] average over heads of f(a, g) for a layer's maps a and gradients g (g may be null for
// a function of a alone).
template <typename Function>
void head_mean(const float* a, const float* g, std::int64_t heads, std::int64_t tokens, const Function& f,
               Eigen::MatrixXd& out) {
  out.setZero(tokens, tokens);
  for (std::int64_t h = 0; h < heads; ++h)
    for (std::int64_t i = 0; i < tokens; ++i)
      for (std::int64_t j = 0; j < tokens; ++j) {
        const std::int64_t index = (h * tokens + i) * tokens + j;
        out(i, j) += f(double(a[index]), g == nullptr ? 0.0 : double(g[index]));
      }
  out /= double(heads);
}

}  // namespace detail

}  // namespace vit
