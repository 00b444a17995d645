// Every CPU op against its plain reference, on real ViT shapes and awkward ones, with 1 and 2 threads.
#include <catch2/catch.hpp>

#include <cmath>
#include <thread>
#include <vector>

#include <vit/cpu/attention.hpp>
#include <vit/cpu/bicubic_resize.hpp>
#include <vit/cpu/gelu.hpp>
#include <vit/cpu/layer_norm.hpp>
#include <vit/cpu/linear.hpp>
#include <vit/cpu/patch_unfold.hpp>
#include <vit/cpu/reference/attention.hpp>
#include <vit/cpu/reference/gelu.hpp>
#include <vit/cpu/reference/layer_norm.hpp>
#include <vit/cpu/reference/linear.hpp>
#include <vit/cpu/reference/patch_embedding.hpp>

#include "support.hpp"
#include "tolerances.hpp"

using vit::test::random_tensor;
namespace tolerance = vit::test::tolerance;

TEST_CASE("cpu::linear matches the reference", "[ops][linear]") {
  const auto [rows, in, out] = GENERATE(table<std::int64_t, std::int64_t, std::int64_t>(
      {{197, 192, 576}, {394, 768, 3072}, {50, 3072, 768}, {1, 7, 5}, {129, 33, 17}, {3, 1, 1}, {4, 0, 3}}));
  const int threads = GENERATE(1, 2);
  INFO("rows " << rows << ", in " << in << ", out " << out << ", threads " << threads);
  const auto x = random_tensor({rows, in}, 1);
  const auto weight = random_tensor({out, in}, 2, 1.0f / std::sqrt(float(in)));
  const auto bias = random_tensor({out}, 3);
  const auto expected = vit::cpu::reference::linear(x, weight, bias);
  vit::Context context;
  context.threads = threads;

  vit::Tensor<float> y({rows, out});
  vit::cpu::linear(context, x, weight, bias, y);
  VIT_REQUIRE_CLOSE(y, expected, tolerance::kLinear);

  // Accumulate adds onto what is there: starting from y = expected, the result is 2·expected.
  vit::cpu::linear(context, x, weight, bias, y, vit::Output::Accumulate);
  vit::Tensor<float> doubled = expected.clone();
  for (std::int64_t i = 0; i < doubled.numel(); ++i) doubled[i] *= 2;
  VIT_REQUIRE_CLOSE(y, doubled, 2 * tolerance::kLinear);

  // No bias.
  vit::cpu::linear(context, x, weight, {}, y);
  VIT_REQUIRE_CLOSE(y, vit::cpu::reference::linear(x, weight, {}), tolerance::kLinear);

  // GELU: the reference GELU of the reference product.
  vit::cpu::linear(context, x, weight, bias, y, vit::Output::Overwrite, vit::cpu::Activation::Gelu);
  VIT_REQUIRE_CLOSE(y, vit::cpu::reference::gelu(expected), tolerance::kLinear + tolerance::kGelu);

  // GELU with its input kept (what training's backward pass needs): the same output, x · Wᵀ + b beside it.
  vit::Tensor<float> pre_activation({rows, out});
  vit::cpu::linear(context, x, weight, bias, y, vit::Output::Overwrite, vit::cpu::Activation::Gelu, pre_activation);
  VIT_REQUIRE_CLOSE(pre_activation, expected, tolerance::kLinear);
  VIT_REQUIRE_CLOSE(y, vit::cpu::reference::gelu(expected), tolerance::kLinear + tolerance::kGelu);
}

