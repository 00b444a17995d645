// Reading the PyTorch fixtures written by tools/make_fixtures.py (see tests/data/README.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <vit/io/safetensors.hpp>
#include <vit/model/config.hpp>
#include <vit/model/vision_transformer.hpp>

#include "support.hpp"

namespace vit::test {

// The architecture recorded in a fixture's "config" metadata (used for timm-named fixtures, whose
// non-standard width 48 leaves the head count to be stated).
inline ViTConfig fixture_config(const SafetensorsFile& expected) {
  const nlohmann::json json = nlohmann::json::parse(expected.metadata().at("config"));
  ViTConfig config;
  config.name = expected.source();
  config.image_size = json.at("image_size");
  config.patch_size = json.at("patch_size");
  config.in_channels = json.at("in_channels");
  config.embed_dim = json.at("embed_dim");
  config.depth = json.at("depth");
  config.num_heads = json.at("num_heads");
  config.mlp_dim = json.at("mlp_dim");
  config.num_classes = json.at("num_classes");
  config.layer_norm_eps = json.at("layer_norm_eps");
  config.qkv_bias = json.at("qkv_bias");
  config.class_token = json.at("class_token");
  config.distillation_token = json.at("distillation_token");
  config.pooling = json.at("pooling") == "mean" ? Pooling::Mean : Pooling::ClassToken;
  config.fc_norm = json.at("fc_norm");
  return config;
}

// One whole-model fixture: tests/data/NAME.expected.safetensors and the weights it was made with.
struct ModelCase {
  std::string name;     // fixture stem
  std::string weights;  // relative to tests/data
  bool hugging_face;    // HF layout: load_model(path) reads config.json beside the weights
};

inline std::vector<ModelCase> model_cases() {
  return {{"vit_timm", "vit_timm.safetensors", false},
          {"vit_hf", "vit_hf/model.safetensors", true},
          {"deit_distilled_timm", "deit_distilled_timm.safetensors", false},
          {"deit_distilled_hf", "deit_distilled_hf/model.safetensors", true},
          {"vit_timm_resized", "vit_timm.safetensors", false},
          {"vit_hf_resized", "vit_hf/model.safetensors", true},
          {"vit_timm_meanpool", "vit_timm_meanpool.safetensors", false}};
}

inline Model load_model_case(const ModelCase& model_case, const SafetensorsFile& expected) {
  const std::string weights = data_path(model_case.weights);
  return model_case.hugging_face ? load_model(weights) : load_model(weights, fixture_config(expected));
}

}  // namespace vit::test
