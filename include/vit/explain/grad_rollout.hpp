// Gradient-weighted attention rollout, as popularised by jacobgil/vit-explain (grad_rollout.py), with that
// code's two bugs fixed; `vit_explain = true` reproduces its exact output, bugs included, for people
// comparing with it. Per image, for layers l = start .. L-1, with A_l the softmax probabilities:
//   F = clamp≥0(mean_h(A_l ⊙ G_l))                        (the mean over heads first, then the clamp)
//   zero the floor(N²·discard_ratio) smallest entries of F (F[0, 0] is not protected, as in vit-explain's
//   gradient version; ties broken by lower flat index)
//   a = (F + I) / 2, each row divided by its sum
//   R ← a · R   (R starts as I, so R = a_{L-1} ⋯ a_start)
// map_j = R[t, j] over the patch tokens, divided by its maximum. G_l = ∂y_c/∂A_l.
//
// vit_explain = true, what vit-explain computes (its hooks, its loop):
// - the gradient is ∂y_c/∂S_l, S the softmax input: its legacy backward hook sits on the attention-dropout
//   module, which in eval mode returns its input tensor itself, so the hook lands on the softmax's backward
//   node and receives the gradient entering the softmax, not ∂y_c/∂A;
// - gradients are collected in backward order, so layer l is paired with layer L-1-l's gradient;
// - `a / a.sum(dim=-1)` without keepdim broadcasts the row sums along the rows: a[i, j] / Σ_k a[j, k].
// Pass ∂y_c/∂S per layer (BackwardResult::scores) as `gradients` in that mode. tests/test_explain_parity.cpp
// holds this mode to vit-explain's own output (run by tools/make_gradient_fixtures.py).
#pragma once

#include <algorithm>
#include <numeric>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/explain/attention_maps.hpp"

namespace vit {

struct GradRolloutOptions {
  double discard_ratio = 0.0;  // in [0, 1): share of the smallest fused weights zeroed per layer
  int start_layer = 0;         // layers before it are left out
  int token = 0;               // whose row is the map: 0 the class token, 1 the distillation token
  bool vit_explain = false;    // reproduce vit-explain's output (gradients must then be ∂y/∂S)
};

// attentions, gradients: per layer [B, H, N, N] → [B, grid_h, grid_w], maximum 1.
inline Tensor<float> grad_rollout(const AttentionLayers& attentions, const AttentionLayers& gradients,
                                  const PatchGrid& grid, const GradRolloutOptions& options = {}) {
  detail::check_attention_maps(attentions, grid);
  detail::check_attention_gradients(attentions, gradients, "gradient rollout");
  detail::check_start_and_token(attentions, grid, options.start_layer, options.token, "gradient rollout");
  VIT_CHECK(options.discard_ratio >= 0.0 && options.discard_ratio < 1.0, "gradient rollout: discard ratio ",
            options.discard_ratio, " is outside [0, 1)");
  const int layers = int(attentions.size());
  const std::int64_t batch = attentions[0].size(0), heads = attentions[0].size(1), n = grid.tokens();
  const auto discard = std::int64_t(double(n * n) * options.discard_ratio);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n * n));
  Tensor<float> maps({batch, grid.height, grid.width});
  for (std::int64_t image = 0; image < batch; ++image) {
    float* map = maps.data() + image * grid.patches();
    detail::product_row(
        n, options.start_layer, layers - 1, options.token, grid,
        [&](int layer, Eigen::MatrixXd& a) {
          const int paired = options.vit_explain ? layers - 1 - layer : layer;
          detail::head_mean(
              detail::layer_slice(attentions, std::size_t(layer), image),
              detail::layer_slice(gradients, std::size_t(paired), image), heads, n,
              [](double value, double gradient) { return value * gradient; }, a);
          a = a.cwiseMax(0.0);
          if (discard > 0) {
            const auto flat = [&](std::int64_t index) { return a(index / n, index % n); };
            std::iota(order.begin(), order.end(), std::int64_t(0));
            std::stable_sort(order.begin(), order.end(),
                             [&](std::int64_t x, std::int64_t y) { return flat(x) < flat(y); });
            for (std::int64_t k = 0; k < discard; ++k) a(order[std::size_t(k)] / n, order[std::size_t(k)] % n) = 0.0;
          }
          a.diagonal().array() += 1.0;
          a *= 0.5;
          const Eigen::VectorXd row_sums = a.rowwise().sum();
          if (options.vit_explain)
            a.array().rowwise() /= row_sums.transpose().array();  // column j / row sum j
          else
            a.array().colwise() /= row_sums.array();
        },
        map);
    const float max_value = *std::max_element(map, map + grid.patches());
    for (std::int64_t p = 0; p < grid.patches(); ++p) map[p] = max_value > 0 ? map[p] / max_value : 0.0f;
  }
  return maps;
}

}  // namespace vit
