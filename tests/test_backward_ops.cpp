// Every CPU backward op against its double-precision reference (cpu/reference/), at ViT shapes and awkward
// ones, with 1 and 2 threads; and the references themselves against finite differences of the forward, so
// that the oracle is checked too.
#include <catch2/catch.hpp>
#include <cmath>
#include <vit/cpu/assemble_tokens.hpp>
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

#include "gradient_check.hpp"
#include "support.hpp"
#include "tolerances.hpp"

using vit::Tensor;
using vit::test::finite_difference_check;
using vit::test::random_tensor;
using vit::test::scale_of;
namespace tolerance = vit::test::tolerance;

#define VIT_REQUIRE_GRADIENT(actual, expected) \
  VIT_REQUIRE_CLOSE(actual, expected, tolerance::kGradient* scale_of(expected))

#define VIT_REQUIRE_FINITE_DIFFERENCE(forward, x, upstream, analytic)                                     \
  do {                                                                                                    \
    const auto vit_fd = finite_difference_check(forward, x, upstream, analytic);                          \
    INFO("finite differences: max error " << vit_fd.max_error << " relative; worst at " << vit_fd.worst); \
    CHECK(vit_fd.max_error < tolerance::kFiniteDifference);                                               \
  } while (false)

TEST_CASE("cpu::linear_backward matches the reference and finite differences", "[backward][linear]") {
  const auto [rows, in, out] = GENERATE(table<std::int64_t, std::int64_t, std::int64_t>(
      {{197, 192, 576}, {394, 768, 3072}, {50, 3072, 768}, {1, 7, 5}, {129, 33, 17}, {3, 1, 1}, {2, 192, 1000}}));
  const int threads = GENERATE(1, 2);
  INFO("rows " << rows << ", in " << in << ", out " << out << ", threads " << threads);
  const auto x = random_tensor({rows, in}, 1);
  const auto weight = random_tensor({out, in}, 2, 1.0f / std::sqrt(float(in)));
  const auto bias = random_tensor({out}, 3);
  const auto dy = random_tensor({rows, out}, 4);
  const auto expected = vit::cpu::reference::linear_backward(x, weight, dy);
  vit::Context context;
  context.threads = threads;

  Tensor<float> dx({rows, in}), dweight({out, in}), dbias({out});
  vit::cpu::linear_backward(context, x, weight, dy, dx, dweight, dbias);
  VIT_REQUIRE_GRADIENT(dx, expected.x);
  VIT_REQUIRE_GRADIENT(dweight, expected.weight);
  VIT_REQUIRE_GRADIENT(dbias, expected.bias);

  // Parameter gradients accumulate, and dx can be added onto what is there.
  vit::cpu::linear_backward(context, x, weight, dy, dx, dweight, dbias, vit::Output::Accumulate);
  for (Tensor<float>* gradient : {&dx, &dweight, &dbias})
    for (std::int64_t i = 0; i < gradient->numel(); ++i) (*gradient)[i] *= 0.5f;
  VIT_REQUIRE_GRADIENT(dx, expected.x);
  VIT_REQUIRE_GRADIENT(dweight, expected.weight);
  VIT_REQUIRE_GRADIENT(dbias, expected.bias);

  if (rows * in * out <= 200000) {
    VIT_REQUIRE_FINITE_DIFFERENCE(
        [&](const Tensor<float>& moved) { return vit::cpu::reference::linear(moved, weight, bias); }, x, dy,
        expected.x);
    VIT_REQUIRE_FINITE_DIFFERENCE(
        [&](const Tensor<float>& moved) { return vit::cpu::reference::linear(x, moved, bias); }, weight, dy,
        expected.weight);
    VIT_REQUIRE_FINITE_DIFFERENCE(
        [&](const Tensor<float>& moved) { return vit::cpu::reference::linear(x, weight, moved); }, bias, dy,
        expected.bias);
  }
}

