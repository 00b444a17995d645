// Saving what was trained so that everyone can load it, and the training state so that a run can resume.
//
// save_checkpoint(model, folder) writes a timm checkpoint folder, the layout timm's save_for_hf writes:
//   model.safetensors          every weight under timm's names and shapes (vit's canonical ones), F32,
//                              __metadata__ {"format": "pt"}
//   config.json                timm's hub config (see model/timm_config.hpp): architecture, model_args,
//                              pretrained_cfg (preprocessing), label_names
//   preprocessor_config.json   the TimmWrapperImageProcessor config for readers that look for this file
// It loads in vit::load_model(folder) (and classify/rollout --model folder, which print the label names), in
// timm (create_model('local-dir:folder'), or create_model(architecture, num_classes=N, **model_args) +
// load_state_dict(strict=True)) and in transformers (AutoModelForImageClassification.from_pretrained(folder),
// pipeline("image-classification", model=folder)); tests/test_checkpoint.cpp and
// tools/make_checkpoint_fixtures.py prove it.
//
// save_tensors / load_tensors keep any named float tensors with string metadata (optimizer moments, step
// count, RNG state) in one safetensors file with a CRC-32 of its data, so that a corrupt or truncated
// resume file is a clear vit::Error rather than a silently different run.
//
// Every file is written under a temporary name, flushed, and renamed over its target only when all files
// of the save are complete (io/atomic_file.hpp): a failed save leaves what was there before untouched.
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/io/atomic_file.hpp"
#include "vit/io/safetensors.hpp"
#include "vit/io/safetensors_write.hpp"
#include "vit/model/checkpoint.hpp"
#include "vit/model/config.hpp"
#include "vit/model/timm_config.hpp"
#include "vit/model/vision_transformer.hpp"

namespace vit::train {

struct CheckpointOptions {
  // Class names in index order (Fashion-MNIST's, an image folder's sorted sub-folders); empty: none saved.
  std::vector<std::string> labels;
  // The preprocessing the model expects (its pretrained_cfg); default: vit::default_data_config(config).
  std::optional<TimmDataConfig> data;
  // A timm architecture name; empty: one is chosen from the sizes (model_args spell them all out anyway).
  std::string architecture;
  // Extra __metadata__ entries for model.safetensors ("format": "pt" is always there).
  std::map<std::string, std::string> metadata;
};

namespace detail {

// Every weight the config needs, with its shape, and nothing else; all finite, so that a diverged run
// cannot overwrite a good checkpoint with NaNs.
inline void check_checkpoint_weights(const ViTConfig& config, const std::map<std::string, TensorView<const float>>& weights,
                                     const std::string& folder) {
  std::set<std::string> expected;
  for (const ExpectedWeight& weight : expected_weights(config)) {
    expected.insert(weight.name);
    const auto found = weights.find(weight.name);
    VIT_CHECK(found != weights.end(), folder, ": cannot save: no weight '", weight.name, "'");
    VIT_CHECK(found->second.shape() == weight.shape, folder, ": cannot save: weight '", weight.name, "' has shape ",
              found->second.shape(), ", expected ", weight.shape);
    VIT_CHECK(found->second.device() == Device::CPU && (weight.shape.numel() == 0 || found->second.data() != nullptr),
              folder, ": cannot save: weight '", weight.name, "' is not in host memory");
    const float* values = found->second.data();
    for (std::int64_t i = 0; i < weight.shape.numel(); ++i)
      VIT_CHECK(std::isfinite(values[i]), folder, ": cannot save: weight '", weight.name, "' holds ", values[i],
                " at index ", i, " (the run diverged?); nothing was written");
  }
  for (const auto& [name, view] : weights)
    VIT_CHECK(expected.count(name), folder, ": cannot save: unexpected weight '", name, "' (config '", config.name, "')");
}

constexpr const char* kChecksumKey = "vit.crc32";

// CRC-32 of the data section as the tensors would be laid out.
inline std::uint32_t data_checksum(const std::map<std::string, SafetensorsView>& tensors, const std::string& path) {
  const vit::detail::SafetensorsPlan plan = vit::detail::plan_safetensors(tensors, {}, path);
  std::uint32_t crc = 0;
  const std::vector<ByteSpan> chunks = vit::detail::safetensors_chunks(plan);
  for (std::size_t i = 1; i < chunks.size(); ++i) crc = vit::detail::crc32(chunks[i].data, chunks[i].size, crc);
  return crc;
}

}  // namespace detail

// Writes `folder` (created when missing) as a timm checkpoint folder; see the top of this file.
// weights: every tensor of vit::expected_weights(config), by canonical (timm) name and shape.
// Throws vit::Error, having changed nothing on disk, for missing, extra, mis-shaped or non-finite weights, a
// model timm cannot build (see vit::timm_config_json), labels that do not fit, or a failed write.
inline void save_checkpoint(const ViTConfig& config, const std::map<std::string, TensorView<const float>>& weights,
                            const std::string& folder, const CheckpointOptions& options = {}) {
  detail::check_checkpoint_weights(config, weights, folder);
  const TimmDataConfig data = options.data ? *options.data : default_data_config(config);
  nlohmann::ordered_json config_json;
  try {
    config_json = timm_config_json(config, data, options.labels, options.architecture);
  } catch (const Error& error) {
    vit::detail::fail(folder, ": cannot save: ", error.what());
  }
  const auto text = [&](const nlohmann::ordered_json& json) {
    try {
      return json.dump(2) + "\n";
    } catch (const nlohmann::json::exception& error) {  // a label that is not valid UTF-8
      vit::detail::fail(folder, ": cannot save: a label is not valid UTF-8 (", error.what(), ")");
    }
  };
  const std::string config_text = text(config_json);
  const std::string preprocessor_text = text(timm_preprocessor_json(config_json));

  std::error_code error;
  std::filesystem::create_directories(folder, error);
  VIT_CHECK(!error && std::filesystem::is_directory(folder), folder, ": cannot create the checkpoint folder (",
            error ? error.message() : std::string("a file has that name"), ")");
  const std::filesystem::path path(folder);
  std::map<std::string, SafetensorsView> tensors;
  for (const auto& [name, view] : weights) tensors.emplace(name, SafetensorsView(view));
  StagedFiles files;  // nothing replaces an existing file until all three are written
  stage_safetensors(files, (path / "model.safetensors").string(), tensors, options.metadata);
  files.stage((path / "config.json").string(), config_text);
  files.stage((path / "preprocessor_config.json").string(), preprocessor_text);
  files.commit();
}

inline void save_checkpoint(const Model& model, const std::string& folder, const CheckpointOptions& options = {}) {
  std::map<std::string, TensorView<const float>> weights;
  for (const ExpectedWeight& weight : expected_weights(model.config())) weights.emplace(weight.name, model.weight(weight.name));
  save_checkpoint(model.config(), weights, folder, options);
}

// Named float tensors and string metadata read back by load_tensors.
struct TensorFile {
  std::string source;
  std::map<std::string, Tensor<float>> tensors;
  std::map<std::string, std::string> metadata;  // as saved (without the checksum entry)

