// timm's checkpoint folder config: the config.json that timm.models.save_for_hf / push_to_hf_hub write beside
// model.safetensors, which timm.create_model('local-dir:FOLDER') and transformers' TimmWrapper read back.
//
//   {"architecture": "vit_tiny_patch16_224", "num_classes": 10, "num_features": 192, "global_pool": "token",
//    "label_names": ["T-shirt/top", ...],
//    "model_args": {"img_size": [28, 28], "patch_size": 4, "in_chans": 1, "embed_dim": 64, ...},
//    "pretrained_cfg": {"input_size": [3, 224, 224], "interpolation": "bicubic", "crop_pct": 0.875,
//                       "crop_mode": "center", "mean": [...], "std": [...], "num_classes": 10, ...}}
//
// timm builds the model as create_model(architecture, num_classes=num_classes, **model_args): the
// architecture's own arguments, overridden by model_args. transformers calls
// create_model(architecture, num_classes=num_labels, **model_args), so model_args must not repeat
// num_classes (timm 1.0.31's own save_for_hf puts it there, and transformers 5.23 then fails with "got
// multiple values for keyword argument 'num_classes'"); the writer here leaves it out, the reader takes
// either. A file counts as a timm config when it has "pretrained_cfg", the test transformers uses.
//
// The preprocessing is timm's eval transform for pretrained_cfg (timm.data.resolve_data_config +
// transforms_imagenet_eval): resize to floor(size / crop_pct) (crop_mode "center": the short side;
// "squash": both sides), centre crop `size`, normalise with mean/std.
#pragma once

#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vit/core/error.hpp"
#include "vit/io/preprocess.hpp"
#include "vit/io/read_file.hpp"
#include "vit/model/config.hpp"