TEST_CASE("cpu::layer_norm_backward matches the reference and finite differences", "[backward][layer_norm]") {
  const auto [rows, dim] = GENERATE(table<std::int64_t, std::int64_t>({{197, 192}, {50, 768}, {1, 2}, {7, 129}}));
  const float eps = GENERATE(1e-6f, 1e-12f);
  const float offset = GENERATE(0.0f, 100.0f);
  const int threads = GENERATE(1, 2);
  INFO("rows " << rows << ", dim " << dim << ", eps " << eps << ", offset " << offset << ", threads " << threads);
  auto x = random_tensor({rows, dim}, 4);
  for (std::int64_t i = 0; i < x.numel(); ++i) x[i] += offset;
  const auto weight = random_tensor({dim}, 5), bias = random_tensor({dim}, 6), dy = random_tensor({rows, dim}, 7);
  const auto expected = vit::cpu::reference::layer_norm_backward(x, weight, eps, dy);
  vit::Context context;
  context.threads = threads;
  Tensor<float> dx({rows, dim}), dweight({dim}), dbias({dim});
  vit::cpu::layer_norm_backward(context, x, weight, eps, dy, dx, dweight, dbias);
  // The float statistics of a row with a large common offset carry its relative rounding (see layer_norm.hpp).
  const double offset_factor = 1 + offset / 10;
  VIT_REQUIRE_CLOSE(dx, expected.x, tolerance::kGradient * scale_of(expected.x) * offset_factor);
  VIT_REQUIRE_CLOSE(dweight, expected.weight, tolerance::kGradient * scale_of(expected.weight) * offset_factor);
  VIT_REQUIRE_GRADIENT(dbias, expected.bias);

  if (offset == 0.0f && eps > 1e-9f) {
    const auto forward = [&](const Tensor<float>& moved) {
      return vit::cpu::reference::layer_norm(moved, weight, bias, eps);
    };
    VIT_REQUIRE_FINITE_DIFFERENCE(forward, x, dy, expected.x);
    VIT_REQUIRE_FINITE_DIFFERENCE(
        [&](const Tensor<float>& moved) { return vit::cpu::reference::layer_norm(x, moved, bias, eps); }, weight, dy,
        expected.weight);
  }
}

TEST_CASE("cpu::gelu_backward is the exact GELU's derivative", "[backward][gelu]") {
  auto x = random_tensor({3000}, 7, 3.0f);
  x[0] = 0.0f;
  x[1] = -8.0f;
  x[2] = 8.0f;
  const auto dy = random_tensor({3000}, 8);
  const auto expected = vit::cpu::reference::gelu_backward(x, dy);
  for (int threads : {1, 2}) {
    vit::Context context;
    context.threads = threads;
    Tensor<float> dx({3000});
    vit::cpu::gelu_backward(context, x, dy, dx);
    VIT_REQUIRE_CLOSE(dx, expected, 4 * tolerance::kGelu * scale_of(expected));
  }
  CHECK(expected[0] == Approx(0.5 * dy[0]).margin(1e-7));  // GELU'(0) = 1/2
  VIT_REQUIRE_FINITE_DIFFERENCE([](const Tensor<float>& moved) { return vit::cpu::reference::gelu(moved); }, x, dy,
                                expected);
}

TEST_CASE("cpu::attention_backward matches the reference and finite differences", "[backward][attention]") {
  const auto [batch, tokens, heads, head_dim] = GENERATE(table<std::int64_t, std::int64_t, int, std::int64_t>(
      {{1, 197, 3, 64}, {2, 50, 12, 64}, {3, 1, 2, 8}, {3, 7, 3, 16}, {1, 129, 2, 32}}));
  const int threads = GENERATE(1, 2);
  INFO("batch " << batch << ", tokens " << tokens << ", heads " << heads << ", head_dim " << head_dim << ", threads "
                << threads);
  const std::int64_t dim = heads * head_dim;
  const auto qkv = random_tensor({batch, tokens, 3 * dim}, 8, 0.4f);
  const auto d_out = random_tensor({batch, tokens, dim}, 9);
  const auto expected = vit::cpu::reference::attention_backward(qkv, heads, d_out);
  vit::Context context;
  context.threads = threads;

  Tensor<float> out({batch, tokens, dim}), probabilities({batch, heads, tokens, tokens});
  vit::cpu::attention(context, qkv, heads, out, probabilities);
  Tensor<float> d_qkv({batch, tokens, 3 * dim}), d_probabilities({batch, heads, tokens, tokens}),
      d_scores({batch, heads, tokens, tokens});
  vit::cpu::attention_backward(context, qkv, probabilities, heads, d_out, d_qkv, d_probabilities, d_scores);
  VIT_REQUIRE_GRADIENT(d_qkv, expected.qkv);
  VIT_REQUIRE_GRADIENT(d_probabilities, expected.probabilities);
  VIT_REQUIRE_GRADIENT(d_scores, expected.scores);

  // Without the optional outputs (per-thread scratch instead): the same d_qkv.
  Tensor<float> d_qkv_lean({batch, tokens, 3 * dim});
  vit::cpu::attention_backward(context, qkv, probabilities, heads, d_out, d_qkv_lean);
  VIT_REQUIRE_CLOSE(d_qkv_lean, d_qkv, 0.0);

  if (batch * tokens <= 60)
    VIT_REQUIRE_FINITE_DIFFERENCE(
        [&](const Tensor<float>& moved) { return vit::cpu::reference::attention(moved, heads).out; }, qkv, d_out,
        expected.qkv);
}