  // The tensor `name`, which must have `shape`: a resume file from another model or run is an error
  // naming the tensor, never a silent mix-up.
  const Tensor<float>& at(const std::string& name, const Shape& shape) const {
    const auto found = tensors.find(name);
    VIT_CHECK(found != tensors.end(), source, ": no tensor '", name, "'");
    VIT_CHECK(found->second.shape() == shape, source, ": tensor '", name, "' has shape ", found->second.shape(),
              ", expected ", shape);
    return found->second;
  }

  const std::string& text(const std::string& key) const {
    const auto found = metadata.find(key);
    VIT_CHECK(found != metadata.end(), source, ": no metadata entry '", key, "'");
    return found->second;
  }
};

// Writes tensors and metadata to `path` atomically, with a CRC-32 of the data ("vit.crc32" in the metadata).
inline void save_tensors(const std::string& path, const std::map<std::string, TensorView<const float>>& tensors,
                         const std::map<std::string, std::string>& metadata = {}) {
  VIT_CHECK(!metadata.count(detail::kChecksumKey), path, ": the metadata key '", detail::kChecksumKey, "' is reserved");
  std::map<std::string, SafetensorsView> views;
  for (const auto& [name, view] : tensors) {
    VIT_CHECK(view.device() == Device::CPU, path, ": tensor '", name, "' is not in host memory");
    views.emplace(name, SafetensorsView(view));
  }
  std::map<std::string, std::string> with_checksum = metadata;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", unsigned(detail::data_checksum(views, path)));
  with_checksum[detail::kChecksumKey] = hex;
  write_safetensors(path, views, with_checksum);
}

// Reads a file written by save_tensors (or any safetensors file of float tensors). Throws vit::Error naming
// the file for a truncated or malformed file, a checksum that does not match the data, or a tensor that is
// not F32/F16/BF16.
inline TensorFile load_tensors(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  TensorFile result;
  result.source = path;
  result.metadata = file.metadata();
  const auto stored = result.metadata.find(detail::kChecksumKey);
  if (stored != result.metadata.end()) {
    std::uint32_t crc = 0;
    for (const SafetensorsEntry& entry : file.entries())  // in data order, tiling the data section
      crc = vit::detail::crc32(file.bytes(entry), std::size_t(entry.end - entry.begin), crc);
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", unsigned(crc));
    VIT_CHECK(stored->second == hex, path, ": the data does not match its checksum (stored ", stored->second,
              ", computed ", hex, "): the file is corrupt");
    result.metadata.erase(stored);
  }
  for (const SafetensorsEntry& entry : file.entries()) {
    VIT_CHECK(entry.float_dtype().has_value(), path, ": tensor '", entry.name, "' has dtype ", entry.dtype,
              "; only float tensors (F32, F16, BF16) can be loaded");
    result.tensors.emplace(entry.name, file.read_float(entry));
  }
  return result;
}

}  // namespace vit::train
