// Reading a Hugging Face config.json (ViTConfig / DeiTConfig) into a vit::ViTConfig.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "vit/core/error.hpp"
#include "vit/io/read_file.hpp"
#include "vit/model/config.hpp"

namespace vit {

// `source` names the JSON in error messages (usually its path).
inline ViTConfig config_from_hf_json(const nlohmann::json& json, const std::string& source) {
  VIT_CHECK(json.is_object(), source, ": a Hugging Face config must be a JSON object");
  const auto integer = [&](const char* key, int fallback) {
    if (!json.contains(key)) return fallback;
    VIT_CHECK(json[key].is_number_integer() && json[key].get<long long>() > 0 && json[key].get<long long>() < (1 << 24),
              source, ": \"", key, "\" must be a positive integer, got ", json[key].dump());
    return json[key].get<int>();
  };
  const std::string model_type = json.value("model_type", std::string("vit"));
  VIT_CHECK(model_type == "vit" || model_type == "deit", source, ": model_type \"", model_type,
            "\" is not a ViT or DeiT model");
  const std::string hidden_act = json.value("hidden_act", std::string("gelu"));
  VIT_CHECK(hidden_act == "gelu", source, ": hidden_act \"", hidden_act, "\" is not supported (only exact \"gelu\")");

  ViTConfig config;
  config.name = source;
  config.embed_dim = integer("hidden_size", 768);
  config.depth = integer("num_hidden_layers", 12);
  config.num_heads = integer("num_attention_heads", 12);
  config.mlp_dim = integer("intermediate_size", 3072);
  config.image_size = integer("image_size", 224);
  config.patch_size = integer("patch_size", 16);
  config.in_channels = integer("num_channels", 3);
  config.layer_norm_eps = 1e-12f;  // the transformers default
  if (json.contains("layer_norm_eps")) {
    VIT_CHECK(json["layer_norm_eps"].is_number(), source, ": \"layer_norm_eps\" must be a number");
    config.layer_norm_eps = json["layer_norm_eps"].get<float>();
  }
  if (json.contains("qkv_bias")) {
    VIT_CHECK(json["qkv_bias"].is_boolean(), source, ": \"qkv_bias\" must be true or false");
    config.qkv_bias = json["qkv_bias"].get<bool>();
  }
  // HF's DeiT embeddings always hold a distillation token; only the "WithTeacher" head reads it.
  config.distillation_token = model_type == "deit";
  config.pos_embed_resampling = PosEmbedResampling::Bicubic;

  std::string architecture;
  if (json.contains("architectures") && json["architectures"].is_array() && !json["architectures"].empty() &&
      json["architectures"][0].is_string())
    architecture = json["architectures"][0].get<std::string>();
  config.distillation_head = architecture == "DeiTForImageClassificationWithTeacher";
  const bool has_head = architecture.find("ForImageClassification") != std::string::npos;
  config.num_classes = 0;
  if (has_head) {
    if (json.contains("id2label") && json["id2label"].is_object()) {
      config.num_classes = int(json["id2label"].size());
    } else {
      config.num_classes = integer("num_labels", 2);  // the transformers default
    }
  }
  config.validate();
  return config;
}

inline ViTConfig load_hf_config(const std::string& path) { return config_from_hf_json(detail::read_json_file(path), path); }

}  // namespace vit
