// Which preprocessing a checkpoint expects: the HF preprocessor_config.json beside HF weights, or the
// pretrained defaults of the timm model family.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "vit/io/preprocess.hpp"
#include "vit/model/checkpoint.hpp"
#include "vit/model/config.hpp"

namespace vit {

constexpr std::array<float, 3> kImagenetMean{0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kImagenetStd{0.229f, 0.224f, 0.225f};
constexpr std::array<float, 3> kHalf{0.5f, 0.5f, 0.5f};

// timm's pretrained settings for a config: vit_* presets (Google's AugReg weights) use mean/std 0.5 and
// crop_pct 0.9; DeiT — and any other config, including ones inferred from a checkpoint — use the
// ImageNet mean/std and crop_pct 0.875. At 384 pixels both use crop_pct 1.0. Bicubic throughout.
inline Preprocessing default_preprocessing(const ViTConfig& config) {
  const bool google_vit = config.name.rfind("vit_", 0) == 0;
  const double crop_pct = config.image_size >= 384 ? 1.0 : google_vit ? 0.9 : 0.875;
  return timm_preprocessing(config.image_size, crop_pct, google_vit ? kHalf : kImagenetMean,
                            google_vit ? kHalf : kImagenetStd);
}

// For a checkpoint at `weights_path` loaded as (config, naming): Hugging Face checkpoints use the
// preprocessor_config.json beside them, or their processor's defaults when there is none.
inline Preprocessing preprocessing_for_checkpoint(const std::string& weights_path, const ViTConfig& config,
                                                  CheckpointNaming naming) {
  if (naming == CheckpointNaming::Timm) return default_preprocessing(config);
  const std::filesystem::path json_path = std::filesystem::path(weights_path).parent_path() / "preprocessor_config.json";
  if (std::filesystem::exists(json_path)) return load_hf_preprocessor_config(json_path.string());
  nlohmann::json defaults = {{"image_processor_type", config.distillation_token ? "DeiTImageProcessor" : "ViTImageProcessor"}};
  if (!config.distillation_token) defaults["size"] = {{"height", config.image_size}, {"width", config.image_size}};
  return preprocessing_from_hf_json(defaults, weights_path);
}

}  // namespace vit
