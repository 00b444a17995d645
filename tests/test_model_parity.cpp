// Whole-model parity with PyTorch (timm and Hugging Face transformers) on the committed fixtures.
#include <catch2/catch.hpp>
#include <iostream>
#include <string>
#include <vit/model.hpp>

#include "fixtures.hpp"
#include "support.hpp"
#include "tolerances.hpp"

namespace tolerance = vit::test::tolerance;
using vit::test::data_path;

TEST_CASE("parity with PyTorch: logits, attention maps and features", "[model][parity]") {
  const vit::test::ModelCase test_case = GENERATE(from_range(vit::test::model_cases()));
  INFO("fixture " << test_case.name);
  const auto expected = vit::SafetensorsFile::open(data_path(test_case.name + ".expected.safetensors"));
  const vit::Model model = vit::test::load_model_case(test_case, expected);
  CHECK(model.naming() == (test_case.hugging_face ? vit::CheckpointNaming::HuggingFace : vit::CheckpointNaming::Timm));

  vit::ForwardOptions options;
  options.attentions = true;
  options.features = true;
  const auto result = model.forward(expected.read_float("input"), options);

  const auto logits = vit::test::compare(result.logits, expected.read_float("logits"), tolerance::kModelLogits);
  const auto features = vit::test::compare(result.features, expected.read_float("features"), tolerance::kModelLogits);
  double max_attention_error = 0;
  for (std::size_t layer = 0; layer < result.attentions.size(); ++layer) {
    INFO("layer " << layer);
    const auto reference = expected.read_float("attention." + std::to_string(layer));
    VIT_REQUIRE_CLOSE(result.attentions[layer], reference, tolerance::kModelProbabilities);
    max_attention_error =
        std::max(max_attention_error, vit::test::compare(result.attentions[layer], reference, 1).max_abs);
  }
  std::cout << "parity " << test_case.name << ": logits max abs error " << logits.max_abs << ", features "
            << features.max_abs << ", attention " << max_attention_error << "\n";
  VIT_REQUIRE_CLOSE(result.logits, expected.read_float("logits"), tolerance::kModelLogits);
  VIT_REQUIRE_CLOSE(result.features, expected.read_float("features"), tolerance::kModelLogits);

  if (const vit::SafetensorsEntry* resampled = expected.find("pos_embed_resampled")) {
    // The positional-embedding resampler on its own, against the tensor the framework added.
    const vit::ViTConfig& config = model.config();
    const std::int64_t grid_h = expected.at("input").shape[2] / config.patch_size;
    const std::int64_t grid_w = expected.at("input").shape[3] / config.patch_size;
    vit::nn::PositionEmbedding<float> position{
        model.weight("pos_embed").reshape({config.num_tokens(), config.embed_dim}), config.num_prefix_tokens(),
        config.grid_size(), config.pos_embed_resampling == vit::PosEmbedResampling::BicubicAntialias};
    const vit::Tensor<float> reference = expected.read_float(*resampled);
    VIT_REQUIRE_CLOSE(position.for_grid(grid_h, grid_w),
                      reference.view().reshape({1 + grid_h * grid_w, config.embed_dim}), tolerance::kResize);
  }
}

TEST_CASE("parity fixtures are sensitive: plausible mistakes move the logits far beyond tolerance", "[model][parity]") {
  const auto expected = vit::SafetensorsFile::open(data_path("vit_timm.expected.safetensors"));
  const vit::Tensor<float> input = expected.read_float("input"), reference = expected.read_float("logits");
  const vit::ViTConfig config = vit::test::fixture_config(expected);
  const auto deviation = [&](const vit::ViTConfig& changed) {
    const vit::Model model = vit::load_model(data_path("vit_timm.safetensors"), changed);
    return vit::test::compare(model.forward(input).logits, reference, 0).max_abs;
  };
  vit::ViTConfig wrong_eps = config;
  wrong_eps.layer_norm_eps = 1e-5f;
  CHECK(deviation(wrong_eps) > 100 * tolerance::kModelLogits);
  vit::ViTConfig wrong_heads = config;
  wrong_heads.num_heads = 1;
  CHECK(deviation(wrong_heads) > 100 * tolerance::kModelLogits);
  vit::ViTConfig wrong_resampling = config;  // the other framework's resampler, on the resized case
  wrong_resampling.pos_embed_resampling = vit::PosEmbedResampling::Bicubic;
  const auto resized = vit::SafetensorsFile::open(data_path("vit_timm_resized.expected.safetensors"));
  const vit::Model model = vit::load_model(data_path("vit_timm.safetensors"), wrong_resampling);
  CHECK(vit::test::compare(model.forward(resized.read_float("input")).logits, resized.read_float("logits"), 0).max_abs >
        10 * tolerance::kModelLogits);
}
