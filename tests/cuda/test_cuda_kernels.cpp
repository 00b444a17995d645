// Every CUDA kernel (and the cuBLAS linear) against the CPU reference, per activation dtype, on real ViT
// shapes (N = 50, 197, 577; head dim 64; 3-16 heads; batch 1-64) and awkward ones (N = 1, 7, 129; batch 3;
// head dims 16, 32, 80, 128). The references are fed the same dtype-rounded inputs as the device, so the
// tolerances (tests/tolerances.hpp) only cover fp32 arithmetic and one rounding of 16-bit outputs.
// Without a CUDA device each test case passes with "SKIPPED: no CUDA device". VIT_CUDA_QUICK=1 (set by
// tools/gpu_check.sh for compute-sanitizer, which slows kernels 10-100x) leaves out the largest attention shapes.
// On the CUDA emulator (kEmulated) the two largest attention shapes are cut: ViT-L/16's 16 heads to 2 (N = 577
// kept) and the batch of 64 to 3; every other shape runs as on a GPU.
#include <cstdlib>
#include <vit/cpu/assemble_tokens.hpp>
#include <vit/cpu/patch_unfold.hpp>
#include <vit/cpu/reference/attention.hpp>
#include <vit/cpu/reference/gelu.hpp>
#include <vit/cpu/reference/layer_norm.hpp>
#include <vit/cpu/reference/linear.hpp>
#include <vit/cpu/softmax.hpp>

#include "device.hpp"

namespace tolerance = vit::test::tolerance;
using vit::DType;
using vit::Tensor;
using vit::test::DeviceTensor;
using vit::test::output_tolerance;
using vit::test::random_tensor;
using vit::test::rounded;

namespace {

const std::vector<DType> kDtypes = {DType::F32, DType::F16, DType::BF16};

struct AttentionShape {
  int batch, tokens, heads, head_dim;
};

}  // namespace

TEST_CASE("CUDA attention matches the reference, outputs and maps, per dtype", "[cuda][kernels][attention]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const AttentionShape original = GENERATE(values<AttentionShape>({
      {1, 197, 3, 64},   // DeiT-tiny
      {2, 50, 12, 64},   // ViT-B/32 at 224
      {1, 577, 16, 64},  // ViT-L/16 at 384
      {64, 197, 3, 64},  // a large batch
      {3, 1, 4, 64},     // a single token
      {3, 7, 2, 32},     // fewer keys than a tile, head dim 32
      {3, 129, 2, 80},   // one key past four tiles, head dim 80 (not a multiple of 32)
      {2, 129, 2, 128},  // head dim 128
      {1, 33, 5, 64},    // one key past a tile, query rows not a multiple of the warps per block
      {2, 17, 3, 16},    // head dim 16 (the committed fixtures), half the lanes idle in the output
  }));
  AttentionShape shape = original;
  if (vit::test::kEmulated && shape.heads == 16) shape.heads = 2;  // 1 · 577 · 16 heads: 1.1e9 fiber switches a dtype
  if (vit::test::kEmulated && shape.batch == 64) shape.batch = 3;  // 64 · 197 · 3 heads: 0.8e9 fiber switches a dtype
  const DType dtype = GENERATE_COPY(from_range(kDtypes));
  if (std::getenv("VIT_CUDA_QUICK") != nullptr && std::int64_t(shape.batch) * shape.tokens > 1000) {
    WARN("SKIPPED under VIT_CUDA_QUICK (compute-sanitizer runs): B " << shape.batch << ", N " << shape.tokens);
    return;
  }
  INFO("B " << shape.batch << ", N " << shape.tokens << ", H " << shape.heads << ", d " << shape.head_dim << ", "
            << vit::test::dtype_label(dtype));
  const std::int64_t dim = std::int64_t(shape.heads) * shape.head_dim;
  const Tensor<float> qkv = rounded(random_tensor({shape.batch, shape.tokens, 3 * dim}, 11, 1.0f), dtype);
  const auto expected = vit::cpu::reference::attention(qkv, shape.heads);

  const DeviceTensor device_qkv = DeviceTensor::upload(qkv, dtype);
  DeviceTensor out({shape.batch, shape.tokens, dim}, dtype);
  DeviceTensor maps({shape.batch, shape.heads, shape.tokens, shape.tokens}, DType::F32);
  vit::cuda::launch::attention(dtype, device_qkv.data(), out.data(), maps.f32(), shape.batch, shape.tokens, shape.heads,
                               shape.head_dim, nullptr);
  const Tensor<float> out_with_maps = out.download();
  VIT_REQUIRE_CLOSE(out_with_maps, expected.out, output_tolerance(dtype, tolerance::kAttention, expected.out));
  VIT_REQUIRE_CLOSE(maps.download(), expected.probabilities, tolerance::kProbabilities);  // fp32 for every dtype

  // Asking for the maps must not change the output: the fast path gives the same bits.
  DeviceTensor out_fast({shape.batch, shape.tokens, dim}, dtype);
  vit::cuda::launch::attention(dtype, device_qkv.data(), out_fast.data(), nullptr, shape.batch, shape.tokens,
                               shape.heads, shape.head_dim, nullptr);
  VIT_REQUIRE_CLOSE(out_fast.download(), out_with_maps, 0.0);
}