// The oneDNN path keeps one primitive per shape for the whole process and runs it from whichever thread
// calls: threads running the same shape at once, and calls from inside an OpenMP parallel region (where
// oneDNN runs on the calling thread), must each get their own product.
TEST_CASE("cpu::linear called from several threads at once", "[ops][linear]") {
  constexpr int kCallers = 4;
  const std::int64_t rows = 197, in = 192, out = 576;
  const auto weight = random_tensor({out, in}, 2, 1.0f / std::sqrt(float(in)));
  const auto bias = random_tensor({out}, 3);
  std::vector<vit::Tensor<float>> inputs, outputs, expected;
  for (int caller = 0; caller < kCallers; ++caller) {
    inputs.push_back(random_tensor({rows, in}, std::uint32_t(10 + caller)));
    outputs.emplace_back(vit::Shape{rows, out});
    expected.push_back(vit::cpu::reference::gelu(vit::cpu::reference::linear(inputs.back(), weight, bias)));
  }
  vit::Context context;
  context.threads = 2;
  const auto call = [&](int caller) {
    for (int repeat = 0; repeat < 20; ++repeat)
      vit::cpu::linear(context, inputs[std::size_t(caller)], weight, bias, outputs[std::size_t(caller)],
                       vit::Output::Overwrite, vit::cpu::Activation::Gelu);
  };
  SECTION("std::threads") {
    std::vector<std::thread> callers;
    for (int caller = 0; caller < kCallers; ++caller) callers.emplace_back(call, caller);
    for (std::thread& caller : callers) caller.join();
  }
  SECTION("inside an OpenMP parallel region") {
    vit::cpu::parallel_for(kCallers, kCallers, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t caller = begin; caller < end; ++caller) call(int(caller));
    });
  }
  for (int caller = 0; caller < kCallers; ++caller)
    VIT_REQUIRE_CLOSE(outputs[std::size_t(caller)], expected[std::size_t(caller)],
                      tolerance::kLinear + tolerance::kGelu);
}

TEST_CASE("cpu::linear refuses an activation on an accumulated output", "[ops][linear]") {
  const auto x = random_tensor({4, 8}, 1), weight = random_tensor({6, 8}, 2), bias = random_tensor({6}, 3);
  vit::Tensor<float> y({4, 6});
  VIT_REQUIRE_ERROR(
      vit::cpu::linear(vit::Context{}, x, weight, bias, y, vit::Output::Accumulate, vit::cpu::Activation::Gelu),
      Catch::Contains("an activation applies to a fresh output"));
}

TEST_CASE("cpu::layer_norm matches the reference", "[ops][layer_norm]") {
  const auto [rows, dim] = GENERATE(table<std::int64_t, std::int64_t>({{197, 192}, {50, 768}, {1, 1}, {7, 129}}));
  const float eps = GENERATE(1e-6f, 1e-12f);
  const float offset = GENERATE(0.0f, 100.0f);  // a large mean must not cost accuracy (two-pass variance)
  INFO("rows " << rows << ", dim " << dim << ", eps " << eps << ", offset " << offset);
  auto x = random_tensor({rows, dim}, 4);
  for (std::int64_t i = 0; i < x.numel(); ++i) x[i] += offset;
  const auto weight = random_tensor({dim}, 5), bias = random_tensor({dim}, 6);
  vit::Tensor<float> y({rows, dim});
  vit::Context context;
  vit::cpu::layer_norm(context, x, weight, bias, eps, y);
  // dim 1: variance 0, output = bias exactly; in general, tolerance scales with |weight| ~ 1.
  VIT_REQUIRE_CLOSE(y, vit::cpu::reference::layer_norm(x, weight, bias, eps),
                    tolerance::kLayerNorm * (1 + offset / 10));
}

TEST_CASE("cpu GELU is the exact erf GELU", "[ops][gelu]") {
  auto x = random_tensor({1000}, 7, 3.0f);
  x[0] = -2.0f;
  const auto expected = vit::cpu::reference::gelu(x);
  vit::cpu::detail::gelu_span(x.data(), x.numel());
  VIT_REQUIRE_CLOSE(x, expected, tolerance::kGelu);
  // Distinguishes the exact form from the tanh approximation (they differ by ~1e-4 near |x| = 2).
  CHECK(x[0] == Approx(-0.04550026389635842).margin(1e-6));
}

