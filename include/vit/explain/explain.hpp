// One call from images to explanation maps, for every method: vit::explain(model, images, options). It
// runs the forward pass (keeping the activation cache when the method needs gradients), picks each image's
// target class (its top-1 unless told), runs the backward pass of y_target for the gradients ∂y_c/∂A (and
// ∂y_c/∂S), and calls the method. Each method's formula is in its own header:
//   rollout                  attention_rollout.hpp   (class-blind)
//   raw-attention            raw_attention.hpp       (class-blind; mean over heads)
//   attention-gradcam        attention_gradcam.hpp
//   generic-attention        generic_attention.hpp
//   grad-rollout             grad_rollout.hpp        (vit_explain: vit-explain's exact output)
//   transformer-attribution  transformer_attribution.hpp
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/explain/attention_gradcam.hpp"
#include "vit/explain/attention_maps.hpp"
#include "vit/explain/attention_rollout.hpp"
#include "vit/explain/generic_attention.hpp"
#include "vit/explain/grad_rollout.hpp"
#include "vit/explain/raw_attention.hpp"
#include "vit/explain/transformer_attribution.hpp"
#include "vit/model/vision_transformer.hpp"

namespace vit {

enum class ExplanationMethod {
  Rollout,
  RawAttention,
  AttentionGradcam,
  GradRollout,
  GenericAttention,
  TransformerAttribution
};

inline constexpr std::string_view kExplanationMethodNames[] = {
    "rollout", "raw-attention", "attention-gradcam", "grad-rollout", "generic-attention", "transformer-attribution"};

inline std::string_view explanation_method_name(ExplanationMethod method) {
  return kExplanationMethodNames[static_cast<int>(method)];
}

inline ExplanationMethod parse_explanation_method(std::string_view name) {
  std::string known;
  for (int i = 0; i < int(std::size(kExplanationMethodNames)); ++i) {
    if (name == kExplanationMethodNames[i]) return static_cast<ExplanationMethod>(i);
    known += detail::concat(i ? ", " : "", kExplanationMethodNames[i]);
  }
  detail::fail("unknown explanation method '", name, "' (expected one of: ", known, ")");
}

// Whether a method explains one class (and so needs the gradient of that class's score).
inline bool is_class_specific(ExplanationMethod method) {
  return method != ExplanationMethod::Rollout && method != ExplanationMethod::RawAttention;
}

struct ExplainOptions {
  ExplanationMethod method = ExplanationMethod::Rollout;
  std::vector<int> targets;              // the class explained, per image or one for all; empty: each image's top-1
  int start_layer = 0;                   // rollout, generic-attention, grad-rollout
  int token = 0;                         // whose row is the map: 0 the class token, 1 the distillation token
  HeadFusion fusion = HeadFusion::Mean;  // rollout
  double discard_ratio = 0.0;            // rollout, grad-rollout
  bool vit_explain = false;              // grad-rollout: vit-explain's exact output
};

struct Explanation {
  Tensor<float> maps;        // [B, grid_h, grid_w], raw relevance (rollout and grad-rollout: maximum 1)
  Tensor<float> logits;      // [B, classes]; empty for a model without a head
  std::vector<int> targets;  // per image, the class explained (class-blind methods: the top-1, for reference)
  PatchGrid grid;
};

namespace detail {

// One target per image from `requested` (empty: the top-1 of each image's logits; one: the same for all).
inline std::vector<int> explanation_targets(const std::vector<int>& requested, const Tensor<float>& logits,
                                            std::int64_t batch, bool needed) {
  std::vector<int> targets;
  if (logits.empty()) {
    VIT_CHECK(!needed,
              "explain: the method needs the gradient of a class score, and the model has no classification "
              "head");
    VIT_CHECK(requested.empty(), "explain: a target class was given, and the model has no classification head");
    return targets;
  }
  const std::int64_t classes = logits.size(1);
  VIT_CHECK(requested.empty() || requested.size() == 1 || std::int64_t(requested.size()) == batch,
            "explain: ", requested.size(), " target classes for ", batch,
            " images (give one, one per image, or none for the top-1)");
  for (std::int64_t image = 0; image < batch; ++image) {
    if (requested.empty()) {
      const float* row = logits.data() + image * classes;
      targets.push_back(int(std::max_element(row, row + classes) - row));
    } else {
      const int target = requested.size() == 1 ? requested[0] : requested[std::size_t(image)];
      VIT_CHECK(target >= 0 && target < classes, "explain: class ", target, " is out of range (the model has ", classes,
                " classes, 0 to ", classes - 1, ")");
      targets.push_back(target);
    }
  }
  return targets;
}

}  // namespace detail

// The maps of a class-blind method (rollout, raw attention) from a forward pass's attention, [B, H, N, N]
// per layer → [B, grid_h, grid_w]; for callers that ran the forward pass themselves (on any device).
inline Tensor<float> class_blind_maps(const AttentionLayers& attentions, const PatchGrid& grid,
                                      const ExplainOptions& options) {
  VIT_CHECK(!is_class_specific(options.method), "explain: method ", explanation_method_name(options.method),
            " needs the gradient of a class score, not only the attention");
  if (options.method == ExplanationMethod::RawAttention) return raw_attention_mean(attentions, grid, options.token);
  RolloutOptions rollout;
  rollout.fusion = options.fusion;
  rollout.discard_ratio = options.discard_ratio;
  rollout.start_layer = options.start_layer;
  rollout.token = options.token;
  return attention_rollout(attentions, grid, rollout);
}

// images: [B, C, H, W] normalised as the checkpoint expects → one map per image.
inline Explanation explain(const Model& model, TensorView<const float> images, const ExplainOptions& options = {},
                           const Context& context = {}) {
  const ViTConfig& config = model.config();
  detail::check_images(config, images);
  const bool class_specific = is_class_specific(options.method);
  const std::int64_t batch = images.size(0);
  Explanation explanation;
  explanation.grid = {config.num_prefix_tokens(), int(images.size(2)) / config.patch_size,
                      int(images.size(3)) / config.patch_size};
  VIT_CHECK(config.class_token, "explain: the model has no class token, so there is no token row to explain");
  VIT_CHECK(options.start_layer >= 0 && options.start_layer < config.depth, "explain: start layer ",
            options.start_layer, " is outside [0, ", config.depth, ") (the model has ", config.depth, " layers)");

  ForwardOptions forward_options;
  forward_options.attentions = !class_specific;
  forward_options.cache = class_specific;
  ForwardResult<float> forward = model.forward(images, forward_options, context);
  explanation.targets = detail::explanation_targets(options.targets, forward.logits, batch, class_specific);
  explanation.logits = std::move(forward.logits);

  if (!class_specific) {
    explanation.maps = class_blind_maps(layer_views(forward.attentions), explanation.grid, options);
    return explanation;
  }

  // ∂y_c/∂A for every image at once: y_{c_b} depends on image b only, so one backward of Σ_b y_{c_b} suffices.
  const std::int64_t classes = explanation.logits.size(1);
  Tensor<float> d_logits({batch, classes});
  for (std::int64_t image = 0; image < batch; ++image)
    d_logits[image * classes + explanation.targets[std::size_t(image)]] = 1;
  BackwardOptions backward_options;
  backward_options.images = false;
  backward_options.parameters = false;
  const bool wants_scores = options.method == ExplanationMethod::GradRollout && options.vit_explain;
  backward_options.attentions = !wants_scores;
  backward_options.scores = wants_scores;
  const BackwardResult<float> backward = model.backward(forward.cache, d_logits, backward_options, context);
  const AttentionLayers attentions = layer_views(forward.cache);
  const AttentionLayers gradients = layer_views(wants_scores ? backward.scores : backward.attentions);
  switch (options.method) {
    case ExplanationMethod::AttentionGradcam:
      explanation.maps = attention_gradcam(attentions, gradients, explanation.grid, options.token);
      break;
    case ExplanationMethod::GenericAttention:
      explanation.maps =
          generic_attention(attentions, gradients, explanation.grid, {options.start_layer, options.token});
      break;
    case ExplanationMethod::TransformerAttribution:
      explanation.maps = transformer_attribution(model, forward.cache, backward, explanation.targets, explanation.grid,
                                                 {options.start_layer, options.token}, context);
      break;
    case ExplanationMethod::GradRollout: {
      GradRolloutOptions grad_options;
      grad_options.discard_ratio = options.discard_ratio;
      grad_options.start_layer = options.start_layer;
      grad_options.token = options.token;
      grad_options.vit_explain = options.vit_explain;
      explanation.maps = grad_rollout(attentions, gradients, explanation.grid, grad_options);
      break;
    }
    default:
      detail::fail("explain: method ", explanation_method_name(options.method), " is not class-specific");
  }
  return explanation;
}

}  // namespace vit
