// The CUDA model's activation workspace: every buffer of one forward pass as a byte offset into a single
// device allocation, sized from the model, the activation dtype, the batch and the patch grid. Plain
// arithmetic (no CUDA), so that the sizing is tested without a GPU.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "vit/core/dtype.hpp"
#include "vit/model/config.hpp"

namespace vit::cuda {

struct WorkspacePlan {
  static constexpr std::size_t kAlignment = 256;  // every buffer starts on a 256-byte boundary (cuBLAS likes 16)

  // Byte offsets. "act" = the activation dtype; everything else fp32.
  std::size_t images = 0;    // [B, C, H, W] fp32, the host images
  std::size_t unfolded = 0;  // [B·P, C·p·p] act
  std::size_t x = 0;         // [B, N, D] fp32, the residual stream
  std::size_t normed = 0;    // [B·N, D] act, LayerNorm output = GEMM input
  std::size_t qkv = 0;       // [B·N, 3D] act
  std::size_t heads = 0;     // [B·N, D] act, attention output
  std::size_t hidden = 0;    // [B·N, mlp] act, after GELU
  std::size_t acc = 0;       // fp32 GEMM results: the largest of [B·N, mlp], [B·N, 3D], [B·P, D], [2B, classes]
  std::size_t pooled = 0;    // [2B, D] fp32: class (and distillation) rows, or the mean
  std::size_t features = 0;  // [2B, D] fp32, after the final norm
  std::size_t head_in = 0;   // [2B, D] act, the classifier's input
  std::size_t logits = 0;    // [2B, classes] fp32 (distilled models: both heads' rows)
  std::size_t maps = 0;      // depth × [B, H, N, N] fp32 when attention maps are requested
  std::size_t total = 0;     // bytes to allocate

  std::int64_t tokens = 0, pooled_rows = 0, map_elements_per_layer = 0;
};

namespace detail {

inline std::size_t align_up(std::size_t bytes) {
  return (bytes + WorkspacePlan::kAlignment - 1) / WorkspacePlan::kAlignment * WorkspacePlan::kAlignment;
}

}  // namespace detail

// config: a validated ViTConfig; batch ≥ 1; grid_h × grid_w patches per image.
inline WorkspacePlan plan_workspace(const ViTConfig& config, DType activations, std::int64_t batch, std::int64_t grid_h,
                                    std::int64_t grid_w, bool attentions) {
  const std::size_t act = dtype_size(activations), f32 = sizeof(float);
  const std::int64_t patches = grid_h * grid_w, tokens = config.num_prefix_tokens() + patches, rows = batch * tokens;
  const std::int64_t dim = config.embed_dim, patch = config.patch_size;
  WorkspacePlan plan;
  plan.tokens = tokens;
  plan.pooled_rows = config.has_distillation_head() ? 2 * batch : batch;
  plan.map_elements_per_layer = attentions ? batch * config.num_heads * tokens * tokens : 0;

  std::size_t cursor = 0;
  const auto take = [&](std::int64_t elements, std::size_t element_size) {
    const std::size_t offset = cursor;
    cursor += detail::align_up(std::size_t(elements) * element_size);
    return offset;
  };
  plan.images = take(batch * config.in_channels * grid_h * patch * grid_w * patch, f32);
  plan.unfolded = take(batch * patches * config.in_channels * patch * patch, act);
  plan.x = take(rows * dim, f32);
  plan.normed = take(rows * dim, act);
  plan.qkv = take(rows * 3 * dim, act);
  plan.heads = take(rows * dim, act);
  plan.hidden = take(rows * config.mlp_dim, act);
  plan.acc = take(std::max({rows * std::int64_t(config.mlp_dim), rows * 3 * dim,
                            plan.pooled_rows * std::int64_t(config.num_classes)}),
                  f32);
  plan.pooled = take(plan.pooled_rows * dim, f32);
  plan.features = take(plan.pooled_rows * dim, f32);
  plan.head_in = take(plan.pooled_rows * dim, act);
  plan.logits = take(plan.pooled_rows * config.num_classes, f32);
  plan.maps = take(config.depth * plan.map_elements_per_layer, f32);
  plan.total = cursor;
  return plan;
}

}  // namespace vit::cuda
