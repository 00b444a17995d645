// Writes a seed corpus for fuzz_safetensors into the directory given as argv[1]: a complete
// checkpoint of the fuzz config in timm naming (F32 and BF16), the same in Hugging Face naming,
// and a few small plain files. Generated at CI time so that no binary seeds live in the repository.
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <vit/vit.hpp>

#include "fuzz_config.hpp"

namespace {

void write(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// timm name → HF name for the fuzz config's tensors (q/k/v are split by the caller).
std::string hf_name(const std::string& name) {
  const std::pair<const char*, const char*> renames[] = {
      {"cls_token", "vit.embeddings.cls_token"},
      {"pos_embed", "vit.embeddings.position_embeddings"},
      {"patch_embed.proj.", "vit.embeddings.patch_embeddings.projection."},
      {"blocks.0.norm1.", "vit.encoder.layer.0.layernorm_before."},
      {"blocks.0.attn.proj.", "vit.encoder.layer.0.attention.output.dense."},
      {"blocks.0.norm2.", "vit.encoder.layer.0.layernorm_after."},
      {"blocks.0.mlp.fc1.", "vit.encoder.layer.0.intermediate.dense."},
      {"blocks.0.mlp.fc2.", "vit.encoder.layer.0.output.dense."},
      {"norm.", "vit.layernorm."},
      {"head.", "classifier."}};
  for (const auto& [timm, hf] : renames)
    if (name.rfind(timm, 0) == 0) return hf + name.substr(std::string(timm).size());
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds DIRECTORY\n";
    return 2;
  }
  const std::string dir = argv[1];
  const vit::ViTConfig config = vit::fuzz::small_config();
  std::vector<vit::Tensor<float>> storage;
  std::vector<vit::SafetensorsTensor> timm, timm_bf16, hf;
  for (const vit::ExpectedWeight& weight : vit::expected_weights(config)) {
    storage.emplace_back(weight.shape);
    for (std::int64_t i = 0; i < storage.back().numel(); ++i) storage.back()[i] = 0.1f * float(i % 11) - 0.5f;
  }
  std::size_t index = 0;
  for (const vit::ExpectedWeight& weight : vit::expected_weights(config)) {
    const vit::Tensor<float>& tensor = storage[index++];
    timm.push_back({weight.name, tensor});
    timm_bf16.push_back({weight.name, tensor, vit::DType::BF16});
    if (weight.name.find("attn.qkv") != std::string::npos) {
      const std::string suffix = weight.name.substr(weight.name.rfind('.'));
      const std::int64_t rows = tensor.size(0) / 3;
      const char* parts[] = {"query", "key", "value"};
      for (int part = 0; part < 3; ++part)
        hf.push_back({std::string("vit.encoder.layer.0.attention.attention.") + parts[part] + suffix,
                      tensor.view().rows(part * rows, (part + 1) * rows)});
    } else {
      hf.push_back({hf_name(weight.name), tensor});
    }
  }
  write(dir + "/timm.safetensors", vit::encode_safetensors(timm, {{"format", "pt"}}));
  write(dir + "/timm_bf16.safetensors", vit::encode_safetensors(timm_bf16));
  write(dir + "/hf.safetensors", vit::encode_safetensors(hf));
  const vit::Tensor<float> small({2, 2});
  write(dir + "/plain.safetensors", vit::encode_safetensors({{"a", small}, {"b", small, vit::DType::F16}}));
  // The model seeds must load and run, or the fuzzer would never reach past the loader.
  for (const char* name : {"timm.safetensors", "timm_bf16.safetensors", "hf.safetensors"}) {
    const vit::Model model = vit::load_model(dir + "/" + name, config);
    (void)model.forward(vit::Tensor<float>({1, 3, 8, 12}));
  }
  std::cout << "wrote 4 seeds to " << dir << "\n";
  return 0;
}
