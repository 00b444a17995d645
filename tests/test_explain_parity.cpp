// Every class-specific explanation method (and raw attention) against PyTorch implementations of the same
// formulas, evaluated in float64 on the committed fixtures of tools/make_gradient_fixtures.py
// (tests/data/explain): the fixture models (timm, HF, distilled with both tokens, mean pooling, a resized
// grid) and the real DeiT-tiny on the eight shared images; top-1 and second class, start layers 0 and 1,
// discard ratios 0 and 0.9; grad-rollout also in vit-explain's exact mode, whose references are vit-explain's
// own output where its code runs.
#include <catch2/catch.hpp>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>
#include <vit/explain.hpp>
#include <vit/vit.hpp>

#include "fixtures.hpp"
#include "gradient_check.hpp"
#include "model_builder.hpp"
#include "support.hpp"
#include "tolerances.hpp"

using vit::Tensor;
namespace tolerance = vit::test::tolerance;

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
  return parts;
}

// The options an entry name stands for: METHOD[.TARGET][.variant][.dist], e.g. "grad-rollout.top1.d0.9.dist".
vit::ExplainOptions options_for(const std::string& entry, const vit::SafetensorsFile& reference, std::int64_t batch) {
  std::vector<std::string> parts = split(entry, '.');
  vit::ExplainOptions options;
  std::string method = parts[0];
  if (method == "grad-rollout-vit-explain") {
    method = "grad-rollout";
    options.vit_explain = true;
  }
  options.method = vit::parse_explanation_method(method);
  if (parts.back() == "dist") {
    options.token = 1;
    parts.pop_back();
  }
  if (parts.size() >= 2) {
    const Tensor<float> classes = reference.read_float("classes." + parts[1]);
    for (std::int64_t image = 0; image < batch; ++image) options.targets.push_back(int(classes[image]));
  }
  if (parts.size() >= 3) {
    if (parts[2] == "start1")
      options.start_layer = 1;
    else
      options.discard_ratio = std::stod(parts[2].substr(1) + (parts.size() >= 4 ? "." + parts[3] : ""));
  }
  return options;
}

struct MethodErrors {
  std::map<std::string, double> worst;  // method → max error relative to each map's largest value
  int compared = 0;
};

void compare_entries(const vit::Model& model, const Tensor<float>& input, const vit::SafetensorsFile& reference,
                     double bound, double cancelling_bound, MethodErrors& errors) {
  for (const vit::SafetensorsEntry& entry : reference.entries()) {
    if (entry.name.rfind("classes.", 0) == 0 || entry.name == "logits") continue;
    INFO(entry.name);
    const vit::ExplainOptions options = options_for(entry.name, reference, input.size(0));
    const vit::Explanation explanation = vit::explain(model, input, options);
    const Tensor<float> expected = reference.read_float(entry);
    const std::string method = split(entry.name, '.')[0];
    const double method_bound = method == "attention-gradcam" ? cancelling_bound : bound;
    REQUIRE(explanation.maps.shape() == expected.shape());
    // Per image, relative to that image's map (maps of different images differ in scale).
    const std::int64_t per_image = expected.numel() / expected.size(0);
    for (std::int64_t image = 0; image < expected.size(0); ++image) {
      const vit::TensorView<const float> actual_map(explanation.maps.data() + image * per_image, {per_image});
      const vit::TensorView<const float> expected_map(expected.data() + image * per_image, {per_image});
      const double scale = std::max(1e-30, vit::test::max_abs_of(expected_map));
      INFO("image " << image);
      VIT_REQUIRE_CLOSE(actual_map, expected_map, method_bound * scale);
      errors.worst[method] =
          std::max(errors.worst[method], vit::test::compare(actual_map, expected_map, 1e30).max_abs / scale);
    }
    ++errors.compared;
  }
}

void print(const std::string& name, const MethodErrors& errors) {
  std::cout << std::scientific << std::setprecision(2) << "explanation parity " << name << ": " << errors.compared
            << " entries; max error relative to the map's "
            << "largest value:";
  for (const auto& [method, error] : errors.worst) std::cout << " " << method << " " << error << ";";
  std::cout << "\n";
}

}  // namespace

