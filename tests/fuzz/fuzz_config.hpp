// The small architecture the fuzz target loads and its seeds are made for.
#pragma once

#include <vit/model/config.hpp>

namespace vit::fuzz {

inline ViTConfig small_config() {
  ViTConfig config;
  config.name = "fuzz";
  config.image_size = 8;
  config.patch_size = 4;
  config.embed_dim = 8;
  config.depth = 1;
  config.num_heads = 2;
  config.mlp_dim = 16;
  config.num_classes = 3;
  return config;
}

}  // namespace vit::fuzz
