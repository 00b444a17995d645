// Whole-model gradients against PyTorch autograd (timm and Hugging Face transformers, evaluated in float64)
// on the committed fixtures of tools/make_gradient_fixtures.py (tests/data/gradients): ∂L/∂input, ∂L/∂A and
// ∂L/∂S of every layer, and every parameter's gradient, for L = Σ d_logits ⊙ logits. Timm and HF naming,
// distilled DeiT, mean pooling, resized grids (through the positional-embedding resampling), batch > 1, and
// the real DeiT-tiny (a subset of the tensors, see tests/data/gradients/README.md).
#include <catch2/catch.hpp>
#include <iomanip>
#include <iostream>
#include <string>
#include <vit/model.hpp>

#include "fixtures.hpp"
#include "gradient_check.hpp"
#include "support.hpp"
#include "tolerances.hpp"

using vit::Tensor;
namespace tolerance = vit::test::tolerance;

namespace {

// Compares one gradient tensor relative to the reference's scale; returns the relative max error.
double check_gradient(const std::string& what, vit::TensorView<const float> actual,
                      vit::TensorView<const float> expected) {
  INFO(what);
  REQUIRE(actual.numel() == expected.numel());
  const double scale = std::max(1e-30, vit::test::max_abs_of(expected));
  const vit::TensorView<const float> reshaped(actual.data(), expected.shape());
  VIT_REQUIRE_CLOSE(reshaped, expected, tolerance::kModelGradient * scale);
  return vit::test::compare(reshaped, expected, 1e30).max_abs / scale;
}

struct Errors {
  double input = 0, attention = 0, scores = 0, parameters = 0;
  std::string worst_parameter;
};

}  // namespace

TEST_CASE("gradients match PyTorch autograd: input, attention maps, scores and every parameter", "[backward][parity]") {
  const vit::test::ModelCase test_case = GENERATE(from_range(vit::test::model_cases()));
  INFO("fixture " << test_case.name);
  const auto expected = vit::SafetensorsFile::open(vit::test::data_path(test_case.name + ".expected.safetensors"));
  const auto reference =
      vit::SafetensorsFile::open(vit::test::data_path("gradients/" + test_case.name + ".gradients.safetensors"));
  const vit::Model model = vit::test::load_model_case(test_case, expected);

  vit::ForwardOptions forward_options;
  forward_options.cache = true;
  const auto forward = model.forward(expected.read_float("input"), forward_options);
  VIT_REQUIRE_CLOSE(forward.logits, reference.read_float("logits"), tolerance::kModelLogits);
  vit::BackwardOptions options;
  options.attentions = options.scores = true;
  const auto gradients = model.backward(forward.cache, reference.read_float("d_logits"), options);

  Errors errors;
  errors.input = check_gradient("d_input", gradients.images, reference.read_float("d_input"));
  for (std::size_t layer = 0; layer < gradients.attentions.size(); ++layer) {
    const std::string suffix = std::to_string(layer);
    errors.attention = std::max(errors.attention, check_gradient("d_attention." + suffix, gradients.attentions[layer],
                                                                 reference.read_float("d_attention." + suffix)));
    errors.scores = std::max(errors.scores, check_gradient("d_scores." + suffix, gradients.scores[layer],
                                                           reference.read_float("d_scores." + suffix)));
  }
  int parameters = 0;
  for (const auto& [name, view] : gradients.parameters.by_name) {
    const double error = check_gradient(name, view, reference.read_float("param." + name));
    if (error >= errors.parameters) {
      errors.parameters = error;
      errors.worst_parameter = name;
    }
    ++parameters;
  }
  CHECK(parameters == int(vit::expected_weights(model.config()).size()));
  std::cout << std::scientific << std::setprecision(2) << "gradient parity " << test_case.name
            << " (max error relative to each tensor's largest value): input " << errors.input << ", attention "
            << errors.attention << ", scores " << errors.scores << ", " << parameters << " parameters "
            << errors.parameters << " (" << errors.worst_parameter << ")\n";
}

TEST_CASE("real DeiT-tiny gradients match PyTorch autograd", "[backward][parity][real]") {
  const std::string weights = vit::test::shared_path("models/deit_tiny_patch16_224.safetensors");
  if (weights.empty()) {
    WARN("SKIPPED: ../shared/models/deit_tiny_patch16_224.safetensors is not present");
    return;
  }
  const vit::Model model = vit::load_model(weights);
  const auto expected = vit::SafetensorsFile::open(vit::test::data_path("deit_tiny_real.expected.safetensors"));
  const auto reference =
      vit::SafetensorsFile::open(vit::test::data_path("gradients/deit_tiny_real.gradients.safetensors"));
  vit::ForwardOptions forward_options;
  forward_options.cache = true;
  const auto forward = model.forward(expected.read_float("input"), forward_options);
  vit::BackwardOptions options;
  options.attentions = options.scores = true;
  const auto gradients = model.backward(forward.cache, reference.read_float("d_logits"), options);

  Errors errors;
  errors.input = check_gradient("d_input", gradients.images, reference.read_float("d_input"));
  for (int layer : {0, 11}) {
    // Only query row 0 is stored: [1, H, N] = d_attention[:, :, 0, :].
    const std::string suffix = std::to_string(layer) + ".row0";
    const std::int64_t heads = gradients.attentions[std::size_t(layer)].size(1), n = gradients.attentions[0].size(3);
    Tensor<float> attention_row({1, heads, n}), scores_row({1, heads, n});
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t j = 0; j < n; ++j) {
        attention_row[h * n + j] = gradients.attentions[std::size_t(layer)][h * n * n + j];
        scores_row[h * n + j] = gradients.scores[std::size_t(layer)][h * n * n + j];
      }
    errors.attention = std::max(errors.attention, check_gradient("d_attention." + suffix, attention_row,
                                                                 reference.read_float("d_attention." + suffix)));
    errors.scores = std::max(
        errors.scores, check_gradient("d_scores." + suffix, scores_row, reference.read_float("d_scores." + suffix)));
  }
  int parameters = 0;
  for (const vit::SafetensorsEntry& entry : reference.entries()) {
    if (entry.name.rfind("param.", 0) != 0) continue;
    const std::string name = entry.name.substr(6);
    const double error = check_gradient(name, gradients.parameters.at(name), reference.read_float(entry));
    if (error >= errors.parameters) {
      errors.parameters = error;
      errors.worst_parameter = name;
    }
    ++parameters;
  }
  CHECK(parameters > 50);
  std::cout << std::scientific << std::setprecision(2)
            << "gradient parity deit_tiny_real (max error relative to each tensor's largest value): input "
            << errors.input << ", attention rows " << errors.attention << ", score rows " << errors.scores << ", "
            << parameters << " parameters " << errors.parameters << " (" << errors.worst_parameter << ")\n";
}
