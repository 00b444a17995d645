// ViTConfig: the architecture of a ViT/DeiT model, its named presets, and validation.
//
// Presets follow timm's model names (vit_base_patch16_224, deit_tiny_distilled_patch16_224, ...);
// a pretrained tag after a dot (".augreg_in21k_ft_in1k") is ignored. All presets use head_dim 64
// (tiny 192/3, small 384/6, base 768/12, large 1024/16) and an MLP ratio of 4, as timm and HF do.
#pragma once

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "vit/core/error.hpp"

namespace vit {

// How the final token sequence becomes one feature vector per image.
enum class Pooling {
  ClassToken,  // the class token (ViT, DeiT)
  Mean,        // mean of the patch tokens (timm global_pool='avg')
};

// How the patch-grid part of the positional embedding is resized for another input size.
// The two frameworks differ, so the loader picks the one matching the checkpoint's naming.
enum class PosEmbedResampling {
  BicubicAntialias,  // timm resample_abs_pos_embed: F.interpolate(bicubic, antialias=True) — PIL-style, a = -0.5
  Bicubic,           // HF interpolate_pos_encoding: F.interpolate(bicubic, antialias=False) — a = -0.75
};

struct ViTConfig {
  std::string name = "custom";
  int image_size = 224;  // the training resolution: the positional embedding covers (image/patch)^2 patches
  int patch_size = 16;
  int in_channels = 3;
  int embed_dim = 768;
  int depth = 12;
  int num_heads = 12;
  int mlp_dim = 3072;
  int num_classes = 1000;  // 0: no classification head (features only)
  float layer_norm_eps = 1e-6f;
  bool qkv_bias = true;
  bool class_token = true;
  bool distillation_token = false;  // DeiT: a second prefix token after the class token
  // With a distillation token: a second head reads it and the logits are the mean of both heads (timm's
  // distilled DeiT, HF DeiTForImageClassificationWithTeacher). False: one head on the class token
  // (HF DeiTForImageClassification).
  bool distillation_head = true;
  Pooling pooling = Pooling::ClassToken;
  bool fc_norm = false;  // timm: the final LayerNorm is applied after pooling ("fc_norm") instead of before
  PosEmbedResampling pos_embed_resampling = PosEmbedResampling::BicubicAntialias;

  int grid_size() const { return image_size / patch_size; }
  int num_patches() const { return grid_size() * grid_size(); }
  int num_prefix_tokens() const { return int(class_token) + int(distillation_token); }
  int num_tokens() const { return num_prefix_tokens() + num_patches(); }
  int head_dim() const { return embed_dim / num_heads; }
  bool has_distillation_head() const { return distillation_token && distillation_head && num_classes > 0; }

  // Throws vit::Error naming the first inconsistent field.
  void validate() const {
    const auto where = [&] { return detail::concat("config '", name, "'"); };
    VIT_CHECK(patch_size > 0 && image_size > 0 && in_channels > 0, where(),
              ": image_size, patch_size and in_channels must be positive");
    VIT_CHECK(image_size % patch_size == 0, where(), ": image_size ", image_size, " is not a multiple of patch_size ",
              patch_size);
    VIT_CHECK(embed_dim > 0 && depth > 0 && num_heads > 0 && mlp_dim > 0, where(),
              ": embed_dim, depth, num_heads and mlp_dim must be positive");
    VIT_CHECK(embed_dim % num_heads == 0, where(), ": embed_dim ", embed_dim, " is not divisible by num_heads ",
              num_heads);
    VIT_CHECK(num_classes >= 0, where(), ": num_classes must not be negative");
    VIT_CHECK(layer_norm_eps > 0 && std::isfinite(layer_norm_eps), where(), ": layer_norm_eps must be positive");
    VIT_CHECK(!distillation_token || class_token, where(), ": a distillation token needs a class token");
    VIT_CHECK(pooling != Pooling::ClassToken || class_token, where(), ": class-token pooling needs a class token");
    VIT_CHECK(!distillation_token || pooling == Pooling::ClassToken, where(),
              ": distilled models pool the class and distillation tokens");
  }
};

namespace detail {

struct PresetSize {
  std::string_view size;
  int embed_dim, depth, num_heads;
};

inline constexpr PresetSize kPresetSizes[] = {
    {"tiny", 192, 12, 3}, {"small", 384, 12, 6}, {"base", 768, 12, 12}, {"large", 1024, 24, 16}};

// Heads for an embedding width, by the head_dim-64 convention every timm/HF ViT and DeiT follows
// (the weights themselves cannot tell: qkv is [3D, D] whatever the head count).
inline int conventional_num_heads(int embed_dim) {
  for (const PresetSize& size : kPresetSizes)
    if (size.embed_dim == embed_dim) return size.num_heads;
  return 0;
}

}  // namespace detail

namespace detail {

inline ViTConfig make_preset(std::string_view family, const PresetSize& size, bool distilled, int patch, int image) {
  ViTConfig config;
  config.name = concat(family, "_", size.size, "_", distilled ? "distilled_" : "", "patch", patch, "_", image);
  config.image_size = image;
  config.patch_size = patch;
  config.embed_dim = size.embed_dim;
  config.depth = size.depth;
  config.num_heads = size.num_heads;
  config.mlp_dim = 4 * size.embed_dim;
  config.distillation_token = distilled;
  return config;
}

// Every preset: ViT tiny..large × patch 16/32 × 224/384, and the DeiT models timm ships
// (tiny/small/base at 224, base at 384, each plain and distilled).
inline const std::vector<ViTConfig>& all_presets() {
  static const std::vector<ViTConfig> presets = [] {
    std::vector<ViTConfig> list;
    for (const PresetSize& size : kPresetSizes)
      for (int patch : {16, 32})
        for (int image : {224, 384}) list.push_back(make_preset("vit", size, false, patch, image));
    for (const PresetSize& size : kPresetSizes) {
      if (size.size == "large") continue;
      for (bool distilled : {false, true}) {
        list.push_back(make_preset("deit", size, distilled, 16, 224));
        if (size.size == "base") list.push_back(make_preset("deit", size, distilled, 16, 384));
      }
    }
    return list;
  }();
  return presets;
}

}  // namespace detail

// All preset names, e.g. for --help texts.
inline std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const ViTConfig& config : detail::all_presets()) names.push_back(config.name);
  return names;
}

// The configuration of a named model; throws vit::Error listing the known names otherwise.
inline ViTConfig preset(std::string_view name) {
  const std::string_view base = name.substr(0, name.find('.'));  // drop a pretrained tag
  for (const ViTConfig& config : detail::all_presets())
    if (config.name == base) return config;
  std::string known;
  for (const std::string& candidate : preset_names()) known += (known.empty() ? "" : ", ") + candidate;
  detail::fail("unknown model preset '", name, "'; known presets: ", known);
}

}  // namespace vit
