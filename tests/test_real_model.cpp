// The real DeiT-tiny from ../shared/models against timm run on the same file and input.
#include <catch2/catch.hpp>

#include <iostream>

#include <vit/io.hpp>
#include <vit/model.hpp>

#include "support.hpp"
#include "tolerances.hpp"

namespace tolerance = vit::test::tolerance;

TEST_CASE("real DeiT-tiny: logits and attention maps match timm", "[model][real]") {
  const std::string weights = vit::test::shared_path("models/deit_tiny_patch16_224.safetensors");
  if (weights.empty()) {
    WARN("SKIPPED: ../shared/models/deit_tiny_patch16_224.safetensors is not present");
    return;
  }
  const auto expected = vit::SafetensorsFile::open(vit::test::data_path("deit_tiny_real.expected.safetensors"));
  const vit::Model model = vit::load_model(weights);  // architecture inferred from the tensor shapes
  CHECK(model.config().embed_dim == 192);
  CHECK(model.config().num_heads == 3);
  CHECK(model.config().depth == 12);
  CHECK(model.config().num_classes == 1000);

  vit::ForwardOptions options;
  options.attentions = true;
  options.features = true;
  const auto result = model.forward(expected.read_float("input"), options);
  const auto logits = vit::test::compare(result.logits, expected.read_float("logits"), 0);
  const auto first = vit::test::compare(result.attentions[0], expected.read_float("attention.0"), 0);
  const auto last = vit::test::compare(result.attentions[11], expected.read_float("attention.11"), 0);
  std::cout << "parity deit_tiny_real: logits max abs error " << logits.max_abs << ", attention layer 0 "
            << first.max_abs << ", layer 11 " << last.max_abs << "\n";
  VIT_REQUIRE_CLOSE(result.logits, expected.read_float("logits"), tolerance::kModelLogits);
  VIT_REQUIRE_CLOSE(result.features, expected.read_float("features"), tolerance::kModelLogits);
  VIT_REQUIRE_CLOSE(result.attentions[0], expected.read_float("attention.0"), tolerance::kModelProbabilities);
  VIT_REQUIRE_CLOSE(result.attentions[11], expected.read_float("attention.11"), tolerance::kModelProbabilities);
}

TEST_CASE("real DeiT-tiny classifies the eight shared images as expected", "[model][real][images]") {
  const std::string weights = vit::test::shared_path("models/deit_tiny_patch16_224.safetensors");
  const std::string images_dir = vit::test::shared_path("images");
  if (weights.empty() || images_dir.empty()) {
    WARN("SKIPPED: ../shared/models or ../shared/images is not present");
    return;
  }
  const auto& expected = vit::test::shared_images_top1();
  const vit::Model model = vit::load_model(weights);
  const vit::Preprocessing preprocessing =
      vit::preprocessing_for_checkpoint(weights, model.config(), model.naming());
  std::vector<vit::Image> images;
  for (const auto& [name, index] : expected) images.push_back(vit::load_image(images_dir + "/" + name));
  const auto result = model.forward(vit::preprocess(images, preprocessing));  // one batched call
  const auto top = vit::top_k(result.logits, 1);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO(expected[i].first);
    CHECK(top[i][0].index == expected[i].second);
  }
}
