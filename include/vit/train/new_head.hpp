// Transfer learning's first move: the same model with a new classification head for another class count
// (and a new distillation head for distilled DeiT), as timm's create_model(name, pretrained=True,
// num_classes=N) gives it: every other weight kept, the new heads initialised as timm initialises a head
// (truncated normal, std 0.02; bias 0; see initialization.hpp).
#pragma once

#include <algorithm>
#include <cstdint>

#include "vit/model/checkpoint.hpp"
#include "vit/model/vision_transformer.hpp"
#include "vit/train/initialization.hpp"
#include "vit/train/parameter_groups.hpp"

namespace vit::train {

inline Model with_new_head(const Model& model, int num_classes, std::uint64_t seed) {
  VIT_CHECK(num_classes > 0, "with_new_head: the class count must be positive, got ", num_classes);
  ViTConfig config = model.config();
  config.num_classes = num_classes;
  Tensor<float> arena = initialize_parameters(config, seed);  // the new heads' values come from here
  float* cursor = arena.data();
  for (const ExpectedWeight& weight : expected_weights(config)) {
    if (!detail::is_head(weight.name)) std::copy_n(model.weight(weight.name).data(), weight.shape.numel(), cursor);
    cursor += weight.shape.numel();
  }
  return Model(config, std::move(arena), model.naming());
}

}  // namespace vit::train