TEST_CASE("explanation methods match their PyTorch references on the fixture models", "[explain][parity]") {
  const std::string name =
      GENERATE(as<std::string>{}, "vit_timm", "vit_hf", "deit_distilled_timm", "vit_timm_meanpool", "vit_timm_resized");
  INFO("fixture " << name);
  vit::test::ModelCase model_case;
  for (const vit::test::ModelCase& candidate : vit::test::model_cases())
    if (candidate.name == name) model_case = candidate;
  const auto expected = vit::SafetensorsFile::open(vit::test::data_path(name + ".expected.safetensors"));
  const auto reference = vit::SafetensorsFile::open(vit::test::data_path("explain/" + name + ".explain.safetensors"));
  const vit::Model model = vit::test::load_model_case(model_case, expected);
  MethodErrors errors;
  compare_entries(model, expected.read_float("input"), reference, tolerance::kExplanation, tolerance::kExplanation,
                  errors);
  CHECK(errors.compared >= 15);
  print(name, errors);
}

TEST_CASE("explanation methods match their PyTorch references on the real DeiT-tiny", "[explain][parity][real]") {
  const std::string weights = vit::test::shared_path("models/deit_tiny_patch16_224.safetensors");
  const std::string images_dir = vit::test::shared_path("images");
  if (weights.empty() || images_dir.empty()) {
    WARN("SKIPPED: ../shared/models or ../shared/images is not present");
    return;
  }
  const auto reference = vit::SafetensorsFile::open(vit::test::data_path("explain/deit_tiny_real.explain.safetensors"));
  const vit::Model model = vit::load_model(weights);
  const vit::Preprocessing preprocessing = vit::preprocessing_for_checkpoint(weights, model.config(), model.naming());
  std::vector<vit::Image> images;
  for (const std::string file : nlohmann::json::parse(reference.metadata().at("image_files")))
    images.push_back(vit::load_image(images_dir + "/" + file));
  const Tensor<float> input = vit::preprocess(images, preprocessing);
  VIT_REQUIRE_CLOSE(model.forward(input).logits, reference.read_float("logits"), tolerance::kModelLogits);
  MethodErrors errors;
  compare_entries(model, input, reference, tolerance::kExplanationReal, tolerance::kExplanationCancelling, errors);
  print("deit_tiny_real", errors);
}

TEST_CASE("explain refuses what it cannot explain, naming the problem", "[explain][errors]") {
  const auto expected = vit::SafetensorsFile::open(vit::test::data_path("vit_timm.expected.safetensors"));
  const vit::Model model =
      vit::load_model(vit::test::data_path("vit_timm.safetensors"), vit::test::fixture_config(expected));
  const Tensor<float> input = expected.read_float("input");
  vit::ExplainOptions options;
  options.method = vit::ExplanationMethod::GenericAttention;
  options.targets = {10};
  VIT_REQUIRE_ERROR(vit::explain(model, input, options), Catch::Contains("class 10 is out of range"));
  options.targets = {1, 2};
  VIT_REQUIRE_ERROR(vit::explain(model, input, options), Catch::Contains("2 target classes for 3 images"));
  options.targets = {};
  options.start_layer = 2;
  VIT_REQUIRE_ERROR(vit::explain(model, input, options), Catch::Contains("start layer 2"));
  options.start_layer = 0;
  options.token = 1;
  VIT_REQUIRE_ERROR(vit::explain(model, input, options), Catch::Contains("token 1"));
  VIT_REQUIRE_ERROR(vit::parse_explanation_method("lime"), Catch::Contains("unknown explanation method 'lime'"));

  vit::ViTConfig headless = vit::test::fixture_config(expected);
  headless.num_classes = 0;
  vit::test::NamedTensors tensors = vit::test::random_checkpoint(headless);
  const vit::Model backbone = vit::load_model(vit::SafetensorsFile::parse(tensors.encode()), headless);
  options = {};
  options.method = vit::ExplanationMethod::GenericAttention;
  VIT_REQUIRE_ERROR(vit::explain(backbone, input, options), Catch::Contains("no classification head"));
  options.method = vit::ExplanationMethod::Rollout;
  CHECK(vit::explain(backbone, input, options).maps.shape() == vit::Shape{3, 4, 4});  // class-blind: fine
}
