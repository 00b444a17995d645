// The whole CUDA forward pass against the CPU model: the committed random fixtures (every pooling and
// token layout, another input size) and the shared DeiT-tiny, per activation dtype; attention maps and
// features too; batches, workspace growth and options that must not change the logits.
#include <iostream>
#include <vit/io.hpp>
#include <vit/model.hpp>

#include "../fixtures.hpp"
#include "device.hpp"

namespace tolerance = vit::test::tolerance;
using vit::DType;
using vit::test::data_path;

namespace {

struct Fixture {
  std::string name;     // tests/data/NAME.expected.safetensors holds the input
  std::string weights;  // relative to tests/data
  bool hugging_face;
};

vit::Model load_fixture(const Fixture& fixture, const vit::SafetensorsFile& expected) {
  const std::string weights = data_path(fixture.weights);
  return fixture.hugging_face ? vit::load_model(weights)
                              : vit::load_model(weights, vit::test::fixture_config(expected));
}

struct ModelTolerance {
  double logits, probabilities;  // logits: relative to 1 + max|logit| for 16-bit dtypes
};

ModelTolerance model_tolerance(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return {tolerance::cuda::kModelLogitsF32, tolerance::cuda::kModelProbabilitiesF32};
    case DType::F16:
      return {tolerance::cuda::kModelLogitsF16, tolerance::cuda::kModelProbabilitiesF16};
    case DType::BF16:
      return {tolerance::cuda::kModelLogitsBF16, tolerance::cuda::kModelProbabilitiesBF16};
  }
  return {0, 0};
}

double logits_tolerance(DType dtype, const vit::Tensor<float>& expected) {
  if (dtype == DType::F32) return model_tolerance(dtype).logits;
  double magnitude = 0;
  for (std::int64_t i = 0; i < expected.numel(); ++i) magnitude = std::max(magnitude, double(std::abs(expected[i])));
  return model_tolerance(dtype).logits * (1 + magnitude);
}

}  // namespace

TEST_CASE("CUDA forward matches the CPU model on the fixtures: logits, maps, features", "[cuda][model]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const Fixture fixture = GENERATE(values<Fixture>({{"vit_timm", "vit_timm.safetensors", false},
                                                    {"vit_hf", "vit_hf/model.safetensors", true},
                                                    {"deit_distilled_timm", "deit_distilled_timm.safetensors", false},
                                                    {"deit_distilled_hf", "deit_distilled_hf/model.safetensors", true},
                                                    {"vit_timm_resized", "vit_timm.safetensors", false},
                                                    {"vit_timm_meanpool", "vit_timm_meanpool.safetensors", false}}));
  const DType dtype = GENERATE(DType::F32, DType::F16, DType::BF16);
  INFO("fixture " << fixture.name << ", " << vit::test::dtype_label(dtype));
  const auto expected_file = vit::SafetensorsFile::open(data_path(fixture.name + ".expected.safetensors"));
  const vit::Model model = load_fixture(fixture, expected_file);
  const vit::Tensor<float> input = expected_file.read_float("input");
  vit::ForwardOptions options;
  options.attentions = true;
  options.features = true;
  const auto expected = model.forward(input, options);

  vit::cuda::CudaModel cuda_model(model, dtype);
  const auto result = cuda_model.forward(input, options);
  const ModelTolerance bounds = model_tolerance(dtype);
  const auto logits = vit::test::compare(result.logits, expected.logits, 1);
  std::cout << "cuda " << fixture.name << " " << vit::test::dtype_label(dtype) << ": logits max abs error "
            << logits.max_abs << "\n";
  VIT_REQUIRE_CLOSE(result.logits, expected.logits, logits_tolerance(dtype, expected.logits));
  VIT_REQUIRE_CLOSE(result.features, expected.features, logits_tolerance(dtype, expected.features));
  REQUIRE(result.attentions.size() == expected.attentions.size());
  for (std::size_t layer = 0; layer < expected.attentions.size(); ++layer) {
    INFO("layer " << layer);
    VIT_REQUIRE_CLOSE(result.attentions[layer], expected.attentions[layer], bounds.probabilities);
  }

  // Asking for maps and features must not change the logits (the same kernels run, plus the map pass).
  const auto plain = cuda_model.forward(input);
  CHECK(plain.attentions.empty());
  CHECK(plain.features.empty());
  VIT_REQUIRE_CLOSE(plain.logits, result.logits, 0.0);
}

