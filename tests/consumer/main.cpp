// Builds a two-block model from random weights through the public headers and runs one forward; reads
// an IDX file through zlib, so that the package's zlib dependency is proven to link.
#include <iostream>

#include <vit/train/data.hpp>
#include <vit/vit.hpp>

int main() {
  vit::ViTConfig config = vit::preset("vit_tiny_patch16_224");
  config.depth = 2;
  config.num_classes = 3;
  std::vector<vit::Tensor<float>> storage;
  std::vector<vit::SafetensorsTensor> tensors;
  for (const vit::ExpectedWeight& weight : vit::expected_weights(config)) {
    storage.emplace_back(weight.shape);
    for (std::int64_t i = 0; i < storage.back().numel(); ++i) storage.back()[i] = 0.01f * float(i % 7);
  }
  std::size_t index = 0;
  for (const vit::ExpectedWeight& weight : vit::expected_weights(config)) tensors.push_back({weight.name, storage[index++]});
  const vit::Model model = vit::load_model(vit::SafetensorsFile::parse(vit::encode_safetensors(tensors)), config);
  const auto result = model.forward(vit::Tensor<float>({1, 3, 224, 224}));
  std::cout << "consumer: logits " << result.logits.shape() << "\n";
  try {
    (void)vit::read_idx("/nonexistent/train-images-idx3-ubyte.gz");
    return 1;
  } catch (const vit::Error& error) {
    std::cout << "consumer: " << error.what() << "\n";
  }
  return result.logits.shape() == vit::Shape{1, 3} ? 0 : 1;
}