TEST_CASE("CUDA attention refuses head dimensions it has no kernel for", "[cuda][kernels][attention]") {
  VIT_REQUIRE_CUDA_DEVICE();
  DeviceTensor qkv({1, 4, 3 * 48}, DType::F32), out({1, 4, 48}, DType::F32);
  VIT_REQUIRE_ERROR(vit::cuda::launch::attention(DType::F32, qkv.data(), out.data(), nullptr, 1, 4, 1, 48, nullptr),
                    Catch::Contains("head dimension 48"));
}

TEST_CASE("CUDA softmax matches the CPU softmax", "[cuda][kernels][softmax]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const int cols = GENERATE(1, 7, 197, 577, 1000);
  const DType dtype = GENERATE_COPY(from_range(kDtypes));
  INFO("cols " << cols << ", " << vit::test::dtype_label(dtype));
  const std::int64_t rows = 37;
  const Tensor<float> x = rounded(random_tensor({rows, cols}, 5, 3.0f), dtype);
  Tensor<float> expected = x.clone();
  for (std::int64_t row = 0; row < rows; ++row) vit::cpu::softmax_row(expected.data() + row * cols, cols);
  DeviceTensor device_x = DeviceTensor::upload(x, dtype);
  vit::cuda::launch::softmax(dtype, device_x.data(), device_x.data(), rows, cols, nullptr);  // in place
  VIT_REQUIRE_CLOSE(device_x.download(), expected, output_tolerance(dtype, tolerance::kProbabilities, expected));
}

TEST_CASE("CUDA residual add + LayerNorm matches the reference", "[cuda][kernels][layer_norm]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const std::int64_t rows = GENERATE(1, 394, 1731);  // 2 × 197, 3 × 577
  const int dim = GENERATE(48, 192, 768, 1000);
  const DType dtype = GENERATE_COPY(from_range(kDtypes));
  INFO("rows " << rows << ", dim " << dim << ", " << vit::test::dtype_label(dtype));
  const Tensor<float> x = random_tensor({rows, dim}, 1), delta = random_tensor({rows, dim}, 2);
  const Tensor<float> delta_bias = random_tensor({dim}, 3), gamma = random_tensor({dim}, 4, 0.5f),
                      beta = random_tensor({dim}, 6, 0.5f);
  Tensor<float> sum = Tensor<float>::uninitialized({rows, dim});
  for (std::int64_t i = 0; i < sum.numel(); ++i) sum[i] = x[i] + (delta[i] + delta_bias[i % dim]);
  const Tensor<float> expected = vit::cpu::reference::layer_norm(sum, gamma, beta, 1e-6f);

  const DeviceTensor device_x = DeviceTensor::upload(x, DType::F32),
                     device_delta = DeviceTensor::upload(delta, DType::F32);
  const DeviceTensor device_bias = DeviceTensor::upload(delta_bias, DType::F32);
  const DeviceTensor device_gamma = DeviceTensor::upload(gamma, DType::F32),
                     device_beta = DeviceTensor::upload(beta, DType::F32);
  DeviceTensor out({rows, dim}, dtype);
  vit::cuda::launch::residual_layer_norm(dtype, device_x.f32(), device_delta.f32(), device_bias.f32(),
                                         device_gamma.f32(), device_beta.f32(), out.data(), rows, dim, 1e-6f, nullptr);
  VIT_REQUIRE_CLOSE(device_x.download(), sum, 1e-6);  // the residual stream, updated in place
  VIT_REQUIRE_CLOSE(out.download(), expected, output_tolerance(dtype, tolerance::kLayerNorm, expected));

  // Without gamma only the add runs: x grows by delta once more, `out` is left alone.
  vit::cuda::launch::residual_layer_norm(dtype, device_x.f32(), device_delta.f32(), nullptr, nullptr, nullptr, nullptr,
                                         rows, dim, 1e-6f, nullptr);
  Tensor<float> twice = sum.clone();
  for (std::int64_t i = 0; i < twice.numel(); ++i) twice[i] += delta[i];
  VIT_REQUIRE_CLOSE(device_x.download(), twice, 1e-5);
}

