// The benchmarks' models: random weights for a preset (tests/model_builder.hpp), built once and cached, and
// with --export-dir written out with one input and vit's logits for it, so that the Python peers
// (tools/bench_peers.py, tools/bench_explain_peers.py) load the very same weights and check themselves first.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>
#include <vit/vit.hpp>

#include "../tests/model_builder.hpp"
#include "bench_common.hpp"

namespace vit::bench {

inline void write_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) fail("cannot write " + path.string());
}

inline ViTConfig config_for(const std::string& name) {
  return name == "smoke" ? test::small_config() : preset(name);  // smoke: checks code paths, not speed
}

// One model at a time (vit_base's weights are 330 MiB): built on first use, replaced by the next.
inline const Model& model_for(const std::string& name) {
  static std::string cached_name;
  static std::unique_ptr<Model> cached;
  if (cached_name == name) return *cached;
  cached.reset();
  const ViTConfig config = config_for(name);
  const std::vector<std::uint8_t> bytes = test::random_checkpoint(config).encode();
  cached = std::make_unique<Model>(load_model(SafetensorsFile::parse(bytes), config));
  cached_name = name;
  if (!settings().export_dir.empty()) {
    const std::filesystem::path dir = settings().export_dir;
    std::filesystem::create_directories(dir);
    write_file(dir / (name + ".safetensors"), bytes);
    const Tensor<float> input = random_tensor({1, 3, config.image_size, config.image_size}, 9);
    const Tensor<float> logits = cached->forward(input).logits;
    write_file(dir / (name + ".check.safetensors"), encode_safetensors({{"input", input}, {"logits", logits}}));
  }
  return *cached;
}

}  // namespace vit::bench