TEST_CASE("CUDA forward: batches and workspace growth give the same answers", "[cuda][model]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const auto expected_file = vit::SafetensorsFile::open(data_path("vit_timm.expected.safetensors"));
  const vit::Model model = vit::load_model(data_path("vit_timm.safetensors"), vit::test::fixture_config(expected_file));
  const vit::Tensor<float> input = expected_file.read_float("input");  // [B, 3, H, W]
  REQUIRE(input.size(0) >= 2);
  vit::cuda::CudaModel cuda_model(model, DType::F32);
  // One image first (a small workspace), then the whole batch (it grows), then the image again.
  const vit::TensorView<const float> first = input.view().rows(0, 1);
  const auto single = cuda_model.forward(first);
  const auto batch = cuda_model.forward(input);
  const auto single_again = cuda_model.forward(first);
  VIT_REQUIRE_CLOSE(single_again.logits, single.logits, 0.0);
  const vit::Tensor<float> batch_first = [&] {
    vit::Tensor<float> row = vit::Tensor<float>::uninitialized({1, batch.logits.size(1)});
    std::copy_n(batch.logits.data(), row.numel(), row.data());
    return row;
  }();
  // cuBLAS may pick another algorithm for another M: equal within fp32 summation-order differences.
  VIT_REQUIRE_CLOSE(batch_first, single.logits, tolerance::cuda::kModelLogitsF32);
  VIT_REQUIRE_CLOSE(batch.logits, model.forward(input).logits, tolerance::cuda::kModelLogitsF32);
}

TEST_CASE("CUDA forward matches the CPU on the real DeiT-tiny, and classifies the shared images alike",
          "[cuda][model][real]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const std::string weights = vit::test::shared_path("models/deit_tiny_patch16_224.safetensors");
  const std::string images_dir = vit::test::shared_path("images");
  if (weights.empty() || images_dir.empty()) {
    WARN("SKIPPED: ../shared/models/deit_tiny_patch16_224.safetensors or ../shared/images is not present");
    return;
  }
  const vit::Model model = vit::load_model(weights);
  const vit::Preprocessing preprocessing = vit::preprocessing_for_checkpoint(weights, model.config(), model.naming());
  const std::vector<std::string> names = {"tench.jpg", "magpie.jpeg", "cheetah.jpg", "panda.jpeg",
                                          "apple.jpg", "both.png",    "dogbird.png", "plane.png"};
  std::vector<vit::Image> images;
  for (const std::string& name : names) images.push_back(vit::load_image(images_dir + "/" + name));
  const vit::Tensor<float> batch = vit::preprocess(images, preprocessing);
  vit::ForwardOptions options;
  options.attentions = true;
  const auto expected = model.forward(batch, options);
  const auto expected_top = vit::top_k(expected.logits, 1);

  const DType dtype = GENERATE(DType::F32, DType::F16, DType::BF16);
  INFO(vit::test::dtype_label(dtype));
  vit::cuda::CudaModel cuda_model(model, dtype);
  const auto result = cuda_model.forward(batch, options);
  const auto logits = vit::test::compare(result.logits, expected.logits, 1);
  std::cout << "cuda deit_tiny " << vit::test::dtype_label(dtype) << " on the 8 shared images: logits max abs error "
            << logits.max_abs << "\n";
  VIT_REQUIRE_CLOSE(result.logits, expected.logits, logits_tolerance(dtype, expected.logits));
  VIT_REQUIRE_CLOSE(result.attentions[0], expected.attentions[0], model_tolerance(dtype).probabilities);
  VIT_REQUIRE_CLOSE(result.attentions[11], expected.attentions[11], model_tolerance(dtype).probabilities);
  const auto top = vit::top_k(result.logits, 1);
  for (std::size_t i = 0; i < names.size(); ++i) {
    INFO(names[i]);
    CHECK(top[i][0].index == expected_top[i][0].index);
  }
}

TEST_CASE("CUDA forward checks its input like the CPU model", "[cuda][model]") {
  VIT_REQUIRE_CUDA_DEVICE();
  const auto expected_file = vit::SafetensorsFile::open(data_path("vit_timm.expected.safetensors"));
  const vit::Model model = vit::load_model(data_path("vit_timm.safetensors"), vit::test::fixture_config(expected_file));
  vit::cuda::CudaModel cuda_model(model, DType::F16);
  VIT_REQUIRE_ERROR(cuda_model.forward(vit::Tensor<float>({1, 1, 32, 32})), Catch::Contains("expected 3 channels"));
  VIT_REQUIRE_ERROR(cuda_model.forward(vit::Tensor<float>({1, 3, 30, 32})), Catch::Contains("multiples of the patch"));
  VIT_REQUIRE_ERROR(cuda_model.forward(vit::Tensor<float>({0, 3, 32, 32})), Catch::Contains("batch is empty"));
  // A failed call leaves the model usable.
  CHECK(cuda_model.forward(expected_file.read_float("input")).logits.size(0) == 3);
}
