// Strict checkpoint loading and forward-pass invariants on random models built in memory.
#include <catch2/catch.hpp>

#include <vit/model.hpp>

#include "model_builder.hpp"
#include "support.hpp"

using vit::test::random_checkpoint;
using vit::test::small_config;

namespace {

vit::SafetensorsFile parse(const vit::test::NamedTensors& tensors) {
  return vit::SafetensorsFile::parse(tensors.encode(), "model.safetensors");
}

void require_load_error(const vit::test::NamedTensors& tensors, const vit::ViTConfig& config, const std::string& fragment) {
  INFO("expected an error containing: " << fragment);
  VIT_REQUIRE_ERROR(vit::load_model(parse(tensors), config),
                    Catch::Contains("model.safetensors") && Catch::Contains(fragment));
}

}  // namespace

TEST_CASE("loading: a complete checkpoint loads with its config and by inference", "[model][loading]") {
  const vit::ViTConfig config = small_config();
  const auto tensors = random_checkpoint(config);
  const vit::Model model = vit::load_model(parse(tensors), config);
  CHECK(model.naming() == vit::CheckpointNaming::Timm);
  auto original = random_checkpoint(config);
  VIT_REQUIRE_CLOSE(model.weight("blocks.1.mlp.fc2.weight"), original.at("blocks.1.mlp.fc2.weight"), 0.0);

  // embed_dim 48 is not a standard width, so the head count cannot be inferred...
  CHECK_THROWS_WITH(vit::load_model(parse(tensors)), Catch::Contains("heads"));
  // ...but a standard one can.
  vit::ViTConfig standard = config;
  standard.embed_dim = 192;
  standard.num_heads = 3;
  const vit::Model inferred = vit::load_model(parse(random_checkpoint(standard)));
  CHECK(inferred.config().num_heads == 3);
  CHECK(inferred.config().depth == 2);
  CHECK(inferred.config().image_size == 32);
  CHECK(inferred.config().mlp_dim == 96);
  CHECK(inferred.config().num_classes == 5);
}

TEST_CASE("loading: missing, unexpected and mis-shaped tensors are named", "[model][loading][errors]") {
  const vit::ViTConfig config = small_config();

  auto missing = random_checkpoint(config);
  missing.erase("blocks.1.norm2.bias");
  require_load_error(missing, config, "missing tensor 'blocks.1.norm2.bias'");

  auto extra = random_checkpoint(config);
  extra.tensors.emplace_back("blocks.0.ls1.gamma", vit::test::random_tensor({48}, 1));
  require_load_error(extra, config, "unexpected tensor 'blocks.0.ls1.gamma'");

  auto wrong_shape = random_checkpoint(config);
  wrong_shape.at("blocks.0.attn.qkv.weight") = vit::test::random_tensor({48, 144}, 2);
  require_load_error(wrong_shape, config, "'blocks.0.attn.qkv.weight' has shape [48, 144], expected [144, 48]");
}

TEST_CASE("loading: a config that contradicts the weights is an error", "[model][loading][errors]") {
  const vit::ViTConfig config = small_config();
  const auto tensors = random_checkpoint(config);

  vit::ViTConfig deeper = config;
  deeper.depth = 3;
  require_load_error(tensors, deeper, "missing tensor 'blocks.2.norm1.weight'");

  vit::ViTConfig shallower = config;
  shallower.depth = 1;
  require_load_error(tensors, shallower, "unexpected tensor 'blocks.1.");

  vit::ViTConfig more_classes = config;
  more_classes.num_classes = 1000;
  require_load_error(tensors, more_classes, "'head.weight' has shape [5, 48], expected [1000, 48]");

  vit::ViTConfig bigger_image = config;
  bigger_image.image_size = 64;
  require_load_error(tensors, bigger_image, "'pos_embed' has shape [1, 17, 48], expected [1, 65, 48]");

  vit::ViTConfig distilled = config;
  distilled.distillation_token = true;
  require_load_error(tensors, distilled, "missing tensor 'dist_token'");

  vit::ViTConfig no_bias = config;
  no_bias.qkv_bias = false;
  require_load_error(tensors, no_bias, "unexpected tensor 'blocks.0.attn.qkv.bias'");
}

