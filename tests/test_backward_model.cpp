// The model's backward pass: the cached forward gives the plain forward's bits; the gradients of the input,
// the attention maps and every parameter agree with finite differences of the forward on small random models
// (class token, distilled, both mean poolings, a resized grid, batch > 1); bad calls are clear errors.
// Parity with PyTorch autograd on the committed fixtures is in test_backward_parity.cpp.
#include <catch2/catch.hpp>
#include <string>
#include <vector>
#include <vit/model.hpp>

#include "fixtures.hpp"
#include "gradient_check.hpp"
#include "model_builder.hpp"
#include "support.hpp"
#include "tolerances.hpp"

using vit::Tensor;
using vit::test::random_tensor;
namespace tolerance = vit::test::tolerance;

TEST_CASE("the cached forward gives the plain forward's logits, maps and features bit for bit", "[backward][model]") {
  const vit::test::ModelCase test_case = GENERATE(from_range(vit::test::model_cases()));
  INFO("fixture " << test_case.name);
  const auto expected = vit::SafetensorsFile::open(vit::test::data_path(test_case.name + ".expected.safetensors"));
  const vit::Model model = vit::test::load_model_case(test_case, expected);
  const Tensor<float> input = expected.read_float("input");
  vit::ForwardOptions options;
  options.attentions = true;
  options.features = true;
  const auto plain = model.forward(input, options);
  options.cache = true;
  const auto cached = model.forward(input, options);
  VIT_REQUIRE_CLOSE(cached.logits, plain.logits, 0.0);
  VIT_REQUIRE_CLOSE(cached.features, plain.features, 0.0);
  REQUIRE(cached.attentions.size() == plain.attentions.size());
  for (std::size_t layer = 0; layer < plain.attentions.size(); ++layer) {
    VIT_REQUIRE_CLOSE(cached.attentions[layer], plain.attentions[layer], 0.0);
    VIT_REQUIRE_CLOSE(cached.cache.blocks[layer].attention, plain.attentions[layer], 0.0);
  }
  CHECK(plain.cache.empty());
  CHECK(cached.cache.batch() == input.size(0));
}

namespace {

struct SmallCase {
  std::string name;
  vit::ViTConfig config;
  std::int64_t batch, height, width;
};

std::vector<SmallCase> small_cases() {
  vit::ViTConfig token = vit::test::small_config();
  token.name = "class token";
  vit::ViTConfig distilled = token;
  distilled.name = "distilled";
  distilled.distillation_token = true;
  vit::ViTConfig mean_fc_norm = token;
  mean_fc_norm.name = "mean pooling + fc_norm";
  mean_fc_norm.pooling = vit::Pooling::Mean;
  mean_fc_norm.fc_norm = true;
  vit::ViTConfig mean_norm = mean_fc_norm;
  mean_norm.name = "mean pooling, norm before";
  mean_norm.fc_norm = false;
  vit::ViTConfig plain_resampling = token;
  plain_resampling.name = "resized grid, plain bicubic";
  plain_resampling.pos_embed_resampling = vit::PosEmbedResampling::Bicubic;
  return {{"class token", token, 2, 32, 32},
          {"distilled", distilled, 2, 32, 32},
          {"mean pooling + fc_norm", mean_fc_norm, 1, 32, 32},
          {"mean pooling, norm before", mean_norm, 2, 32, 32},
          {"resized grid, antialiased", token, 1, 40, 24},
          {"resized grid, plain bicubic", plain_resampling, 1, 24, 40}};
}

vit::Model build(const vit::ViTConfig& config, const vit::test::NamedTensors& tensors) {
  return vit::load_model(vit::SafetensorsFile::parse(tensors.encode()), config);
}

}  // namespace

