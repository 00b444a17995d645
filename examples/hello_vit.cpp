// The README's example: load a checkpoint, run a batch, read logits and attention maps.
#include <algorithm>
#include <iostream>
#include <numeric>

#include <vit/vit.hpp>

int main(int argc, char** argv) try {
  if (argc != 2) return std::cerr << "usage: hello_vit MODEL.safetensors\n", 2;
  const vit::Model model = vit::load_model(argv[1]);  // timm or HF naming; architecture from the file
  vit::Tensor<float> images({2, 3, 224, 224});        // [B, C, H, W], normalised (zeros = the mean colour)
  vit::ForwardOptions options;
  options.attentions = true;                           // keep every layer's [B, H, N, N] probabilities
  const auto result = model.forward(images, options);
  const float* logits = result.logits.data();          // [B, classes], row-major
  std::vector<int> order(std::size_t(model.config().num_classes));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  std::cout << "top-5 classes of image 0: " << order[0] << " " << order[1] << " " << order[2] << " " << order[3] << " "
            << order[4] << "\nlast layer's attention maps: " << result.attentions.back().shape() << "\n";
} catch (const vit::Error& error) {
  std::cerr << "error: " << error.what() << "\n";
  return 1;
}
