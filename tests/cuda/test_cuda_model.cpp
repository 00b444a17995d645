// The whole CUDA forward pass against the CPU model: the committed random fixtures (every pooling and
// token layout, another input size) and the shared DeiT-tiny, per activation dtype; attention maps and
// features too; batches, workspace growth and options that must not change the logits. fp32 is held to the
// CPU model; fp16 and bf16 to the CPU model that rounds where the CUDA path rounds (reference_model.hpp),
// within a few units of the dtype's roundoff (tests/tolerances.hpp). The real DeiT-tiny must also give the
// CPU's top-1 class on all 8 shared images in every dtype.
#include <iostream>
#include <vit/io.hpp>
#include <vit/model.hpp>

#include "../fixtures.hpp"
#include "../model_builder.hpp"
#include "device.hpp"
#include "reference_model.hpp"

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

double max_abs(const vit::Tensor<float>& values) {
  double magnitude = 0;
  for (std::int64_t i = 0; i < values.numel(); ++i) magnitude = std::max(magnitude, double(std::abs(values[i])));
  return magnitude;
}

double max_error(const vit::Tensor<float>& actual, const vit::Tensor<float>& expected) {
  return vit::test::compare(actual, expected, 0).max_abs;
}

// fp32: holds the CUDA results to the CPU model (the bounds). fp16/bf16: to the rounding-aware reference
// (reference_model.hpp), with bounds in units of the dtype's roundoff u (tests/tolerances.hpp). Prints the
// measured errors either way (tools/gpu_check.sh collects the "logits max abs error" lines).
void check_model(const std::string& name, DType dtype, const vit::Model& model, vit::TensorView<const float> input,
                 const vit::ForwardOptions& options, const vit::ForwardResult<float>& result,
                 const vit::ForwardResult<float>& cpu, double maps_f32, double maps_ulps) {
  REQUIRE(result.attentions.size() == cpu.attentions.size());
  double cpu_maps = 0;
  for (std::size_t layer = 0; layer < cpu.attentions.size(); ++layer)
    cpu_maps = std::max(cpu_maps, max_error(result.attentions[layer], cpu.attentions[layer]));
  std::cout << "cuda " << name << " " << vit::test::dtype_label(dtype) << ": logits max abs error "
            << max_error(result.logits, cpu.logits) << " (maps " << cpu_maps << ") against the CPU model";
  if (dtype == DType::F32) {
    std::cout << "\n";
    VIT_REQUIRE_CLOSE(result.logits, cpu.logits, tolerance::cuda::kModelLogitsF32);
    if (options.features) VIT_REQUIRE_CLOSE(result.features, cpu.features, tolerance::cuda::kModelLogitsF32);
    for (std::size_t layer = 0; layer < cpu.attentions.size(); ++layer) {
      INFO("layer " << layer);
      VIT_REQUIRE_CLOSE(result.attentions[layer], cpu.attentions[layer], maps_f32);
    }
    return;
  }
  const auto reference = vit::test::cuda_reference_forward(model, dtype, input, options);
  const double u = vit::test::roundoff(dtype);
  double maps = 0;
  for (std::size_t layer = 0; layer < reference.attentions.size(); ++layer)
    maps = std::max(maps, max_error(result.attentions[layer], reference.attentions[layer]));
  std::cout << "; against the rounding-aware reference: logits "
            << max_error(result.logits, reference.logits) / (u * (1 + max_abs(reference.logits)))
            << " u (1 + max|logit|), maps " << maps / u << " u\n";
  VIT_REQUIRE_CLOSE(result.logits, reference.logits,
                    tolerance::cuda::kReferenceLogits * u * (1 + max_abs(reference.logits)));
  if (options.features)
    VIT_REQUIRE_CLOSE(result.features, reference.features,
                      tolerance::cuda::kReferenceLogits * u * (1 + max_abs(reference.features)));
  for (std::size_t layer = 0; layer < reference.attentions.size(); ++layer) {
    INFO("layer " << layer);
    VIT_REQUIRE_CLOSE(result.attentions[layer], reference.attentions[layer], maps_ulps * u);
  }
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
  check_model(fixture.name, dtype, model, input, options, result, expected, tolerance::cuda::kModelProbabilitiesF32,
              tolerance::cuda::kReferenceMaps);

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
  check_model("deit_tiny (8 shared images)", dtype, model, batch, options, result, expected,
              tolerance::cuda::kRealModelProbabilitiesF32, tolerance::cuda::kRealReferenceMaps);
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
  vit::ForwardOptions cache;
  cache.cache = true;  // the backward pass is CPU-only: asking the GPU for its cache is an error, not an empty cache
  VIT_REQUIRE_ERROR(cuda_model.forward(expected_file.read_float("input"), cache), Catch::Contains("CPU model only"));
  // A failed call leaves the model usable.
  CHECK(cuda_model.forward(expected_file.read_float("input")).logits.size(0) == 3);
}

TEST_CASE("CudaModel refuses a head dimension it has no kernel for when it is built", "[cuda][model]") {
  VIT_REQUIRE_CUDA_DEVICE();
  vit::ViTConfig config = vit::test::small_config();
  config.embed_dim = 96;  // 2 heads of 48
  config.num_heads = 2;
  const vit::Model model =
      vit::load_model(vit::SafetensorsFile::parse(vit::test::random_checkpoint(config).encode()), config);
  VIT_REQUIRE_ERROR(vit::cuda::CudaModel(model, DType::F16), Catch::Contains("head dimension 48 (96 / 2 heads)"));
}

TEST_CASE("CudaModel runs on the device it was built on, whatever device is current", "[cuda][model][devices]") {
  VIT_REQUIRE_CUDA_DEVICE();
  if (vit::cuda::device_count() < 2) {
    WARN("SKIPPED: needs two CUDA devices (the emulated suite runs this with VIT_EMU_DEVICES=2)");
    return;
  }
  const auto expected_file = vit::SafetensorsFile::open(data_path("vit_timm.expected.safetensors"));
  const vit::Model model = vit::load_model(data_path("vit_timm.safetensors"), vit::test::fixture_config(expected_file));
  const vit::Tensor<float> input = expected_file.read_float("input");
  const vit::cuda::DeviceScope on_first(0);
  vit::cuda::CudaModel cuda_model(model, DType::F32);
  CHECK(cuda_model.device() == 0);
  {
    const vit::cuda::DeviceScope on_second(1);
    // Its weights, workspace and cuBLAS handle are on device 0: run there (on device 1 they would fault).
    const auto result = cuda_model.forward(input);
    CHECK(vit::cuda::current_device() == 1);  // the caller's choice, left as it was
    VIT_REQUIRE_CLOSE(result.logits, model.forward(input).logits, tolerance::cuda::kModelLogitsF32);
  }
  CHECK(vit::cuda::current_device() == 0);
}