TEST_CASE("cpu::attention matches the reference, with and without probabilities", "[ops][attention]") {
  const auto [batch, tokens, heads, head_dim] = GENERATE(table<std::int64_t, std::int64_t, int, std::int64_t>(
      {{1, 197, 3, 64}, {2, 50, 12, 64}, {1, 577, 1, 64}, {3, 1, 2, 8}, {3, 7, 3, 16}, {1, 129, 2, 32}}));
  const int threads = GENERATE(1, 2);
  INFO("batch " << batch << ", tokens " << tokens << ", heads " << heads << ", head_dim " << head_dim << ", threads "
                << threads);
  const std::int64_t dim = heads * head_dim;
  const auto qkv = random_tensor({batch, tokens, 3 * dim}, 8, 0.4f);  // peaky enough to be non-uniform
  const auto expected = vit::cpu::reference::attention(qkv, heads);
  vit::Context context;
  context.threads = threads;

  vit::Tensor<float> out({batch, tokens, dim});
  vit::Tensor<float> probabilities({batch, heads, tokens, tokens});
  vit::cpu::attention(context, qkv, heads, out, probabilities);
  VIT_REQUIRE_CLOSE(out, expected.out, tolerance::kAttention);
  VIT_REQUIRE_CLOSE(probabilities, expected.probabilities, tolerance::kProbabilities);

  vit::Tensor<float> out_without_maps({batch, tokens, dim});
  vit::cpu::attention(context, qkv, heads, out_without_maps);
  VIT_REQUIRE_CLOSE(out_without_maps, out, 0.0);  // asking for maps never changes the output
}

TEST_CASE("patch unfold + linear equals the direct convolution", "[ops][patch_embedding]") {
  const auto [batch, channels, height, width, patch] =
      GENERATE(table<std::int64_t, std::int64_t, std::int64_t, std::int64_t, int>(
          {{2, 3, 32, 32, 8}, {1, 3, 48, 40, 8}, {1, 1, 16, 16, 16}, {3, 2, 4, 12, 4}}));
  const std::int64_t dim = 24, grid = (height / patch) * (width / patch), row = channels * patch * patch;
  const auto images = random_tensor({batch, channels, height, width}, 9);
  const auto weight = random_tensor({dim, channels, patch, patch}, 10, 1.0f / std::sqrt(float(row)));
  const auto bias = random_tensor({dim}, 11);
  vit::Context context;
  vit::Tensor<float> patches({batch * grid, row}), tokens({batch * grid, dim});
  vit::cpu::patch_unfold(context, images, patch, patches);
  vit::cpu::linear(context, patches, weight.view().reshape({dim, row}), bias, tokens);
  VIT_REQUIRE_CLOSE(tokens.view().reshape({batch, grid, dim}),
                    vit::cpu::reference::patch_embedding(images, weight, bias), tolerance::kLinear);
}

TEST_CASE("bicubic resize: same size is the identity, weights sum to one", "[ops][resize]") {
  const auto grid = random_tensor({5, 6, 4}, 12);
  for (bool antialias : {false, true}) {
    VIT_REQUIRE_CLOSE(vit::cpu::bicubic_resize(grid, 5, 6, antialias), grid, 1e-6);
    for (auto [in, out] : {std::pair{14, 24}, std::pair{24, 14}, std::pair{4, 1}, std::pair{1, 5}}) {
      const auto weights =
          antialias ? vit::cpu::bicubic_antialias_weights(in, out) : vit::cpu::bicubic_weights(in, out);
      for (const auto& taps : weights.weights) {
        double sum = 0;
        for (float w : taps) sum += w;
        REQUIRE(sum == Approx(1.0).margin(1e-6));
      }
    }
  }
  // A constant grid stays constant at any size.
  vit::Tensor<float> constant({4, 4, 2});
  for (std::int64_t i = 0; i < constant.numel(); ++i) constant[i] = 3.5f;
  for (bool antialias : {false, true}) {
    const auto resized = vit::cpu::bicubic_resize(constant, 7, 3, antialias);
    for (std::int64_t i = 0; i < resized.numel(); ++i) REQUIRE(resized[i] == Approx(3.5f).margin(1e-5));
  }
}
