// Builds random checkpoints in memory, for loading tests and benchmarks: every tensor a config expects, in
// timm naming. No Catch2 here, so that benchmark programs can use it too.
#pragma once

#include <cmath>
#include <string>
#include <utility>
#include <vector>
#include <vit/io/safetensors.hpp>
#include <vit/model/checkpoint.hpp>

#include "random_model.hpp"

namespace vit::test {

struct NamedTensors {
  std::vector<std::pair<std::string, Tensor<float>>> tensors;

  // dtype: the storage type of every tensor, or of those named in `only` when it is not empty.
  std::vector<std::uint8_t> encode(DType dtype = DType::F32, const std::string& only = "") const {
    std::vector<SafetensorsTensor> views;
    for (const auto& [name, tensor] : tensors)
      views.push_back({name, tensor.view(), only.empty() || only == name ? dtype : DType::F32});
    return encode_safetensors(views);
  }
  void erase(const std::string& name) {
    for (auto it = tensors.begin(); it != tensors.end(); ++it)
      if (it->first == name) {
        tensors.erase(it);
        return;
      }
  }
  Tensor<float>& at(const std::string& name) {
    for (auto& [key, tensor] : tensors)
      if (key == name) return tensor;
    throw Error("no tensor " + name);
  }
};

inline NamedTensors random_checkpoint(const ViTConfig& config, std::uint32_t seed = 100) {
  NamedTensors result;
  for (const ExpectedWeight& weight : expected_weights(config)) {
    const float scale = weight.shape.rank() == 2 ? 1.0f / std::sqrt(float(weight.shape[1])) : 0.5f;
    result.tensors.emplace_back(weight.name, random_tensor(weight.shape, seed++, scale));
  }
  return result;
}

}  // namespace vit::test
