// Faithfulness of every explanation method on real images, by the two perturbation tests of Chefer et al.
// (CVPR 2021): patches are removed 10% at a time in the map's order and the area under the explained class's
// probability curve (AUC) is recorded. Positive test: most relevant first, lower is better. Negative test:
// least relevant first, higher is better. Random removal orders give the baseline. Prints a Markdown table
// per image and the means.
//
//   explanation_faithfulness --model MODEL.safetensors IMAGE... [--methods rollout,generic-attention,...]
//                            [--target predicted|second|K] [--discard R] [--random N]
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>
#include <vit/explain/perturbation.hpp>
#include <vit/vit.hpp>

#include "../examples/cli_common.hpp"

namespace {

struct Options {
  std::string model, methods, target = "predicted";
  double discard = 0.9;
  int random_orders = 5;
  std::vector<std::string> images;
};

std::vector<vit::ExplanationMethod> parse_methods(const std::string& list) {
  std::vector<vit::ExplanationMethod> methods;
  if (list.empty()) {
    for (std::string_view name : vit::kExplanationMethodNames) methods.push_back(vit::parse_explanation_method(name));
    return methods;
  }
  std::stringstream stream(list);
  for (std::string name; std::getline(stream, name, ',');) methods.push_back(vit::parse_explanation_method(name));
  return methods;
}

// The class to explain for one image: its top-1, its second most probable class, or a fixed index.
int target_class(const std::string& target, const vit::Model& model, const vit::Tensor<float>& input) {
  if (target != "predicted" && target != "second") return std::stoi(target);
  const auto top = vit::top_k(model.forward(input).logits, 2).front();
  return top[target == "predicted" ? 0 : 1].index;
}

int run(const Options& options) {
  const std::vector<vit::ExplanationMethod> methods = parse_methods(options.methods);
  const vit::Model model = vit::load_model(options.model);
  const vit::Preprocessing preprocessing =
      vit::preprocessing_for_checkpoint(options.model, model.config(), model.naming());
  std::map<std::string, std::pair<double, double>> sums;  // method → (positive, negative) AUC sums
  std::map<std::string, std::pair<int, int>> wins;        // method → images where it beats random, per test
  double random_sum = 0;
  std::printf("| image | class | method | positive AUC (lower is better) | negative AUC (higher is better) |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const std::string& path : options.images) {
    const std::string name = path.substr(path.rfind('/') + 1);
    const vit::Tensor<float> input = vit::preprocess({vit::load_image(path)}, preprocessing);
    const int target = target_class(options.target, model, input);
    const vit::PerturbationCurve random = vit::random_perturbation(model, input, target, options.random_orders);
    random_sum += random.area;
    std::printf("| %s | %d | random (%d orders) | %.4f | %.4f |\n", name.c_str(), target, options.random_orders,
                random.area, random.area);
    for (vit::ExplanationMethod method : methods) {
      vit::ExplainOptions explain_options;
      explain_options.method = method;
      explain_options.targets = {target};
      if (method == vit::ExplanationMethod::Rollout || method == vit::ExplanationMethod::GradRollout)
        explain_options.discard_ratio = options.discard;
      const vit::Faithfulness result = vit::faithfulness(model, input, explain_options);
      const std::string method_name(vit::explanation_method_name(method));
      std::printf("| %s | %d | %s | %.4f | %.4f |\n", name.c_str(), target, method_name.c_str(), result.positive.area,
                  result.negative.area);
      sums[method_name].first += result.positive.area;
      sums[method_name].second += result.negative.area;
      wins[method_name].first += result.positive.area < random.area;
      wins[method_name].second += result.negative.area > random.area;
    }
  }
  const double count = double(options.images.size());
  std::printf(
      "\n| method | positive AUC, mean (lower is better) | negative AUC, mean (higher is better) | images "
      "better than random, positive / negative |\n|---|---|---|---|\n");
  std::printf("| random (%d orders) | %.4f | %.4f | |\n", options.random_orders, random_sum / count,
              random_sum / count);
  for (vit::ExplanationMethod method : methods) {
    const std::string method_name(vit::explanation_method_name(method));
    std::printf("| %s | %.4f | %.4f | %d / %d of %zu |\n", method_name.c_str(), sums[method_name].first / count,
                sums[method_name].second / count, wins[method_name].first, wins[method_name].second,
                options.images.size());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Perturbation tests (Chefer et al. 2021) of every explanation method: area under the explained "
      "class's probability as patches are removed most relevant first (positive) and least relevant first "
      "(negative), against random orders.",
      "explanation_faithfulness");
  Options options;
  app.add_option("--model", options.model, "Weights file (.safetensors)")->required()->type_name("FILE");
  app.add_option("--methods", options.methods, "Comma-separated methods (default: all)")->type_name("LIST");
  app.add_option("--target", options.target,
                 "Class explained: predicted, second (the second most probable) or an index")
      ->capture_default_str();
  app.add_option("--discard", options.discard, "Discard ratio of rollout and grad-rollout")
      ->check(CLI::Range(0.0, 0.999999))
      ->capture_default_str();
  app.add_option("--random", options.random_orders, "Random orders averaged")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("IMAGE", options.images, "Images")->required()->type_name("");
  return cli::main_with_errors(app, argc, argv, [&] { return run(options); });
}