namespace vit {

// The preprocessing fields of timm's pretrained_cfg, with timm's defaults (resolve_data_config).
struct TimmDataConfig {
  int in_chans = 3;
  int image_size = 224;                  // input_size [in_chans, image_size, image_size]
  std::string interpolation = "bicubic";  // "bicubic" or "bilinear"
  std::vector<double> mean{0.485, 0.456, 0.406};  // one value per channel
  std::vector<double> std{0.229, 0.224, 0.225};
  double crop_pct = 0.875;
  std::string crop_mode = "center";  // "center" or "squash"
};

namespace detail {

// vit_{tiny,small,base,large}_patch{P}_{I} and deit_{tiny,small,base}[_distilled]_patch{P}_{I}: the timm
// architectures whose blocks are the plain pre-norm ViT vit computes (no CLIP pre-norm, registers, layer
// scale, RoPE, ...). Returns the architecture's defaults, or nothing for any other name.
inline std::optional<ViTConfig> timm_architecture_defaults(std::string_view architecture) {
  const auto take_number = [](std::string_view& text) -> int {
    std::size_t digits = 0;
    while (digits < text.size() && digits < 5 && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return 0;
    const int value = std::stoi(std::string(text.substr(0, digits)));
    text.remove_prefix(digits);
    return value;
  };
  std::string_view rest = architecture;
  std::string_view family;
  for (std::string_view candidate : {"vit_", "deit_"})
    if (rest.substr(0, candidate.size()) == candidate) family = candidate.substr(0, candidate.size() - 1);
  if (family.empty()) return std::nullopt;
  rest.remove_prefix(family.size() + 1);
  for (const PresetSize& size : kPresetSizes) {
    if (rest.substr(0, size.size.size() + 1) != concat(size.size, "_")) continue;
    rest.remove_prefix(size.size.size() + 1);
    const bool distilled = family == "deit" && rest.substr(0, 10) == "distilled_";
    if (distilled) rest.remove_prefix(10);
    if (rest.substr(0, 5) != "patch") return std::nullopt;
    rest.remove_prefix(5);
    const int patch = take_number(rest);
    if (patch == 0 || rest.substr(0, 1) != "_") return std::nullopt;
    rest.remove_prefix(1);
    const int image = take_number(rest);
    if (image == 0 || !rest.empty()) return std::nullopt;
    return make_preset(family, size, distilled, patch, image);
  }
  return std::nullopt;
}

// An integer, or a pair of equal integers ([28, 28]: timm writes sizes as pairs).
inline int timm_square(const nlohmann::json& value, const std::string& source, const char* key) {
  const auto positive = [&](const nlohmann::json& number) {
    VIT_CHECK(number.is_number_integer() && number.get<long long>() > 0 && number.get<long long>() < (1 << 20), source,
              ": \"", key, "\" must be a positive integer or a pair of them, got ", value.dump());
    return number.get<int>();
  };
  if (!value.is_array()) return positive(value);
  VIT_CHECK(value.size() == 2, source, ": \"", key, "\" must be an integer or [height, width], got ", value.dump());
  const int height = positive(value[0]), width = positive(value[1]);
  VIT_CHECK(height == width, source, ": \"", key, "\" ", value.dump(), " is not square; vit supports square ones only");
  return height;
}

}  // namespace detail

// Whether a parsed config.json is timm's (transformers' test: it has "pretrained_cfg").
inline bool is_timm_config(const nlohmann::json& json) {
  return json.is_object() && json.contains("pretrained_cfg") && json["pretrained_cfg"].is_object();
}

// The architecture a timm config describes. Throws vit::Error naming `source` and the field for anything
// vit cannot compute as timm does (another architecture, registers, layer scale, non-square sizes, ...).
inline ViTConfig config_from_timm_json(const nlohmann::json& json, const std::string& source) {
  VIT_CHECK(is_timm_config(json), source, ": not a timm config (no \"pretrained_cfg\" object)");
  VIT_CHECK(json.contains("architecture") && json["architecture"].is_string(), source,
            ": \"architecture\" must be a string");
  const std::string architecture = json["architecture"].get<std::string>();
  std::optional<ViTConfig> defaults = detail::timm_architecture_defaults(architecture);
  VIT_CHECK(defaults.has_value(), source, ": architecture \"", architecture,
            "\" is not one vit computes (vit_{tiny,small,base,large}_patchP_I or deit_{tiny,small,base}[_distilled]_patchP_I)");
  ViTConfig config = *defaults;
  config.name = architecture;
  config.layer_norm_eps = 1e-6f;  // timm's ViT LayerNorms
  config.pos_embed_resampling = PosEmbedResampling::BicubicAntialias;
  config.distillation_head = config.distillation_token;  // VisionTransformerDistilled always has head_dist

  const nlohmann::json args = json.value("model_args", nlohmann::json::object());
  VIT_CHECK(args.is_object(), source, ": \"model_args\" must be an object");
  const auto where = [&](const std::string& key) { return detail::concat(source, ": model_args \"", key, "\""); };
  const auto integer = [&](const std::string& key, const nlohmann::json& value, long long min) {
    VIT_CHECK(value.is_number_integer() && value.get<long long>() >= min && value.get<long long>() < (1 << 24),
              where(key), " must be an integer of at least ", min, ", got ", value.dump());
    return value.get<int>();
  };
  const auto boolean = [&](const std::string& key, const nlohmann::json& value) {
    VIT_CHECK(value.is_boolean(), where(key), " must be true or false, got ", value.dump());
    return value.get<bool>();
  };

  // num_classes: model_args wins over the top level, as create_model's keyword arguments do.
  if (json.contains("num_classes")) config.num_classes = integer("num_classes", json["num_classes"], 0);
  double mlp_ratio = double(config.mlp_dim) / config.embed_dim;
  std::string global_pool = "token";
  std::optional<bool> fc_norm;
  for (const auto& [key, value] : args.items()) {
    if (key == "img_size") config.image_size = detail::timm_square(value, source, "model_args.img_size");
    else if (key == "patch_size") config.patch_size = detail::timm_square(value, source, "model_args.patch_size");
    else if (key == "in_chans") config.in_channels = integer(key, value, 1);
    else if (key == "num_classes") config.num_classes = integer(key, value, 0);
    else if (key == "embed_dim") config.embed_dim = integer(key, value, 1);
    else if (key == "depth") config.depth = integer(key, value, 1);
    else if (key == "num_heads") config.num_heads = integer(key, value, 1);
    else if (key == "qkv_bias") config.qkv_bias = boolean(key, value);
    else if (key == "class_token") config.class_token = boolean(key, value);
    else if (key == "fc_norm") fc_norm = value.is_null() ? std::nullopt : std::optional<bool>(boolean(key, value));
    else if (key == "mlp_ratio") {
      VIT_CHECK(value.is_number() && value.get<double>() > 0, where(key), " must be a positive number, got ", value.dump());
      mlp_ratio = value.get<double>();
    } else if (key == "global_pool") {
      VIT_CHECK(value.is_string(), where(key), " must be a string, got ", value.dump());
      global_pool = value.get<std::string>();
    } else if (key == "dynamic_img_size" || key == "weight_init" || key == "fix_init" ||
               (key.size() >= 9 && key.compare(key.size() - 9, 9, "drop_rate") == 0)) {
      // dynamic_img_size: vit resamples the positional embedding for any input size anyway. Initialisation
      // and dropout change nothing in an evaluated model.
    } else {
      // Arguments that change nothing when they have timm's default value.
      const bool harmless = (key == "no_embed_class" && value == false) || (key == "reg_tokens" && value == 0) ||
                            (key == "pre_norm" && value == false) || (key == "final_norm" && value == true) ||
                            (key == "qk_norm" && value == false) || (key == "init_values" && value.is_null()) ||
                            (key == "proj_bias" && value == true) || (key == "dynamic_img_pad" && value == false) ||
                            (key == "scale_attn_norm" && value == false) || (key == "scale_mlp_norm" && value == false) ||
                            (key == "pos_embed" && value == "learn") || (key == "pool_include_prefix" && value == false) ||
                            ((key == "norm_layer" || key == "act_layer" || key == "embed_norm_layer") && value.is_null());
      VIT_CHECK(harmless, where(key), " = ", value.dump(), " is not supported by vit");
    }
  }
  // timm's Mlp: hidden_features = int(dim * mlp_ratio), truncated as Python's int() does.
  config.mlp_dim = int(double(config.embed_dim) * mlp_ratio);
  VIT_CHECK(global_pool == "token" || global_pool == "avg", source, ": global_pool \"", global_pool,
            "\" is not supported (\"token\" and \"avg\" are)");
  config.pooling = global_pool == "avg" ? Pooling::Mean : Pooling::ClassToken;
  config.fc_norm = fc_norm.value_or(global_pool == "avg");  // timm: fc_norm None means global_pool == 'avg'
  try {
    config.validate();
  } catch (const Error& error) {
    detail::fail(source, ": ", error.what());
  }
  return config;
}

inline ViTConfig load_timm_config(const std::string& path) {
  return config_from_timm_json(detail::read_json_file(path), path);
}

// pretrained_cfg's preprocessing, with timm's defaults for what it leaves out. `config` gives the input
// size when pretrained_cfg has none.
inline TimmDataConfig data_config_from_timm_json(const nlohmann::json& json, const ViTConfig& config,
                                                 const std::string& source) {
  VIT_CHECK(is_timm_config(json), source, ": not a timm config (no \"pretrained_cfg\" object)");
  const nlohmann::json& cfg = json["pretrained_cfg"];
  const auto where = [&](const char* key) { return detail::concat(source, ": pretrained_cfg \"", key, "\""); };
  TimmDataConfig data;
  data.in_chans = config.in_channels;
  data.image_size = config.image_size;
  if (cfg.contains("input_size") && !cfg["input_size"].is_null()) {
    const nlohmann::json& size = cfg["input_size"];
    VIT_CHECK(size.is_array() && size.size() == 3 && size[0].is_number_integer(), where("input_size"),
              " must be [channels, height, width], got ", size.dump());
    data.in_chans = size[0].get<int>();
    data.image_size = detail::timm_square(nlohmann::json{size[1], size[2]}, source, "pretrained_cfg.input_size");
  }
  if (cfg.contains("interpolation") && !cfg["interpolation"].is_null()) {
    VIT_CHECK(cfg["interpolation"].is_string(), where("interpolation"), " must be a string");
    data.interpolation = cfg["interpolation"].get<std::string>();
  }
  const auto per_channel = [&](const char* key, std::vector<double>& out) {
    if (!cfg.contains(key) || cfg[key].is_null()) return;
    const nlohmann::json& value = cfg[key];
    VIT_CHECK(value.is_array() && !value.empty(), where(key), " must be a list of numbers, got ", value.dump());
    out.clear();
    for (const nlohmann::json& number : value) {
      VIT_CHECK(number.is_number(), where(key), " must hold numbers, got ", value.dump());
      out.push_back(number.get<double>());
    }
  };
  per_channel("mean", data.mean);
  per_channel("std", data.std);
  if (cfg.contains("crop_pct") && !cfg["crop_pct"].is_null()) {
    VIT_CHECK(cfg["crop_pct"].is_number(), where("crop_pct"), " must be a number");
    if (cfg["crop_pct"].get<double>() != 0) data.crop_pct = cfg["crop_pct"].get<double>();  // timm: 0 means default
  }
  if (cfg.contains("crop_mode") && !cfg["crop_mode"].is_null()) {
    VIT_CHECK(cfg["crop_mode"].is_string(), where("crop_mode"), " must be a string");
    data.crop_mode = cfg["crop_mode"].get<std::string>();
  }
  return data;
}

// timm's eval transform as vit preprocessing. Throws for what vit's preprocessing cannot do (an
// interpolation other than bicubic/bilinear, crop_mode "border", a number of channels other than 1 or 3).
// One channel: the image as PIL's convert("L") makes it, as timm loads images for such a model.
inline Preprocessing preprocessing_from_timm_data(const TimmDataConfig& data, const std::string& source) {
  VIT_CHECK(data.interpolation == "bicubic" || data.interpolation == "bilinear", source, ": interpolation \"",
            data.interpolation, "\" is not supported (bicubic and bilinear are)");
  VIT_CHECK(data.crop_mode == "center" || data.crop_mode == "squash", source, ": crop_mode \"", data.crop_mode,
            "\" is not supported (center and squash are)");
  VIT_CHECK(data.in_chans == 3 || data.in_chans == 1, source, ": the model takes ", data.in_chans,
            "-channel images; vit's image preprocessing makes RGB (3 channels) or grey (1 channel)");
  VIT_CHECK(data.crop_pct > 0 && data.crop_pct <= 1 && data.image_size > 0, source, ": crop_pct ", data.crop_pct,
            " must be in (0, 1]");
  // timm's Normalize broadcasts a single value over the channels.
  const auto as_float = [&](const std::vector<double>& values, const char* what) {
    VIT_CHECK(values.size() == std::size_t(data.in_chans) || values.size() == 1, source, ": ", what, " has ",
              values.size(), " values for ", data.in_chans, " channels");
    const auto at = [&](std::size_t c) { return float(values[values.size() == 1 ? 0 : c]); };
    return std::array<float, 3>{at(0), at(1), at(2)};
  };
  const Interpolation interpolation = data.interpolation == "bilinear" ? Interpolation::Bilinear : Interpolation::Bicubic;
  Preprocessing preprocessing =
      timm_preprocessing(data.image_size, data.crop_pct, as_float(data.mean, "mean"), as_float(data.std, "std"), interpolation);
  preprocessing.channels = data.in_chans;
  if (data.crop_mode == "squash") {  // torchvision Resize((s, s)): both sides, then the same centre crop
    preprocessing.resize = ResizeMode::Exact;
    preprocessing.resize_height = preprocessing.resize_width = preprocessing.resize_short;
  }
  return preprocessing;
}

// Class names from a timm config: "label_names" (a list, or {"0": name, ...}), else pretrained_cfg's;
// empty when it has none.
inline std::vector<std::string> labels_from_timm_json(const nlohmann::json& json, const std::string& source) {
  const nlohmann::json* names = nullptr;
  if (json.contains("label_names")) names = &json["label_names"];
  else if (is_timm_config(json) && json["pretrained_cfg"].contains("label_names"))
    names = &json["pretrained_cfg"]["label_names"];
  if (names == nullptr || names->is_null()) return {};
  std::vector<std::string> labels;
  if (names->is_array()) {
    for (const nlohmann::json& name : *names) {
      VIT_CHECK(name.is_string(), source, ": label_names must hold strings, got ", name.dump());
      labels.push_back(name.get<std::string>());
    }
    return labels;
  }
  VIT_CHECK(names->is_object(), source, ": label_names must be a list or an object");
  labels.resize(names->size());
  for (const auto& [key, value] : names->items()) {
    std::size_t used = 0;
    long index = -1;
    try {
      index = std::stol(key, &used);
    } catch (const std::exception&) {
    }
    VIT_CHECK(used == key.size() && index >= 0 && std::size_t(index) < labels.size() && value.is_string(), source,
              ": label_names entry \"", key, "\" is not a class index below ", labels.size(), " with a string name");
    labels[std::size_t(index)] = value.get<std::string>();
  }
  return labels;
}

// timm's pretrained preprocessing for a config, as default_preprocessing() applies it: vit_* presets (Google's
// AugReg weights) mean/std 0.5 and crop_pct 0.9; DeiT and any other config the ImageNet mean/std and 0.875;
// 1.0 at 384 pixels and more. Bicubic, centre crop. Throws for other than 3 channels, whose mean and std
// only the data can tell.
inline TimmDataConfig default_data_config(const ViTConfig& config) {
  VIT_CHECK(config.in_channels == 3, "config '", config.name, "': there is no default normalisation for ",
            config.in_channels, "-channel images; give the mean and std of the data");
  const bool google_vit = config.name.rfind("vit_", 0) == 0;
  TimmDataConfig data;
  data.in_chans = config.in_channels;
  data.image_size = config.image_size;
  data.crop_pct = config.image_size >= 384 ? 1.0 : google_vit ? 0.9 : 0.875;
  if (google_vit) data.mean = data.std = {0.5, 0.5, 0.5};
  return data;
}

namespace detail {

// A registered timm architecture for the config: `requested` when given (it must be a ViT/DeiT name of the
// same kind), else the vit preset with exactly these sizes, else timm's vit_tiny_patch16_224 or
// deit_tiny_distilled_patch16_224. model_args spell out every size, so the name only selects timm's class
// (VisionTransformer or VisionTransformerDistilled).
inline std::string timm_architecture_for(const ViTConfig& config, const std::string& requested) {
  if (!requested.empty()) {
    const std::optional<ViTConfig> defaults = timm_architecture_defaults(requested);
    VIT_CHECK(defaults.has_value(), "architecture \"", requested, "\" is not a timm ViT/DeiT name vit knows");
    VIT_CHECK(defaults->distillation_token == config.distillation_token, "architecture \"", requested, "\" ",
              defaults->distillation_token ? "is" : "is not", " a distilled DeiT, but the model ",
              config.distillation_token ? "has" : "has no", " distillation token");
    return requested;
  }
  for (const ViTConfig& preset : all_presets()) {
    const bool registered = preset.name.rfind("vit_tiny_patch32", 0) != 0;  // the one preset timm lacks
    if (registered && preset.embed_dim == config.embed_dim && preset.depth == config.depth &&
        preset.num_heads == config.num_heads && preset.mlp_dim == config.mlp_dim &&
        preset.patch_size == config.patch_size && preset.image_size == config.image_size &&
        preset.distillation_token == config.distillation_token)
      return preset.name;
  }
  return config.distillation_token ? "deit_tiny_distilled_patch16_224" : "vit_tiny_patch16_224";
}

}  // namespace detail

// The config.json of a timm checkpoint folder (see the top of this file). labels: one name per class, or
// none. architecture: a timm name, or empty to choose one (detail::timm_architecture_for). Throws when timm
// cannot build this model: LayerNorm eps other than timm's 1e-6, a distillation token without its head, an
// MLP width no mlp_ratio gives, labels or preprocessing that do not fit the model.
inline nlohmann::ordered_json timm_config_json(const ViTConfig& config, const TimmDataConfig& data,
                                               const std::vector<std::string>& labels,
                                               const std::string& architecture = "") {
  config.validate();
  const auto where = [&] { return detail::concat("timm config for '", config.name, "'"); };
  VIT_CHECK(config.layer_norm_eps == 1e-6f, where(), ": LayerNorm eps ", config.layer_norm_eps,
            " cannot be saved: timm's ViT always uses 1e-6 (set config.layer_norm_eps = 1e-6f before training)");
  VIT_CHECK(!config.distillation_token || config.has_distillation_head() || config.num_classes == 0, where(),
            ": a distillation token without a distillation head has no timm architecture");
  const double mlp_ratio = double(config.mlp_dim) / double(config.embed_dim);
  VIT_CHECK(int(double(config.embed_dim) * mlp_ratio) == config.mlp_dim, where(), ": MLP width ", config.mlp_dim,
            " is not int(embed_dim * mlp_ratio) for any mlp_ratio timm could read back");
  VIT_CHECK(labels.empty() || labels.size() == std::size_t(config.num_classes), where(), ": ", labels.size(),
            " labels for ", config.num_classes, " classes");
  VIT_CHECK(data.in_chans == config.in_channels && data.image_size == config.image_size, where(),
            ": the preprocessing makes ", data.in_chans, "x", data.image_size, "x", data.image_size,
            " inputs, the model takes ", config.in_channels, "x", config.image_size, "x", config.image_size);
  const auto per_channel = [&](const std::vector<double>& values) {
    return values.size() == 1 || values.size() == std::size_t(config.in_channels);
  };
  VIT_CHECK(per_channel(data.mean) && per_channel(data.std), where(), ": mean and std need one value per channel (",
            config.in_channels, ") or one for all");
  for (double value : data.std) VIT_CHECK(value > 0, where(), ": a standard deviation is not positive");
  VIT_CHECK(data.interpolation == "bicubic" || data.interpolation == "bilinear", where(), ": interpolation \"",
            data.interpolation, "\" (bicubic or bilinear, what vit reproduces)");
  VIT_CHECK(data.crop_mode == "center" || data.crop_mode == "squash", where(), ": crop_mode \"", data.crop_mode,
            "\" (center or squash, what vit reproduces)");
  VIT_CHECK(data.crop_pct > 0 && data.crop_pct <= 1, where(), ": crop_pct ", data.crop_pct, " must be in (0, 1]");

  const std::string global_pool = config.pooling == Pooling::Mean ? "avg" : "token";
  nlohmann::ordered_json json;
  json["architecture"] = detail::timm_architecture_for(config, architecture);
  json["num_classes"] = config.num_classes;
  json["num_features"] = config.embed_dim;
  json["global_pool"] = global_pool;
  if (!labels.empty()) json["label_names"] = labels;
  json["model_args"] = {{"img_size", {config.image_size, config.image_size}},
                        {"patch_size", config.patch_size},
                        {"in_chans", config.in_channels},
                        {"global_pool", global_pool},
                        {"embed_dim", config.embed_dim},
                        {"depth", config.depth},
                        {"num_heads", config.num_heads},
                        {"mlp_ratio", mlp_ratio},
                        {"qkv_bias", config.qkv_bias},
                        {"class_token", config.class_token},
                        {"fc_norm", config.fc_norm}};
  nlohmann::ordered_json classifier = "head";
  if (config.has_distillation_head()) classifier = nlohmann::ordered_json::array({"head", "head_dist"});
  json["pretrained_cfg"] = {{"custom_load", false},
                            {"input_size", {data.in_chans, data.image_size, data.image_size}},
                            {"fixed_input_size", true},
                            {"interpolation", data.interpolation},
                            {"crop_pct", data.crop_pct},
                            {"crop_mode", data.crop_mode},
                            {"mean", data.mean},
                            {"std", data.std},
                            {"num_classes", config.num_classes},
                            {"first_conv", "patch_embed.proj"},
                            {"classifier", classifier}};
  return json;
}

// The preprocessor_config.json beside it: what transformers' TimmWrapperImageProcessor is built from
// (its architecture and pretrained_cfg). transformers reads config.json itself for a local timm folder;
// this file serves readers that look for preprocessor_config.json first (the Hub, other tools).
inline nlohmann::ordered_json timm_preprocessor_json(const nlohmann::ordered_json& timm_config) {
  return {{"image_processor_type", "TimmWrapperImageProcessor"},
          {"architecture", timm_config.at("architecture")},
          {"pretrained_cfg", timm_config.at("pretrained_cfg")}};
}

}  // namespace vit
