// The mutation tests' checker: the whole-model gradients of the vit_timm fixture (input, every layer's
// attention and scores, every parameter) against PyTorch autograd (tests/data/gradients). Exit 0 when all
// agree within tolerance::kModelGradient, 1 otherwise. Built once against the real headers (it must pass)
// and once per mutant, against a copy of the headers with one deliberate bug (it must fail).
#include <cstdio>
#include <string>
#include <vit/vit.hpp>

#include "../fixtures.hpp"
#include "../gradient_check.hpp"
#include "../tolerances.hpp"

int main() try {
  const auto expected = vit::SafetensorsFile::open(vit::test::data_path("vit_timm.expected.safetensors"));
  const auto reference = vit::SafetensorsFile::open(vit::test::data_path("gradients/vit_timm.gradients.safetensors"));
  const vit::Model model =
      vit::load_model(vit::test::data_path("vit_timm.safetensors"), vit::test::fixture_config(expected));
  vit::ForwardOptions forward_options;
  forward_options.cache = true;
  const auto forward = model.forward(expected.read_float("input"), forward_options);
  vit::BackwardOptions options;
  options.attentions = options.scores = true;
  const auto gradients = model.backward(forward.cache, reference.read_float("d_logits"), options);

  int wrong = 0;
  const auto check = [&](const std::string& name, vit::TensorView<const float> actual, const vit::Tensor<float>& want) {
    const double scale = std::max(1e-30, vit::test::max_abs_of(want));
    const auto comparison = vit::test::compare(vit::TensorView<const float>(actual.data(), want.shape()), want,
                                               vit::test::tolerance::kModelGradient * scale);
    if (comparison.count_bad == 0) return;
    ++wrong;
    std::printf("%s: %s\n", name.c_str(), comparison.describe(actual, want).c_str());
  };
  check("d_input", gradients.images, reference.read_float("d_input"));
  for (std::size_t layer = 0; layer < gradients.attentions.size(); ++layer) {
    check("d_attention." + std::to_string(layer), gradients.attentions[layer],
          reference.read_float("d_attention." + std::to_string(layer)));
    check("d_scores." + std::to_string(layer), gradients.scores[layer],
          reference.read_float("d_scores." + std::to_string(layer)));
  }
  for (const auto& [name, view] : gradients.parameters.by_name)
    check(name, view, reference.read_float("param." + name));
  std::printf("%d gradient tensors differ from PyTorch's\n", wrong);
  return wrong == 0 ? 0 : 1;
} catch (const std::exception& error) {
  std::printf("error: %s\n", error.what());
  return 1;
}