TEST_CASE("loading: F16 and BF16 checkpoints load, integer weights do not", "[model][loading]") {
  const vit::ViTConfig config = small_config();
  auto tensors = random_checkpoint(config);
  for (vit::DType dtype : {vit::DType::F16, vit::DType::BF16}) {
    INFO(vit::dtype_name(dtype));
    const vit::Model model = vit::load_model(vit::SafetensorsFile::parse(tensors.encode(dtype)), config);
    const vit::Tensor<float>& original = tensors.at("blocks.0.mlp.fc1.weight");
    const auto loaded = model.weight("blocks.0.mlp.fc1.weight");
    for (std::int64_t i = 0; i < original.numel(); ++i) {
      const float rounded = dtype == vit::DType::F16 ? vit::to_float(vit::to_half(original[i]))
                                                     : vit::to_float(vit::to_bfloat16(original[i]));
      REQUIRE(loaded[i] == rounded);
    }
  }
  // The same bytes declared as a 16-bit integer type: same size, so only the dtype check can catch it.
  std::vector<std::uint8_t> bytes = tensors.encode(vit::DType::F16, "norm.weight");
  std::string text(bytes.begin(), bytes.end());
  const std::size_t at = text.find(R"("dtype":"F16")");
  REQUIRE(at != std::string::npos);
  text.replace(at, 13, R"("dtype":"I16")");
  const vit::SafetensorsFile lying = vit::SafetensorsFile::parse({text.begin(), text.end()}, "model.safetensors");
  CHECK_THROWS_WITH(vit::load_model(lying, config), Catch::Contains("'norm.weight'") && Catch::Contains("I16"));
}

TEST_CASE("forward: bad image tensors are rejected with their shape", "[model][errors]") {
  const vit::ViTConfig config = small_config();
  const vit::Model model = vit::load_model(parse(random_checkpoint(config)), config);
  CHECK_THROWS_WITH(model.forward(vit::Tensor<float>({3, 32, 32})), Catch::Contains("[B, C, H, W]"));
  CHECK_THROWS_WITH(model.forward(vit::Tensor<float>({1, 1, 32, 32})), Catch::Contains("3 channels"));
  CHECK_THROWS_WITH(model.forward(vit::Tensor<float>({1, 3, 30, 32})), Catch::Contains("multiples of the patch size"));
  CHECK_THROWS_WITH(model.forward(vit::Tensor<float>({0, 3, 32, 32})), Catch::Contains("empty"));
}

TEST_CASE("forward: maps and features are extra outputs that change nothing else", "[model]") {
  const vit::ViTConfig config = small_config();
  const vit::Model model = vit::load_model(parse(random_checkpoint(config)), config);
  const auto images = vit::test::random_tensor({3, 3, 32, 32}, 20);

  const auto plain = model.forward(images);
  CHECK(plain.attentions.empty());
  CHECK(plain.features.empty());
  REQUIRE(plain.logits.shape() == vit::Shape{3, 5});

  vit::ForwardOptions options;
  options.attentions = true;
  options.features = true;
  const auto full = model.forward(images, options);
  VIT_REQUIRE_CLOSE(full.logits, plain.logits, 0.0);  // bit-identical
  REQUIRE(full.attentions.size() == 2);
  CHECK(full.features.shape() == vit::Shape{3, 48});
  for (const auto& map : full.attentions) {
    REQUIRE(map.shape() == vit::Shape{3, 3, 17, 17});
    for (std::int64_t row = 0; row < map.numel() / 17; ++row) {
      double sum = 0;
      for (std::int64_t key = 0; key < 17; ++key) sum += map[row * 17 + key];
      REQUIRE(sum == Approx(1.0).margin(1e-5));
    }
  }
}

TEST_CASE("forward: a batch equals its images run one by one, on any thread count", "[model]") {
  const vit::ViTConfig config = small_config();
  const vit::Model model = vit::load_model(parse(random_checkpoint(config)), config);
  const auto images = vit::test::random_tensor({3, 3, 32, 32}, 21);
  vit::Context one_thread;
  one_thread.threads = 1;
  vit::Context two_threads;
  two_threads.threads = 2;
  const auto batched = model.forward(images, {}, two_threads);
  for (std::int64_t image = 0; image < 3; ++image) {
    const auto single = model.forward(images.view().rows(image, image + 1), {}, one_thread);
    VIT_REQUIRE_CLOSE(single.logits.view().slice(0), batched.logits.view().slice(image), 1e-5);
  }
}
