// The README's gradients example: explain one image's top-1 class, then take the raw gradients yourself.
#include <algorithm>
#include <iostream>
#include <vit/vit.hpp>

int main(int argc, char** argv) try {
  if (argc != 3) return std::cerr << "usage: hello_gradients MODEL.safetensors IMAGE\n", 2;
  const vit::Model model = vit::load_model(argv[1]);
  const vit::Preprocessing preprocessing = vit::preprocessing_for_checkpoint(argv[1], model.config(), model.naming());
  const vit::Tensor<float> image = vit::preprocess({vit::load_image(argv[2])}, preprocessing);  // [1, 3, 224, 224]

  // One call: forward, backward of the top-1 class score, and the method.
  vit::ExplainOptions options;
  options.method = vit::ExplanationMethod::GenericAttention;  // or options.targets = {88} for another class
  const vit::Explanation explanation = vit::explain(model, image, options);
  const float* map = explanation.maps.data();  // [1, 14, 14] relevance of each patch
  const auto hottest = std::max_element(map, map + explanation.maps.numel()) - map;
  std::cout << "class " << explanation.targets[0] << ": most relevant patch at row " << hottest / 14 << ", column "
            << hottest % 14 << "\n";

  // By hand: keep the activations, then backpropagate any d_logits (here: the score of class 0).
  vit::ForwardOptions forward_options;
  forward_options.cache = true;
  const auto forward = model.forward(image, forward_options);
  vit::Tensor<float> d_logits(forward.logits.shape());  // zeros
  d_logits[0] = 1.0f;
  vit::BackwardOptions backward_options;
  backward_options.attentions = true;  // ∂y/∂A of every layer; images and parameters are on by default
  const auto gradients = model.backward(forward.cache, d_logits, backward_options);
  std::cout << "∂y/∂images " << gradients.images.shape() << ", ∂y/∂A of the last layer "
            << gradients.attentions.back().shape() << ", ∂y/∂head.weight "
            << gradients.parameters.at("head.weight").shape() << "\n";
} catch (const vit::Error& error) {
  std::cerr << "error: " << error.what() << "\n";
  return 1;
}