TEST_CASE("CUDA bias + GELU epilogue matches the reference", "[cuda][kernels][gelu]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const int cols = GENERATE(7, 576, 3072);
  const bool gelu = GENERATE(true, false);
  const DType dtype = GENERATE_COPY(from_range(kDtypes));
  INFO("cols " << cols << (gelu ? ", GELU, " : ", bias only, ") << vit::test::dtype_label(dtype));
  const std::int64_t rows = 197;
  const Tensor<float> acc = random_tensor({rows, cols}, 8, 2.0f), bias = random_tensor({cols}, 9);
  Tensor<float> biased = acc.clone();
  for (std::int64_t i = 0; i < biased.numel(); ++i) biased[i] += bias[i % cols];
  const Tensor<float> expected = gelu ? vit::cpu::reference::gelu(biased) : biased.clone();
  const DeviceTensor device_acc = DeviceTensor::upload(acc, DType::F32),
                     device_bias = DeviceTensor::upload(bias, DType::F32);
  DeviceTensor out({rows, cols}, dtype);
  vit::cuda::launch::bias_activation(dtype, device_acc.f32(), device_bias.f32(), out.data(), rows, cols, gelu, nullptr);
  VIT_REQUIRE_CLOSE(out.download(), expected, output_tolerance(dtype, tolerance::kGelu, expected));
}

TEST_CASE("CUDA linear (cuBLAS, fp32 accumulation) matches the reference", "[cuda][kernels][linear]") {
  VIT_REQUIRE_CUDA_DEVICE();
  struct LinearShape {
    std::int64_t rows, in, out;
  };
  const LinearShape shape =
      GENERATE(values<LinearShape>({{394, 192, 576}, {3, 768, 1000}, {197, 3072, 768}, {1, 7, 5}}));
  const DType dtype = GENERATE_COPY(from_range(kDtypes));
  INFO("[" << shape.rows << ", " << shape.in << "] x [" << shape.out << ", " << shape.in << "]ᵀ, "
           << vit::test::dtype_label(dtype));
  const Tensor<float> x = rounded(random_tensor({shape.rows, shape.in}, 12), dtype);
  const Tensor<float> w = rounded(random_tensor({shape.out, shape.in}, 13, 1.0f / std::sqrt(float(shape.in))), dtype);
  const Tensor<float> expected = vit::cpu::reference::linear(x, w, {});
  const DeviceTensor device_x = DeviceTensor::upload(x, dtype), device_w = DeviceTensor::upload(w, dtype);
  DeviceTensor y({shape.rows, shape.out}, DType::F32);
  const vit::cuda::Blas blas(nullptr);
  blas.linear(dtype, device_x.data(), device_w.data(), y.f32(), shape.rows, shape.out, shape.in);
  VIT_REQUIRE_CLOSE(y.download(), expected, tolerance::cuda::kLinear);  // fp32 output: no rounding term
}

TEST_CASE("CUDA patch unfolding matches the CPU layout exactly", "[cuda][kernels][patch_unfold]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const int patch = GENERATE(16, 14, 32);
  const DType dtype = GENERATE_COPY(from_range(kDtypes));
  const int batch = 3, channels = 3, height = 2 * patch, width = 3 * patch;
  INFO("patch " << patch << ", " << vit::test::dtype_label(dtype));
  const Tensor<float> images = random_tensor({batch, channels, height, width}, 14);
  const std::int64_t rows = std::int64_t(batch) * 6, row_size = std::int64_t(channels) * patch * patch;
  Tensor<float> expected = Tensor<float>::uninitialized({rows, row_size});
  vit::cpu::patch_unfold(vit::Context{}, images, patch, expected);
  const DeviceTensor device_images = DeviceTensor::upload(images, DType::F32);
  DeviceTensor out({rows, row_size}, dtype);
  vit::cuda::launch::patch_unfold(dtype, device_images.f32(), out.data(), batch, channels, height, width, patch,
                                  nullptr);
  VIT_REQUIRE_CLOSE(out.download(), rounded(expected, dtype), 0.0);  // a copy with one rounding, same on both sides
}

