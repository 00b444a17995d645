// What a checkpoint says about its inputs and outputs: the preprocessing it expects (the HF
// preprocessor_config.json beside HF weights, the pretrained_cfg of timm's config.json beside timm weights,
// or the pretrained defaults of the timm model family) and its class names.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vit/io/preprocess.hpp"
#include "vit/io/read_file.hpp"
#include "vit/model/checkpoint.hpp"
#include "vit/model/classification.hpp"
#include "vit/model/config.hpp"
#include "vit/model/timm_config.hpp"

namespace vit {

constexpr std::array<float, 3> kImagenetMean{0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kImagenetStd{0.229f, 0.224f, 0.225f};
constexpr std::array<float, 3> kHalf{0.5f, 0.5f, 0.5f};

// timm's pretrained settings for a config: vit_* presets (Google's AugReg weights) use mean/std 0.5 and
// crop_pct 0.9; DeiT — and any other config, including ones inferred from a checkpoint — use the
// ImageNet mean/std and crop_pct 0.875. At 384 pixels both use crop_pct 1.0. Bicubic throughout.
inline Preprocessing default_preprocessing(const ViTConfig& config) {
  VIT_CHECK(config.in_channels == 3, "config '", config.name, "': there is no default preprocessing for ",
            config.in_channels, "-channel images; their mean and std come from the data");
  const bool google_vit = config.name.rfind("vit_", 0) == 0;
  const double crop_pct = config.image_size >= 384 ? 1.0 : google_vit ? 0.9 : 0.875;
  return timm_preprocessing(config.image_size, crop_pct, google_vit ? kHalf : kImagenetMean,
                            google_vit ? kHalf : kImagenetStd);
}

namespace detail {

// config.json beside the checkpoint at `path` when it is timm's; nothing otherwise.
inline std::optional<nlohmann::json> timm_config_beside(const std::string& path) {
  const std::filesystem::path config_path = checkpoint_folder(path) / "config.json";
  if (!std::filesystem::exists(config_path)) return std::nullopt;
  nlohmann::json json = read_json_file(config_path.string());
  if (!is_timm_config(json)) return std::nullopt;
  return json;
}

}  // namespace detail

namespace detail {

// preprocessing_for_checkpoint without its check of the channels.
inline Preprocessing checkpoint_preprocessing(const std::string& weights_path, const ViTConfig& config,
                                              CheckpointNaming naming) {
  const std::filesystem::path folder = checkpoint_folder(weights_path);
  if (naming == CheckpointNaming::Timm) {
    const std::string source = (folder / "config.json").string();
    if (const auto json = timm_config_beside(weights_path))
      return preprocessing_from_timm_data(data_config_from_timm_json(*json, config, source), source);
    return default_preprocessing(config);
  }
  const std::filesystem::path json_path = folder / "preprocessor_config.json";
  if (std::filesystem::exists(json_path)) {
    const nlohmann::json json = read_json_file(json_path.string());
    if (json.is_object() && json.value("image_processor_type", std::string()) == "TimmWrapperImageProcessor")
      return preprocessing_from_timm_data(data_config_from_timm_json(json, config, json_path.string()),
                                          json_path.string());
    return preprocessing_from_hf_json(json, json_path.string());
  }
  nlohmann::json defaults = {{"image_processor_type", config.distillation_token ? "DeiTImageProcessor" : "ViTImageProcessor"}};
  if (!config.distillation_token) defaults["size"] = {{"height", config.image_size}, {"width", config.image_size}};
  return preprocessing_from_hf_json(defaults, weights_path);
}

}  // namespace detail

// For a checkpoint at `weights_path` (a file or a folder) loaded as (config, naming): timm checkpoints use
// the pretrained_cfg of the timm config.json beside them, or timm's defaults; Hugging Face checkpoints use
// the preprocessor_config.json beside them (a TimmWrapperImageProcessor one is read as timm's), or their
// processor's defaults when there is none. Throws when that preprocessing makes another number of channels
// than the model takes (a 1-channel model has no defaults: its mean and std come from the data).
inline Preprocessing preprocessing_for_checkpoint(const std::string& weights_path, const ViTConfig& config,
                                                  CheckpointNaming naming) {
  const Preprocessing preprocessing = detail::checkpoint_preprocessing(weights_path, config, naming);
  VIT_CHECK(preprocessing.channels == config.in_channels, weights_path, ": its preprocessing makes ",
            preprocessing.channels, "-channel images, the model takes ", config.in_channels);
  return preprocessing;
}

// The class names a checkpoint carries: the id2label of the Hugging Face config.json beside HF weights, or
// the label_names of the timm config.json beside timm weights; empty when there are none.
inline std::vector<std::string> labels_for_checkpoint(const std::string& weights_path, CheckpointNaming naming) {
  const std::filesystem::path config_path = checkpoint_folder(weights_path) / "config.json";
  if (!std::filesystem::exists(config_path)) return {};
  if (naming == CheckpointNaming::HuggingFace) return labels_from_hf_config(config_path.string());
  if (const auto json = detail::timm_config_beside(weights_path)) return labels_from_timm_json(*json, config_path.string());
  return {};
}

}  // namespace vit
