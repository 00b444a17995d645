// Faithfulness of attention rollout on real images: removes the patches rollout ranks most relevant
// (10% at a time) and prints the area under the curve of the predicted class's probability, next to the
// same for random removal orders. Lower is more faithful.
//
//   rollout_faithfulness MODEL.safetensors IMAGE... [--fusion mean|max|min] [--discard R] [--random N]
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <vit/vit.hpp>
#include <vit/explain/perturbation.hpp>

int main(int argc, char** argv) try {
  std::vector<std::string> images;
  vit::RolloutOptions options;
  options.discard_ratio = 0.9;
  int random_orders = 5;
  std::string model_path;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    const bool has_value = i + 1 < argc;
    if (argument == "--fusion" && has_value) options.fusion = vit::parse_head_fusion(argv[++i]);
    else if (argument == "--discard" && has_value) options.discard_ratio = std::stod(argv[++i]);
    else if (argument == "--random" && has_value) random_orders = std::stoi(argv[++i]);
    else if (model_path.empty()) model_path = argument;
    else images.push_back(argument);
  }
  if (model_path.empty() || images.empty() || random_orders < 1) {
    std::cerr << "usage: rollout_faithfulness MODEL.safetensors IMAGE... [--fusion mean|max|min] [--discard R] "
                 "[--random N]\n";
    return 2;
  }
  const vit::Model model = vit::load_model(model_path);
  const vit::Preprocessing preprocessing =
      vit::preprocessing_for_checkpoint(model_path, model.config(), model.naming());
  std::printf("%-28s %6s %12s %12s %7s\n", "image", "class", "AUC rollout", "AUC random", "ratio");
  double rollout_sum = 0, random_sum = 0;
  for (const std::string& path : images) {
    const vit::Tensor<float> input = vit::preprocess({vit::load_image(path)}, preprocessing);
    const vit::RolloutFaithfulness result = vit::rollout_faithfulness(model, input, options, random_orders);
    std::printf("%-28s %6d %12.4f %12.4f %7.3f\n", path.substr(path.rfind('/') + 1).c_str(), result.predicted,
                result.rollout.area, result.random_area, result.rollout.area / result.random_area);
    rollout_sum += result.rollout.area;
    random_sum += result.random_area;
  }
  const double count = double(images.size());
  std::printf("%-28s %6s %12.4f %12.4f %7.3f\n", "mean", "", rollout_sum / count, random_sum / count,
              rollout_sum / random_sum);
  return 0;
} catch (const vit::Error& error) {
  std::cerr << "rollout_faithfulness: error: " << error.what() << "\n";
  return 1;
}