TEST_CASE("model gradients agree with finite differences of the forward", "[backward][model]") {
  const SmallCase test_case = GENERATE(from_range(small_cases()));
  INFO(test_case.name);
  const vit::ViTConfig& config = test_case.config;
  vit::test::NamedTensors tensors = vit::test::random_checkpoint(config, 200);
  const vit::Model model = build(config, tensors);
  const Tensor<float> images = random_tensor({test_case.batch, 3, test_case.height, test_case.width}, 21);
  const Tensor<float> d_logits = random_tensor({test_case.batch, config.num_classes}, 22);

  vit::ForwardOptions forward_options;
  forward_options.cache = true;
  const auto forward = model.forward(images, forward_options);
  vit::BackwardOptions options;
  options.attentions = options.scores = true;
  const auto gradients = model.backward(forward.cache, d_logits, options);

  const auto check = [&](const std::string& what, const vit::test::FiniteDifferenceResult& result) {
    INFO(what << ": max error " << result.max_error << " relative; worst at " << result.worst);
    CHECK(result.max_error < tolerance::kFiniteDifference);
  };
  check("images",
        vit::test::finite_difference_check([&](const Tensor<float>& moved) { return model.forward(moved).logits; },
                                           images, d_logits, gradients.images));
  std::vector<std::string> names = {"pos_embed",
                                    "patch_embed.proj.weight",
                                    "patch_embed.proj.bias",
                                    "blocks.0.norm1.weight",
                                    "blocks.0.attn.qkv.weight",
                                    "blocks.0.attn.qkv.bias",
                                    "blocks.1.attn.proj.weight",
                                    "blocks.1.mlp.fc1.weight",
                                    "blocks.1.mlp.fc2.bias",
                                    "blocks.1.norm2.bias",
                                    "head.weight",
                                    "head.bias",
                                    config.fc_norm ? "fc_norm.weight" : "norm.weight"};
  if (config.class_token) names.push_back("cls_token");
  if (config.distillation_token) names.insert(names.end(), {"dist_token", "head_dist.weight"});
  for (const std::string& name : names) {
    const Tensor<float> original = tensors.at(name).clone();
    const auto moved_loss = [&](const Tensor<float>& moved) {
      std::copy_n(moved.data(), moved.numel(), tensors.at(name).data());
      Tensor<float> logits = build(config, tensors).forward(images).logits;
      std::copy_n(original.data(), original.numel(), tensors.at(name).data());
      return logits;
    };
    check(name, vit::test::finite_difference_check(moved_loss, original, d_logits, gradients.parameters.at(name), 12));
  }
  // Every parameter has a gradient, shaped as its weight.
  for (const vit::ExpectedWeight& weight : vit::expected_weights(config))
    CHECK(gradients.parameters.at(weight.name).shape() == weight.shape);

  // ∂L/∂A and ∂L/∂S are consistent with each other: S's gradient is A's through the softmax Jacobian.
  for (std::size_t layer = 0; layer < gradients.attentions.size(); ++layer) {
    const Tensor<float>& a = forward.cache.blocks[layer].attention;
    const Tensor<float>& da = gradients.attentions[layer];
    const std::int64_t n = a.size(3);
    Tensor<float> ds = Tensor<float>::uninitialized(a.shape());
    for (std::int64_t row = 0; row < a.numel() / n; ++row) {
      double dot = 0;
      for (std::int64_t j = 0; j < n; ++j) dot += double(a[row * n + j]) * da[row * n + j];
      for (std::int64_t j = 0; j < n; ++j) ds[row * n + j] = float(a[row * n + j] * (da[row * n + j] - dot));
    }
    VIT_REQUIRE_CLOSE(gradients.scores[layer], ds, 1e-5 * vit::test::scale_of(ds));
  }
}

TEST_CASE("the reported score gradient is the one that reaches the parameters", "[backward][model]") {
  // A chain of evidence for ∂L/∂A and ∂L/∂S, which no forward can perturb directly: q's bias moves only the
  // scores, so its gradient (checked by finite differences above) must equal ∂L/∂S contracted with the keys;
  // and ∂L/∂S is ∂L/∂A through the softmax Jacobian (checked above).
  vit::ViTConfig config = vit::test::small_config();
  vit::test::NamedTensors tensors = vit::test::random_checkpoint(config, 300);
  const Tensor<float> images = random_tensor({1, 3, 32, 32}, 23);
  const Tensor<float> d_logits = random_tensor({1, config.num_classes}, 24);
  const std::string name = "blocks.1.attn.qkv.bias";  // q's bias moves only the scores of the last layer
  vit::ForwardOptions forward_options;
  forward_options.cache = true;
  const vit::Model model = build(config, tensors);
  const auto forward = model.forward(images, forward_options);
  vit::BackwardOptions options;
  options.scores = true;
  const auto gradients = model.backward(forward.cache, d_logits, options);
  // ∂L/∂b_q[i] = Σ_{h, query, key} ∂L/∂S[h, query, key] · scale · k[key, i] for q's bias entries of head h.
  const std::int64_t dim = config.embed_dim, heads = config.num_heads, head_dim = dim / heads, n = 17;
  const Tensor<float>& qkv = forward.cache.blocks[1].qkv;
  const double scale = 1.0 / std::sqrt(double(head_dim));
  for (std::int64_t i = 0; i < dim; ++i) {
    const std::int64_t h = i / head_dim;
    double sum = 0;
    for (std::int64_t query = 0; query < n; ++query)
      for (std::int64_t key = 0; key < n; ++key)
        sum += double(gradients.scores[1][(h * n + query) * n + key]) * scale * qkv[key * 3 * dim + dim + i];
    REQUIRE(gradients.parameters.at(name)[i] == Approx(sum).margin(1e-5));
  }
}

TEST_CASE("backward refuses what it cannot differentiate, naming the problem", "[backward][model][errors]") {
  const vit::ViTConfig config = vit::test::small_config();
  const vit::test::NamedTensors tensors = vit::test::random_checkpoint(config);
  const vit::Model model = build(config, tensors);
  const Tensor<float> images = random_tensor({2, 3, 32, 32}, 25);
  const auto plain = model.forward(images);
  VIT_REQUIRE_ERROR(model.backward(plain.cache, random_tensor({2, 5}, 26)),
                    Catch::Contains("ForwardOptions::cache = true"));
  vit::ForwardOptions options;
  options.cache = true;
  const auto cached = model.forward(images, options);
  VIT_REQUIRE_ERROR(model.backward(cached.cache, random_tensor({1, 5}, 27)),
                    Catch::Contains("d_logits") && Catch::Contains("[2, 5]"));

  vit::ViTConfig headless = config;
  headless.num_classes = 0;
  const vit::Model backbone = build(headless, vit::test::random_checkpoint(headless));
  const auto features = backbone.forward(images, options);
  VIT_REQUIRE_ERROR(backbone.backward(features.cache, random_tensor({2, 5}, 28)),
                    Catch::Contains("no classification head"));

  vit::ViTConfig deeper = config;
  deeper.depth = 3;
  const vit::Model other = build(deeper, vit::test::random_checkpoint(deeper));
  VIT_REQUIRE_ERROR(other.backward(cached.cache, random_tensor({2, 5}, 29)),
                    Catch::Contains("does not come from this model"));
}
