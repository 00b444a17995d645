// Faithfulness of attention rollout on the real DeiT-tiny (Chefer et al.'s perturbation test): removing
// the patches rollout ranks highest must lower the predicted class's probability faster than removing
// patches in random order, on average over the eight shared images. bench/rollout_faithfulness prints
// the per-image table.
#include <catch2/catch.hpp>

#include <iostream>

#include <vit/explain/perturbation.hpp>
#include <vit/vit.hpp>

#include "support.hpp"

TEST_CASE("perturbation curve: removing nothing keeps the prediction, removing all gives the mean image", "[explain]") {
  // Mechanics on a small random model, independent of ../shared.
  vit::ViTConfig config = vit::preset("vit_tiny_patch16_224");
  config.depth = 1;
  config.image_size = 32;
  config.num_classes = 4;
  std::vector<vit::Tensor<float>> storage;
  std::vector<vit::SafetensorsTensor> tensors;
  std::uint32_t seed = 1;
  for (const vit::ExpectedWeight& weight : vit::expected_weights(config))
    storage.push_back(vit::test::random_tensor(weight.shape, seed++, 0.1f));
  std::size_t index = 0;
  for (const vit::ExpectedWeight& weight : vit::expected_weights(config)) tensors.push_back({weight.name, storage[index++]});
  const vit::Model model = vit::load_model(vit::SafetensorsFile::parse(vit::encode_safetensors(tensors)), config);
  const vit::Tensor<float> image = vit::test::random_tensor({1, 3, 32, 32}, 99);

  const vit::PerturbationCurve curve = vit::perturbation_curve(model, image, {3, 1, 0, 2}, 2, 4);
  REQUIRE(curve.probabilities.size() == 5);
  const auto probability = [&](const vit::Tensor<float>& input) {
    const auto logits = model.forward(input).logits;
    return vit::top_k(logits, 4)[0];
  };
  for (const vit::Prediction& prediction : probability(image))
    if (prediction.index == 2) CHECK(curve.probabilities.front() == Approx(prediction.probability).margin(1e-6));
  for (const vit::Prediction& prediction : probability(vit::Tensor<float>({1, 3, 32, 32})))
    if (prediction.index == 2) CHECK(curve.probabilities.back() == Approx(prediction.probability).margin(1e-6));
  CHECK(curve.area > 0);
  CHECK(vit::rank_patches(vit::Tensor<float>({2, 2}).view()) == std::vector<int>{0, 1, 2, 3});  // ties keep order
  VIT_REQUIRE_ERROR(vit::perturbation_curve(model, image, {0, 1, 2}, 2), Catch::Contains("ranks 3 patches"));
}

TEST_CASE("real DeiT-tiny: rollout is more faithful than random patch order", "[explain][real]") {
  const std::string weights = vit::test::shared_path("models/deit_tiny_patch16_224.safetensors");
  const std::string images_dir = vit::test::shared_path("images");
  if (weights.empty() || images_dir.empty()) {
    WARN("SKIPPED: ../shared/models or ../shared/images is not present");
    return;
  }
  const vit::Model model = vit::load_model(weights);
  const vit::Preprocessing preprocessing = vit::preprocessing_for_checkpoint(weights, model.config(), model.naming());
  vit::RolloutOptions options;
  options.discard_ratio = 0.9;  // vit-explain's recommended setting
  double rollout_area = 0, random_area = 0;
  int rollout_wins = 0;
  for (const char* name : {"tench.jpg", "magpie.jpeg", "cheetah.jpg", "panda.jpeg", "apple.jpg", "both.png",
                           "dogbird.png", "plane.png"}) {
    const vit::Tensor<float> input = vit::preprocess({vit::load_image(images_dir + "/" + name)}, preprocessing);
    const vit::RolloutFaithfulness result = vit::rollout_faithfulness(model, input, options, 2);
    std::cout << "faithfulness " << name << ": AUC rollout " << result.rollout.area << ", random "
              << result.random_area << "\n";
    rollout_area += result.rollout.area / 8;
    random_area += result.random_area / 8;
    rollout_wins += result.rollout.area < result.random_area;
  }
  std::cout << "faithfulness mean: AUC rollout " << rollout_area << ", random " << random_area << "\n";
  CHECK(rollout_area < random_area);
  CHECK(rollout_wins >= 6);
}
