// Checkpoint naming: timm and Hugging Face tensor names mapped onto one canonical (timm) naming,
// the list of tensors a config needs, and config inference from tensor shapes.
//
// timm:  cls_token, dist_token, pos_embed, patch_embed.proj.*, blocks.{i}.{norm1, attn.qkv, attn.proj,
//        norm2, mlp.fc1, mlp.fc2}.*, norm.* or fc_norm.*, head.*, head_dist.*
// HF:    [vit.|deit.]embeddings.{cls_token, distillation_token, position_embeddings,
//        patch_embeddings.projection.*}, encoder.layer.{i}.{layernorm_before, attention.attention.{query,
//        key, value}, attention.output.dense, layernorm_after, intermediate.dense, output.dense}.*,
//        layernorm.*, classifier.* | cls_classifier.* + distillation_classifier.*
// HF's separate query/key/value become timm's fused qkv by stacking rows q | k | v.
#pragma once

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/shape.hpp"
#include "vit/io/safetensors.hpp"
#include "vit/model/config.hpp"

namespace vit {

enum class CheckpointNaming { Timm, HuggingFace };

inline std::string_view naming_name(CheckpointNaming naming) {
  return naming == CheckpointNaming::Timm ? "timm" : "Hugging Face";
}

namespace detail {

// A canonical weight and the checkpoint tensors it is made of, stacked along dimension 0.
struct WeightSource {
  std::vector<const SafetensorsEntry*> parts;  // one part, or q, k, v for HF attention
};

inline bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

inline CheckpointNaming detect_naming(const SafetensorsFile& file) {
  for (const SafetensorsEntry& entry : file.entries()) {
    const std::string_view name = entry.name;
    if (starts_with(name, "vit.") || starts_with(name, "deit.") || starts_with(name, "embeddings.") ||
        starts_with(name, "encoder.layer."))
      return CheckpointNaming::HuggingFace;
  }
  return CheckpointNaming::Timm;
}

struct HfName {
  std::string canonical;  // empty: a tensor HF checkpoints carry that the model does not use
  int part = 0;           // 0, 1, 2 for query, key, value
};

// Maps one Hugging Face tensor name; std::nullopt when the name is not part of a ViT/DeiT checkpoint.
inline std::optional<HfName> canonical_hf_name(std::string_view name) {
  for (std::string_view prefix : {"vit.", "deit."})
    if (starts_with(name, prefix)) name.remove_prefix(prefix.size());
  const auto suffix_after = [&](std::string_view stem, std::string_view& suffix) {
    if (!starts_with(name, stem)) return false;
    suffix = name.substr(stem.size());
    return suffix == "weight" || suffix == "bias";
  };
  std::string_view suffix;
  if (name == "embeddings.cls_token") return HfName{"cls_token"};
  if (name == "embeddings.distillation_token") return HfName{"dist_token"};
  if (name == "embeddings.position_embeddings") return HfName{"pos_embed"};
  if (suffix_after("embeddings.patch_embeddings.projection.", suffix)) return HfName{concat("patch_embed.proj.", suffix)};
  if (suffix_after("layernorm.", suffix)) return HfName{concat("norm.", suffix)};
  if (suffix_after("classifier.", suffix) || suffix_after("cls_classifier.", suffix))
    return HfName{concat("head.", suffix)};
  if (suffix_after("distillation_classifier.", suffix)) return HfName{concat("head_dist.", suffix)};
  // HF ViTModel's tanh pooler: saved with bare backbones but unused by image classification.
  if (suffix_after("pooler.dense.", suffix)) return HfName{""};

  constexpr std::string_view layer_stem = "encoder.layer.";
  if (!starts_with(name, layer_stem)) return std::nullopt;
  std::string_view rest = name.substr(layer_stem.size());
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || rest.substr(0, dot).find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  const std::string block = concat("blocks.", rest.substr(0, dot), ".");
  name = rest.substr(dot + 1);
  struct Rename {
    std::string_view hf, timm;
    int part;
  };
  static constexpr Rename renames[] = {
      {"layernorm_before.", "norm1.", 0},           {"attention.attention.query.", "attn.qkv.", 0},
      {"attention.attention.key.", "attn.qkv.", 1}, {"attention.attention.value.", "attn.qkv.", 2},
      {"attention.output.dense.", "attn.proj.", 0}, {"layernorm_after.", "norm2.", 0},
      {"intermediate.dense.", "mlp.fc1.", 0},       {"output.dense.", "mlp.fc2.", 0}};
  for (const Rename& rename : renames)
    if (suffix_after(rename.hf, suffix)) return HfName{concat(block, rename.timm, suffix), rename.part};
  return std::nullopt;
}

// Every checkpoint tensor under its canonical name. Throws on names that belong to no ViT/DeiT.
inline std::map<std::string, WeightSource> canonical_weights(const SafetensorsFile& file, CheckpointNaming naming) {
  std::map<std::string, WeightSource> weights;
  for (const SafetensorsEntry& entry : file.entries()) {
    if (naming == CheckpointNaming::Timm) {
      weights[entry.name].parts = {&entry};
      continue;
    }
    const std::optional<HfName> mapped = canonical_hf_name(entry.name);
    VIT_CHECK(mapped.has_value(), file.source(), ": unexpected tensor '", entry.name,
              "' (not part of a Hugging Face ViT/DeiT checkpoint)");
    if (mapped->canonical.empty()) continue;
    WeightSource& source = weights[mapped->canonical];
    const bool is_qkv = mapped->canonical.find(".attn.qkv.") != std::string::npos;
    source.parts.resize(is_qkv ? 3 : 1, nullptr);
    const SafetensorsEntry*& slot = source.parts[std::size_t(mapped->part)];
    VIT_CHECK(slot == nullptr, file.source(), ": tensors '", slot ? slot->name : "", "' and '", entry.name,
              "' are the same weight");
    slot = &entry;
  }
  for (const auto& [name, source] : weights)
    for (std::size_t part = 0; part < source.parts.size(); ++part)
      VIT_CHECK(source.parts[part] != nullptr, file.source(), ": '", name, "' needs query, key and value; the ",
                std::string_view(part == 0 ? "query" : part == 1 ? "key" : "value"), " tensor is missing");
  return weights;
}

}  // namespace detail

// A tensor the model needs: canonical name and shape.
struct ExpectedWeight {
  std::string name;
  Shape shape;
};

// Every tensor a model with this config loads, in a fixed order.
inline std::vector<ExpectedWeight> expected_weights(const ViTConfig& config) {
  const std::int64_t dim = config.embed_dim, mlp = config.mlp_dim, patch = config.patch_size;
  std::vector<ExpectedWeight> weights;
  const auto add = [&](std::string name, Shape shape) { weights.push_back({std::move(name), shape}); };
  const auto add_linear = [&](const std::string& stem, std::int64_t out, std::int64_t in, bool bias) {
    add(stem + ".weight", {out, in});
    if (bias) add(stem + ".bias", {out});
  };
  const auto add_norm = [&](const std::string& stem) {
    add(stem + ".weight", {dim});
    add(stem + ".bias", {dim});
  };
  if (config.class_token) add("cls_token", {1, 1, dim});
  if (config.distillation_token) add("dist_token", {1, 1, dim});
  add("pos_embed", {1, config.num_tokens(), dim});
  add("patch_embed.proj.weight", {dim, config.in_channels, patch, patch});
  add("patch_embed.proj.bias", {dim});
  for (int i = 0; i < config.depth; ++i) {
    const std::string block = detail::concat("blocks.", i, ".");
    add_norm(block + "norm1");
    add_linear(block + "attn.qkv", 3 * dim, dim, config.qkv_bias);
    add_linear(block + "attn.proj", dim, dim, true);
    add_norm(block + "norm2");
    add_linear(block + "mlp.fc1", mlp, dim, true);
    add_linear(block + "mlp.fc2", dim, mlp, true);
  }
  add_norm(config.fc_norm ? "fc_norm" : "norm");
  if (config.num_classes > 0) add_linear("head", config.num_classes, dim, true);
  if (config.has_distillation_head()) add_linear("head_dist", config.num_classes, dim, true);
  return weights;
}

namespace detail {

// The shape of a canonical weight as stored (HF q, k, v stacked).
inline Shape source_shape(const WeightSource& source) {
  Shape shape = source.parts[0]->shape;
  if (source.parts.size() > 1 && shape.rank() > 0) {
    for (const SafetensorsEntry* part : source.parts)
      if (part->shape != source.parts[0]->shape) return part->shape;  // caller reports the mismatch
    shape[0] *= std::int64_t(source.parts.size());
  }
  return shape;
}

// Architecture from tensor shapes. Everything is read off the weights except the head count, which
// follows the head_dim-64 convention of every published ViT/DeiT (and is an error for other widths).
inline ViTConfig infer_config(const std::map<std::string, WeightSource>& weights, CheckpointNaming naming,
                              const std::string& source) {
  const auto shape_of = [&](const std::string& name) -> std::optional<Shape> {
    auto found = weights.find(name);
    if (found == weights.end()) return std::nullopt;
    return source_shape(found->second);
  };
  const auto require = [&](const std::string& name, int rank) {
    const std::optional<Shape> shape = shape_of(name);
    VIT_CHECK(shape.has_value(), source, ": cannot infer the architecture: no '", name, "' tensor");
    VIT_CHECK(shape->rank() == rank, source, ": cannot infer the architecture: '", name, "' has shape ", *shape,
              ", expected rank ", rank);
    return *shape;
  };
  ViTConfig config;
  config.name = concat("inferred from ", source);
  const Shape patch_weight = require("patch_embed.proj.weight", 4);
  VIT_CHECK(patch_weight[2] == patch_weight[3], source, ": non-square patches ", patch_weight, " are not supported");
  config.embed_dim = int(patch_weight[0]);
  config.in_channels = int(patch_weight[1]);
  config.patch_size = int(patch_weight[2]);
  config.class_token = weights.count("cls_token") > 0;
  config.distillation_token = weights.count("dist_token") > 0;
  config.distillation_head = weights.count("head_dist.weight") > 0;
  config.depth = 0;
  while (weights.count(concat("blocks.", config.depth, ".norm1.weight"))) ++config.depth;
  VIT_CHECK(config.depth > 0, source, ": cannot infer the architecture: no transformer blocks");
  config.mlp_dim = int(require("blocks.0.mlp.fc1.weight", 2)[0]);
  config.qkv_bias = weights.count("blocks.0.attn.qkv.bias") > 0;
  config.fc_norm = weights.count("fc_norm.weight") > 0;
  config.pooling = config.fc_norm ? Pooling::Mean : Pooling::ClassToken;
  config.num_classes = weights.count("head.weight") ? int(require("head.weight", 2)[0]) : 0;
  const Shape position = require("pos_embed", 3);
  const std::int64_t patches = position[1] - config.num_prefix_tokens();
  const auto grid = std::int64_t(std::llround(std::sqrt(double(std::max<std::int64_t>(patches, 0)))));
  VIT_CHECK(patches > 0 && grid * grid == patches, source, ": pos_embed ", position, " does not hold a square grid after ",
            config.num_prefix_tokens(), " prefix tokens");
  config.image_size = int(grid) * config.patch_size;
  config.num_heads = conventional_num_heads(config.embed_dim);
  VIT_CHECK(config.num_heads > 0, source, ": cannot infer the number of attention heads for embed_dim ",
            config.embed_dim, " (only the standard widths 192/384/768/1024 are known); pass a ViTConfig");
  config.layer_norm_eps = naming == CheckpointNaming::Timm ? 1e-6f : 1e-12f;
  config.pos_embed_resampling =
      naming == CheckpointNaming::Timm ? PosEmbedResampling::BicubicAntialias : PosEmbedResampling::Bicubic;
  config.validate();
  return config;
}

}  // namespace detail

// A checkpoint is a .safetensors file, or a folder holding model.safetensors (the layout timm's
// save_for_hf, Hugging Face's save_pretrained and vit::train::save_checkpoint write). The weights file:
inline std::filesystem::path checkpoint_weights_file(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_directory(path, error)) return path;
  const std::filesystem::path weights = std::filesystem::path(path) / "model.safetensors";
  VIT_CHECK(std::filesystem::exists(weights, error), path, ": the folder holds no model.safetensors");
  return weights;
}

// The folder whose config.json and preprocessor_config.json describe the checkpoint at `path`.
inline std::filesystem::path checkpoint_folder(const std::string& path) {
  std::error_code error;
  return std::filesystem::is_directory(path, error) ? std::filesystem::path(path) : std::filesystem::path(path).parent_path();
}

}  // namespace vit
