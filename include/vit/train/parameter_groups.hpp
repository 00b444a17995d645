// Which parameters train, which decay, and at what learning-rate scale: one group per weight of the model,
// each a range of the parameter arena (VisionTransformer::parameters()), so optimizers run one loop per group.
//
// Weight decay follows timm's param_groups_weight_decay with the model's no_weight_decay() list: no decay
// for 1-D parameters (every LayerNorm weight and bias, every bias), for names ending in ".bias", and for
// pos_embed, cls_token and dist_token; every other weight (the Linear and patch-embedding matrices) decays.
//
// Freezing, as transfer learning does it: trainable_blocks < 0 trains everything; 0 trains the head only
// (a linear probe on the pre-logits features); k > 0 trains the head, the final norm (norm or fc_norm) and
// the last k blocks. The heads are "head" and, for distilled DeiT, "head_dist".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/model/checkpoint.hpp"
#include "vit/model/vision_transformer.hpp"
#include "vit/train/initialization.hpp"

namespace vit::train {

struct ParameterGroup {
  std::string name;      // canonical (timm) name, e.g. "blocks.3.mlp.fc1.weight"
  std::int64_t offset;   // first element in the parameter arena
  std::int64_t count;    // elements
  bool decay;            // weight decay applies
  bool trainable;        // false: frozen (no update, and left out of gradient clipping)
  float lr_scale = 1.f;  // multiplies the schedule's learning rate (e.g. a faster head when fine-tuning)
};

struct ParameterGroupOptions {
  int trainable_blocks = -1;  // < 0: everything; 0: the head only; k: head, final norm and the last k blocks
  float head_lr_scale = 1.f;  // learning-rate scale of the head(s), relative to the backbone's
};

namespace detail {

inline bool is_head(const std::string& name) {
  return name.rfind("head.", 0) == 0 || name.rfind("head_dist.", 0) == 0;
}

// The block index of "blocks.<i>.…", or -1.
inline int block_index(const std::string& name) {
  if (name.rfind("blocks.", 0) != 0) return -1;
  return std::stoi(name.substr(7, name.find('.', 7) - 7));
}

}  // namespace detail

inline std::vector<ParameterGroup> parameter_groups(const Model& model, const ParameterGroupOptions& options = {}) {
  const ViTConfig& config = model.config();
  VIT_CHECK(options.trainable_blocks <= config.depth, "parameter groups: ", options.trainable_blocks,
            " trainable blocks asked for, the model has ", config.depth);
  VIT_CHECK(options.head_lr_scale > 0, "parameter groups: the head's learning-rate scale must be positive");
  std::vector<ParameterGroup> groups;
  for (const ExpectedWeight& weight : expected_weights(config)) {
    const std::string& name = weight.name;
    const bool no_decay = weight.shape.rank() <= 1 || detail::ends_with(name, ".bias") || name == "pos_embed" ||
                          name == "cls_token" || name == "dist_token";
    bool trainable = true;
    if (options.trainable_blocks >= 0) {
      const int block = detail::block_index(name);
      const bool final_norm = name.rfind("norm.", 0) == 0 || name.rfind("fc_norm.", 0) == 0;
      trainable = detail::is_head(name) ||
                  (options.trainable_blocks > 0 &&
                   (final_norm || (block >= 0 && block >= config.depth - options.trainable_blocks)));
    }
    groups.push_back({name, model.parameter_offset(name), weight.shape.numel(), !no_decay, trainable,
                      detail::is_head(name) ? options.head_lr_scale : 1.f});
  }
  return groups;
}

// Elements that train.
inline std::int64_t trainable_count(const std::vector<ParameterGroup>& groups) {
  std::int64_t count = 0;
  for (const ParameterGroup& group : groups)
    if (group.trainable) count += group.count;
  return count;
}

}  // namespace vit::train
