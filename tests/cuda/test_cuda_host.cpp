// The parts of the CUDA backend that need no GPU: workspace sizing, and a clear error without a device.
#include <vit/cuda/cublas_library.cuh>
#include <vit/model/config.hpp>

#include "../fixtures.hpp"
#include "device.hpp"

using vit::DType;
using vit::cuda::WorkspacePlan;

TEST_CASE("workspace plan: aligned, disjoint buffers of the right sizes", "[cuda][host][workspace]") {
  const vit::ViTConfig config = vit::preset("deit_tiny_patch16_224");
  const DType dtype = GENERATE(DType::F32, DType::F16, DType::BF16);
  const bool attentions = GENERATE(false, true);
  const std::int64_t batch = 8, grid = 14, tokens = 197, dim = 192, act = std::int64_t(vit::dtype_size(dtype));
  const WorkspacePlan plan = vit::cuda::plan_workspace(config, dtype, batch, grid, grid, attentions);
  CHECK(plan.tokens == tokens);
  CHECK(plan.pooled_rows == batch);
  CHECK(plan.map_elements_per_layer == (attentions ? batch * 3 * tokens * tokens : 0));

  // Offsets in layout order, with each buffer's size in bytes.
  const std::vector<std::pair<std::size_t, std::int64_t>> buffers = {
      {plan.images, batch * 3 * 224 * 224 * 4},
      {plan.unfolded, batch * 196 * 768 * act},
      {plan.x, batch * tokens * dim * 4},
      {plan.normed, batch * tokens * dim * act},
      {plan.qkv, batch * tokens * 3 * dim * act},
      {plan.heads, batch * tokens * dim * act},
      {plan.hidden, batch * tokens * 768 * act},
      {plan.acc, batch * tokens * 768 * 4},  // the largest GEMM result: fc1's [B·N, mlp]
      {plan.pooled, batch * dim * 4},
      {plan.features, batch * dim * 4},
      {plan.head_in, batch * dim * act},
      {plan.logits, batch * 1000 * 4},
      {plan.maps, 12 * plan.map_elements_per_layer * 4},
  };
  CHECK(buffers.front().first == 0);
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    INFO("buffer " << i);
    CHECK(buffers[i].first % WorkspacePlan::kAlignment == 0);
    const std::size_t end = buffers[i].first + std::size_t(buffers[i].second);
    const std::size_t next = i + 1 < buffers.size() ? buffers[i + 1].first : plan.total;
    CHECK(end <= next);                             // no overlap
    CHECK(next - end < WorkspacePlan::kAlignment);  // no waste beyond the alignment padding
  }
}

TEST_CASE("workspace plan: distilled heads double the pooled rows, big classifiers size the GEMM buffer",
          "[cuda][host][workspace]") {
  vit::ViTConfig config = vit::preset("deit_tiny_distilled_patch16_224");
  const WorkspacePlan distilled = vit::cuda::plan_workspace(config, DType::BF16, 3, 14, 14, false);
  CHECK(distilled.tokens == 198);
  CHECK(distilled.pooled_rows == 6);
  CHECK(distilled.logits + 6 * 1000 * 4 <= distilled.maps);
  CHECK(distilled.maps == distilled.total);  // no maps requested: an empty last buffer

  config.num_classes = 100000;  // [2B, classes] > [B·N, mlp] for a tiny batch
  const WorkspacePlan wide = vit::cuda::plan_workspace(config, DType::F32, 1, 2, 2, false);
  CHECK(wide.pooled - wide.acc >= std::size_t(2) * 100000 * 4);
}

TEST_CASE("device_status says why there is no device, with the CUDA error", "[cuda][host]") {
  const std::string status = vit::cuda::device_status();
  INFO("device_status: " << status);
  CHECK(status.empty() == (vit::cuda::device_count() > 0));
  // Either the runtime failed (its error's name, e.g. cudaErrorInsufficientDriver, then its text) or it sees none.
  if (!status.empty())
    CHECK_THAT(status, Catch::StartsWith("cudaError") || Catch::Equals("the CUDA runtime sees no device"));
}

TEST_CASE("CudaModel without a CUDA device is a clear vit::Error", "[cuda][host]") {
  if (vit::cuda::device_count() > 0) {
    WARN("SKIPPED: a CUDA device is present, so the no-device error cannot be provoked");
    return;
  }
  const auto expected = vit::SafetensorsFile::open(vit::test::data_path("vit_timm.expected.safetensors"));
  const vit::Model model =
      vit::load_model(vit::test::data_path("vit_timm.safetensors"), vit::test::fixture_config(expected));
  const std::string message = "no CUDA device: " + vit::cuda::device_status();
  VIT_REQUIRE_ERROR(vit::cuda::CudaModel(model, DType::BF16), Catch::Equals(message));
  VIT_REQUIRE_ERROR(vit::cuda::describe_device(), Catch::Equals(message));
}

// vit::cuda does not link cuBLAS; it is loaded on first use (cublas_library.cuh). That load needs no GPU, so it
// is checked everywhere: every function found, and callable (status names are pure functions of the library).
TEST_CASE("cuBLAS is loaded on first use, with every function vit::cuda calls", "[cuda][host]") {
  const vit::cuda::detail::CublasLibrary& cublas = vit::cuda::detail::cublas_library();
  CHECK(cublas.create != nullptr);
  CHECK(cublas.destroy != nullptr);
  CHECK(cublas.set_stream != nullptr);
  CHECK(cublas.set_math_mode != nullptr);
  CHECK(cublas.gemm_ex != nullptr);
  CHECK(std::string(cublas.status_name(CUBLAS_STATUS_NOT_INITIALIZED)) == "CUBLAS_STATUS_NOT_INITIALIZED");
  CHECK(std::string(cublas.status_string(CUBLAS_STATUS_SUCCESS)).size() > 0);
  CHECK(&vit::cuda::detail::cublas_library() == &cublas);  // loaded once
}