TEST_CASE("patch embedding backward (linear + fold) matches the direct convolution's", "[backward][patch_embedding]") {
  const auto [batch, channels, height, width, patch] =
      GENERATE(table<std::int64_t, std::int64_t, std::int64_t, std::int64_t, int>(
          {{2, 3, 32, 32, 8}, {1, 3, 48, 40, 8}, {1, 1, 16, 16, 16}, {3, 2, 4, 12, 4}}));
  const std::int64_t dim = 24, grid = (height / patch) * (width / patch), row = channels * patch * patch;
  const auto images = random_tensor({batch, channels, height, width}, 9);
  const auto weight = random_tensor({dim, channels, patch, patch}, 10, 1.0f / std::sqrt(float(row)));
  const auto bias = random_tensor({dim}, 11);
  const auto d_out = random_tensor({batch, grid, dim}, 12);
  const auto expected = vit::cpu::reference::patch_embedding_backward(images, weight, d_out);
  vit::Context context;
  Tensor<float> patches({batch * grid, row}), d_patches({batch * grid, row}),
      d_images({batch, channels, height, width});
  Tensor<float> d_weight({dim, channels, patch, patch}), d_bias({dim});
  vit::cpu::patch_unfold(context, images, patch, patches);
  vit::cpu::linear_backward(context, patches, weight.view().reshape({dim, row}),
                            d_out.view().reshape({batch * grid, dim}), d_patches, d_weight.view().reshape({dim, row}),
                            d_bias);
  vit::cpu::patch_unfold_backward(context, d_patches, patch, d_images);
  VIT_REQUIRE_GRADIENT(d_images, expected.images);
  VIT_REQUIRE_GRADIENT(d_weight, expected.weight);
  VIT_REQUIRE_GRADIENT(d_bias, expected.bias);
  VIT_REQUIRE_FINITE_DIFFERENCE(
      [&](const Tensor<float>& moved) { return vit::cpu::reference::patch_embedding(moved, weight, bias); }, images,
      d_out, expected.images);
  VIT_REQUIRE_FINITE_DIFFERENCE(
      [&](const Tensor<float>& moved) { return vit::cpu::reference::patch_embedding(images, moved, bias); }, weight,
      d_out, expected.weight);
}

TEST_CASE("token assembly backward sums over the batch and splits off the patch tokens", "[backward][tokens]") {
  const std::int64_t batch = 3, prefix = 2, patches = 5, dim = 4, tokens = prefix + patches;
  const auto d_tokens = random_tensor({batch, tokens, dim}, 13);
  Tensor<float> d_patch_tokens({batch, patches, dim}), d_prefix({prefix, dim}), d_position({tokens, dim});
  d_position[0] = 1.0f;  // accumulates onto what is there
  vit::cpu::assemble_tokens_backward(vit::Context{}, d_tokens, d_patch_tokens, d_prefix, d_position);
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t i = 0; i < dim; ++i) {
      double sum = t == 0 && i == 0 ? 1.0 : 0.0;
      for (std::int64_t b = 0; b < batch; ++b) sum += d_tokens[(b * tokens + t) * dim + i];
      REQUIRE(d_position[t * dim + i] == Approx(sum).margin(1e-6));
      if (t < prefix) REQUIRE(d_prefix[t * dim + i] == Approx(sum - (t == 0 && i == 0 ? 1.0 : 0.0)).margin(1e-6));
      for (std::int64_t b = 0; b < batch && t >= prefix; ++b)
        REQUIRE(d_patch_tokens[(b * patches + t - prefix) * dim + i] == d_tokens[(b * tokens + t) * dim + i]);
    }
}

TEST_CASE("bicubic resize backward is the forward's adjoint", "[backward][resize]") {
  // <resize(g), d> = <g, resize_backward(d)> for every g and d: the defining property of the transpose.
  for (bool antialias : {false, true})
    for (auto [in_h, in_w, out_h, out_w] :
         {std::array<std::int64_t, 4>{4, 4, 6, 5}, {14, 14, 24, 24}, {14, 14, 7, 9}, {5, 6, 5, 6}, {1, 3, 4, 1}}) {
      INFO("antialias " << antialias << ", " << in_h << "x" << in_w << " -> " << out_h << "x" << out_w);
      const auto grid = random_tensor({in_h, in_w, 3}, 14), d_resized = random_tensor({out_h, out_w, 3}, 15);
      const double forward_side = vit::test::dot(vit::cpu::bicubic_resize(grid, out_h, out_w, antialias), d_resized);
      const double backward_side =
          vit::test::dot(grid, vit::cpu::bicubic_resize_backward(d_resized, in_h, in_w, antialias));
      REQUIRE(forward_side == Approx(backward_side).epsilon(1e-5).margin(1e-5));
    }
}
