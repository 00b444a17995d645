// Faithfulness of attention rollout on real images: removes the patches rollout ranks most relevant
// (10% at a time) and prints the area under the curve of the predicted class's probability, next to the
// same for random removal orders. Lower is more faithful.
//
//   rollout_faithfulness --model MODEL.safetensors IMAGE... [--fusion mean|max|min] [--discard R] [--random N]
#include <cstdio>
#include <string>
#include <vector>

#include <vit/explain/perturbation.hpp>
#include <vit/vit.hpp>

#include "../examples/cli_common.hpp"

namespace {

struct Options {
  std::string model, fusion = "mean";
  double discard = 0.9;
  int random_orders = 5;
  std::vector<std::string> images;
};

int run(const Options& options) {
  vit::RolloutOptions rollout;
  rollout.fusion = vit::parse_head_fusion(options.fusion);
  rollout.discard_ratio = options.discard;
  const vit::Model model = vit::load_model(options.model);
  const vit::Preprocessing preprocessing =
      vit::preprocessing_for_checkpoint(options.model, model.config(), model.naming());
  std::printf("%-28s %6s %12s %12s %7s\n", "image", "class", "AUC rollout", "AUC random", "ratio");
  double rollout_sum = 0, random_sum = 0;
  for (const std::string& path : options.images) {
    const vit::Tensor<float> input = vit::preprocess({vit::load_image(path)}, preprocessing);
    const vit::RolloutFaithfulness result = vit::rollout_faithfulness(model, input, rollout, options.random_orders);
    std::printf("%-28s %6d %12.4f %12.4f %7.3f\n", path.substr(path.rfind('/') + 1).c_str(), result.predicted,
                result.rollout.area, result.random_area, result.rollout.area / result.random_area);
    rollout_sum += result.rollout.area;
    random_sum += result.random_area;
  }
  const double count = double(options.images.size());
  std::printf("%-28s %6s %12.4f %12.4f %7.3f\n", "mean", "", rollout_sum / count, random_sum / count,
              rollout_sum / random_sum);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Perturbation test of attention rollout (Chefer et al. 2021): area under the predicted class's "
               "probability as the most relevant patches are removed, rollout order against random orders.",
               "rollout_faithfulness");
  Options options;
  app.add_option("--model", options.model, "Weights file (.safetensors)")->required()->type_name("FILE");
  app.add_option("--fusion", options.fusion, "Head fusion")->check(CLI::IsMember({"mean", "max", "min"}))->capture_default_str();
  app.add_option("--discard", options.discard, "Discard ratio")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
  app.add_option("--random", options.random_orders, "Random orders averaged")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("IMAGE", options.images, "Images")->required()->type_name("");
  return cli::main_with_errors(app, argc, argv, [&] { return run(options); });
}