TEST_CASE("CUDA token assembly matches the CPU one", "[cuda][kernels][assemble_tokens]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const int prefix = GENERATE(0, 1, 2);
  const int batch = 3, patches = 196, dim = 192;
  INFO("prefix tokens " << prefix);
  const Tensor<float> acc = random_tensor({batch * patches, dim}, 15), bias = random_tensor({dim}, 16);
  const Tensor<float> prefix_tokens = random_tensor({std::max(prefix, 1), dim}, 17),
                      pos = random_tensor({prefix + patches, dim}, 18);
  Tensor<float> patch_tokens = Tensor<float>::uninitialized({batch, patches, dim});
  for (std::int64_t i = 0; i < patch_tokens.numel(); ++i) patch_tokens[i] = acc[i] + bias[i % dim];
  Tensor<float> expected = Tensor<float>::uninitialized({batch, prefix + patches, dim});
  const vit::TensorView<const float> prefix_view =
      prefix > 0 ? prefix_tokens.view().rows(0, prefix) : vit::TensorView<const float>();
  vit::cpu::assemble_tokens(vit::Context{}, patch_tokens, prefix_view, pos, expected);

  const DeviceTensor device_acc = DeviceTensor::upload(acc, DType::F32),
                     device_bias = DeviceTensor::upload(bias, DType::F32);
  const DeviceTensor device_prefix = DeviceTensor::upload(prefix_tokens, DType::F32),
                     device_pos = DeviceTensor::upload(pos, DType::F32);
  DeviceTensor x({batch, prefix + patches, dim}, DType::F32);
  vit::cuda::launch::assemble_tokens(prefix > 0 ? device_prefix.f32() : nullptr, device_acc.f32(), device_bias.f32(),
                                     device_pos.f32(), x.f32(), batch, prefix, patches, dim, nullptr);
  VIT_REQUIRE_CLOSE(x.download(), expected, 0.0);  // the same two fp32 additions in the same order
}

TEST_CASE("CUDA token pooling: mean over the patches and the class/distillation rows", "[cuda][kernels][mean_tokens]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const int batch = 3, tokens = 198, dim = 192;
  const Tensor<float> x = random_tensor({batch, tokens, dim}, 19);
  const DeviceTensor device_x = DeviceTensor::upload(x, DType::F32);
  struct Range {
    int first, count;
  };
  const Range range = GENERATE(values<Range>({{2, 196}, {0, 1}, {1, 1}, {0, 198}}));
  INFO("tokens [" << range.first << ", " << range.first + range.count << ")");
  Tensor<float> expected({batch, dim});
  for (int image = 0; image < batch; ++image)
    for (int d = 0; d < dim; ++d) {
      double sum = 0;
      for (int token = range.first; token < range.first + range.count; ++token)
        sum += x[(image * tokens + token) * dim + d];
      expected[image * dim + d] = float(sum / range.count);
    }
  DeviceTensor pooled({batch, dim}, DType::F32);
  vit::cuda::launch::mean_tokens(device_x.f32(), pooled.f32(), batch, tokens, dim, range.first, range.count, nullptr);
  VIT_REQUIRE_CLOSE(pooled.download(), expected, 1e-6);
}

TEST_CASE("CUDA dtype conversion rounds exactly as the host does", "[cuda][kernels][convert]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const DType to = GENERATE(DType::F16, DType::BF16);
  Tensor<float> values = random_tensor({4096}, 20, 100.0f);
  // Ties, subnormals, the largest finite values and signed zero, where a wrong rounding mode shows (3e38 is
  // infinite in fp16 on both sides, which the comparison would call NaN: it is overwritten for fp16 below).
  const float specials[] = {0.0f,  -0.0f,  1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 1e-7f, -3e-8f, 65504.0f,
                            3e38f, -1e-40f};
  for (std::size_t i = 0; i < std::size(specials); ++i) values[std::int64_t(i)] = specials[i];
  if (to == DType::F16) values[7] = 1.0f;
  INFO(vit::test::dtype_label(to));
  const DeviceTensor device_values = DeviceTensor::upload(values, DType::F32);
  DeviceTensor out({4096}, to);
  vit::cuda::launch::convert(DType::F32, to, device_values.data(), out.data(), 4096, nullptr);
  VIT_REQUIRE_CLOSE(out.download(), rounded(values, to), 0.0);
}
