// Attention rollout (Abnar & Zuidema, 2020), as users know it from vit-explain — without that code's
// row-normalisation bug (a.sum(dim=-1) without keepdim divides columns, not rows).
//
// Per image, for layers l = start_layer .. L-1 with attention A_l [H, N, N]:
//   F = fuse heads (mean | max | min)                                   [N, N]
//   zero the floor(N·N·discard_ratio) smallest entries of F, except F[0, 0] (the class token's
//   attention to itself, as vit-explain keeps it); ties broken by lower flat index
//   a = (F + I) / 2, each row divided by its sum
//   R = a · R   (R starts as I, so R = a_{L-1} ⋯ a_{start})
// The map is row `token` of R (0: class token, 1: distillation token) over the patch tokens, reshaped to
// the patch grid and divided by its maximum. Computed in double; maps are plain [B, grid_h, grid_w] tensors.
#pragma once

#include <algorithm>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/explain/attention_maps.hpp"

namespace vit {

enum class HeadFusion { Mean, Max, Min };

inline HeadFusion parse_head_fusion(std::string_view name) {
  if (name == "mean") return HeadFusion::Mean;
  if (name == "max") return HeadFusion::Max;
  if (name == "min") return HeadFusion::Min;
  detail::fail("unknown head fusion '", name, "' (expected mean, max or min)");
}

struct RolloutOptions {
  HeadFusion fusion = HeadFusion::Mean;
  double discard_ratio = 0.0;  // in [0, 1): share of the smallest fused weights zeroed per layer
  int start_layer = 0;         // layers before it are left out of the product
  int token = 0;               // whose row is the map: 0 the class token, 1 the distillation token
};

// attentions: per layer [B, H, N, N] (ForwardResult::attentions) → [B, grid.height, grid.width], max 1.
inline Tensor<float> attention_rollout(const AttentionLayers& attentions, const PatchGrid& grid,
                                       const RolloutOptions& options = {}) {
  detail::check_attention_maps(attentions, grid);
  VIT_CHECK(options.discard_ratio >= 0.0 && options.discard_ratio < 1.0, "rollout: discard ratio ",
            options.discard_ratio, " is outside [0, 1)");
  VIT_CHECK(options.start_layer >= 0 && options.start_layer < int(attentions.size()), "rollout: start layer ",
            options.start_layer, " is outside [0, ", attentions.size(), ")");
  VIT_CHECK(options.token >= 0 && options.token < grid.prefix_tokens, "rollout: token ", options.token,
            " is not one of the ", grid.prefix_tokens, " prefix tokens");

  const std::int64_t batch = attentions.front().size(0), heads = attentions.front().size(1), n = grid.tokens();
  const auto discard = std::int64_t(double(n * n) * options.discard_ratio);
  Tensor<float> maps({batch, grid.height, grid.width});
  Eigen::MatrixXd fused(n, n), step(n, n), rollout(n, n);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n * n));
  for (std::int64_t image = 0; image < batch; ++image) {
    rollout.setIdentity();
    for (std::size_t layer = std::size_t(options.start_layer); layer < attentions.size(); ++layer) {
      const float* base = attentions[layer].data() + image * heads * n * n;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double value = options.fusion == HeadFusion::Mean ? 0.0 : base[i * n + j];
          for (std::int64_t h = 0; h < heads; ++h) {
            const double weight = base[(h * n + i) * n + j];
            if (options.fusion == HeadFusion::Mean)
              value += weight;
            else if (options.fusion == HeadFusion::Max)
              value = std::max(value, weight);
            else
              value = std::min(value, weight);
          }
          fused(i, j) = options.fusion == HeadFusion::Mean ? value / double(heads) : value;
        }
      if (discard > 0) {
        // Row-major flat indices, as torch's view(-1) on the [N, N] map.
        const auto flat = [&](std::int64_t index) { return fused(index / n, index % n); };
        std::iota(order.begin(), order.end(), std::int64_t(0));
        std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return flat(a) < flat(b); });
        for (std::int64_t k = 0; k < discard; ++k)
          if (order[std::size_t(k)] != 0) fused(order[std::size_t(k)] / n, order[std::size_t(k)] % n) = 0.0;
      }
      step = (fused + Eigen::MatrixXd::Identity(n, n)) * 0.5;
      step.array().colwise() /= step.rowwise().sum().array();
      rollout = step * rollout;
    }
    float* out = maps.data() + image * grid.height * grid.width;
    double max_value = 0;
    for (std::int64_t p = 0; p < n - grid.prefix_tokens; ++p)
      max_value = std::max(max_value, rollout(options.token, grid.prefix_tokens + p));
    for (std::int64_t p = 0; p < n - grid.prefix_tokens; ++p)
      out[p] = float(max_value > 0 ? rollout(options.token, grid.prefix_tokens + p) / max_value : 0.0);
  }
  return maps;
}

inline Tensor<float> attention_rollout(const std::vector<Tensor<float>>& attentions, const PatchGrid& grid,
                                       const RolloutOptions& options = {}) {
  return attention_rollout(layer_views(attentions), grid, options);
}

}  // namespace vit
