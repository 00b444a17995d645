// Attention rollout and raw attention against the NumPy reference in tests/data/rollout
// (tools/make_rollout_fixtures.py), on the attention maps PyTorch recorded for the random models.
#include <catch2/catch.hpp>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <vit/explain.hpp>
#include <vit/io/safetensors.hpp>

#include "fixtures.hpp"
#include "support.hpp"

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
  return parts;
}

struct Recorded {
  std::vector<vit::Tensor<float>> attentions;
  vit::PatchGrid grid;
};

Recorded recorded(const std::string& name) {
  const auto expected = vit::SafetensorsFile::open(vit::test::data_path(name + ".expected.safetensors"));
  const vit::ViTConfig config = vit::test::fixture_config(expected);
  Recorded result;
  for (int layer = 0; layer < config.depth; ++layer)
    result.attentions.push_back(expected.read_float("attention." + std::to_string(layer)));
  const vit::Shape input = expected.at("input").shape;
  result.grid = {config.num_prefix_tokens(), int(input[2]) / config.patch_size, int(input[3]) / config.patch_size};
  return result;
}

}  // namespace

TEST_CASE("rollout matches the NumPy reference for every fusion, discard ratio, start layer and token", "[explain]") {
  const std::string name = GENERATE(as<std::string>{}, "vit_timm", "deit_distilled_timm", "vit_timm_resized");
  INFO("fixture " << name);
  const Recorded input = recorded(name);
  const auto reference = vit::SafetensorsFile::open(vit::test::data_path("rollout/" + name + ".rollout.safetensors"));
  double max_error = 0;
  int compared = 0;
  for (const vit::SafetensorsEntry& entry : reference.entries()) {
    const std::vector<std::string> parts = split(entry.name, '.');
    if (parts.front() != "rollout") continue;
    // rollout.<fusion>.<discard>.<start>.<token>; the discard ratio itself may contain a dot ("0.5").
    REQUIRE(parts.size() >= 5);
    vit::RolloutOptions options;
    options.fusion = vit::parse_head_fusion(parts[1]);
    options.discard_ratio = std::stod(parts.size() == 6 ? parts[2] + "." + parts[3] : parts[2]);
    options.start_layer = std::stoi(parts[parts.size() - 2]);
    options.token = parts.back() == "dist" ? 1 : 0;
    INFO(entry.name);
    const vit::Tensor<float> expected = reference.read_float(entry);
    const vit::Tensor<float> actual = vit::attention_rollout(input.attentions, input.grid, options);
    VIT_REQUIRE_CLOSE(actual, expected, 1e-5);
    max_error = std::max(max_error, vit::test::compare(actual, expected, 1).max_abs);
    ++compared;
  }
  CHECK(compared == 18 * input.grid.prefix_tokens);  // 3 fusions × 3 ratios × 2 start layers per token
  std::cout << "rollout parity " << name << ": " << compared << " maps, max abs error " << max_error << "\n";
  VIT_REQUIRE_CLOSE(vit::raw_attention(input.attentions, input.grid), reference.read_float("raw"), 0.0);
}

TEST_CASE("rollout rejects what it cannot explain, naming the problem", "[explain][errors]") {
  const Recorded input = recorded("vit_timm");
  VIT_REQUIRE_ERROR(vit::parse_head_fusion("median"), Catch::Contains("median") && Catch::Contains("mean, max or min"));
  vit::RolloutOptions options;
  for (double ratio : {-0.1, 1.0, 1.5}) {
    options.discard_ratio = ratio;
    VIT_REQUIRE_ERROR(vit::attention_rollout(input.attentions, input.grid, options), Catch::Contains("discard ratio"));
  }
  options = {};
  VIT_REQUIRE_ERROR(vit::attention_rollout(vit::AttentionLayers{}, input.grid, options), Catch::Contains("ForwardOptions::attentions"));
  VIT_REQUIRE_ERROR(vit::attention_rollout(input.attentions, {1, 5, 5}, options),
                    Catch::Contains("17 tokens do not fit a 5x5 patch grid"));
  options.token = 1;
  VIT_REQUIRE_ERROR(vit::attention_rollout(input.attentions, input.grid, options), Catch::Contains("token 1"));
  options = {};
  options.start_layer = 2;
  VIT_REQUIRE_ERROR(vit::attention_rollout(input.attentions, input.grid, options), Catch::Contains("start layer 2"));
}
