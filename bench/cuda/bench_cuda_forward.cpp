// End-to-end GPU throughput of vit::cuda::CudaModel: images/s and ms/image for deit_tiny, vit_small and
// vit_base (presets at 224, random weights) at batch 1, 8, 64 and 256, in fp32, fp16 and bf16, attention
// maps off and on, with the device memory used and the maps-on/maps-off time ratio.
//
// What is timed: whole CudaModel::forward calls on the host clock, as a user gets them: the upload of the
// images, the forward pass, the copy of the logits (and of every layer's [B, H, N, N] maps when on) to
// pageable host memory, and the wait for the stream. One warm-up call (it sizes the workspace), then
// between 3 and 20 timed calls (as many as fit in about 2 s); median and min.
// Memory: the device memory in use after the calls minus before the model was built (cudaMemGetInfo:
// weights, workspace, cuBLAS), and the workspace plan's size.
// Check before timing: batch 1 against the CPU model on the same weights and images (fp32: logits within
// 1e-3 of 1 + max |logit|, else exit 1; fp16/bf16: the error is recorded, finite logits required).
//
// usage: bench_cuda_forward [--smoke] [--out FILE]    (--smoke: deit_tiny, batch 1, one call, the check)
// Without a CUDA device: prints "SKIPPED: no CUDA device" and exits 0.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "../../tests/model_builder.hpp"
#include "harness.hpp"

namespace {

using nlohmann::json;
using vit::DType;
using vit::Tensor;

double used_device_bytes() {
  std::size_t free_bytes = 0, total_bytes = 0;
  VIT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return double(total_bytes - free_bytes);
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// The largest |cuda − cpu| of the logits, relative to 1 + max |cpu logit|; throws on a non-finite logit.
double logits_error(const Tensor<float>& cuda_logits, const Tensor<float>& cpu_logits) {
  double magnitude = 1, error = 0;
  for (std::int64_t i = 0; i < cpu_logits.numel(); ++i) {
    VIT_CHECK(std::isfinite(cuda_logits[i]), "VALIDATION FAILED: logit ", i, " is ", cuda_logits[i]);
    magnitude = std::max(magnitude, 1.0 + std::abs(double(cpu_logits[i])));
    error = std::max(error, std::abs(double(cuda_logits[i]) - double(cpu_logits[i])));
  }
  return error / magnitude;
}

// Every model, dtype, batch and maps setting, printed and written to `out`.
void bench_forward(const vit::bench::Options& options, vit::bench::JsonLines& out) {
  const std::vector<std::string> models =
      options.smoke
          ? std::vector<std::string>{"deit_tiny_patch16_224"}
          : std::vector<std::string>{"deit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224"};
  const std::vector<std::int64_t> batches =
      options.smoke ? std::vector<std::int64_t>{1} : std::vector<std::int64_t>{1, 8, 64, 256};
  const Tensor<float> images = vit::test::random_tensor({batches.back(), 3, 224, 224}, 41);
  std::printf("whole forward calls (upload, forward, results to host, sync), host clock\n");
  std::printf("%-22s %-5s %4s %5s | %10s %10s %10s | %9s %9s | %s\n", "model", "dtype", "B", "maps", "ms/call",
              "ms/image", "images/s", "used MiB", "plan MiB", "maps on/off");
  for (const std::string& name : models) {
    const vit::ViTConfig config = vit::preset(name);
    const vit::Model model =
        vit::load_model(vit::SafetensorsFile::parse(vit::test::random_checkpoint(config).encode()), config);
    const vit::ForwardResult<float> cpu = model.forward(images.view().rows(0, 1));
    for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
      const double before = used_device_bytes();
      vit::cuda::CudaModel cuda_model(model, dtype);
      const double error = logits_error(cuda_model.forward(images.view().rows(0, 1)).logits, cpu.logits);
      if (dtype == DType::F32)
        VIT_CHECK(error <= 1e-3, "VALIDATION FAILED: ", name, " fp32 logits differ from the CPU by ", error);
      out.write({{"kind", "forward_check"},
                 {"model", name},
                 {"dtype", vit::bench::dtype_label(dtype)},
                 {"logits_error_relative", error}});
      for (std::int64_t batch : batches) {
        const vit::TensorView<const float> input = images.view().rows(0, batch);
        double maps_off_ms = 0;
        for (bool maps : {false, true}) {  // off first: the workspace then grows once, for the maps
          vit::ForwardOptions forward_options;
          forward_options.attentions = maps;
          auto start = std::chrono::steady_clock::now();
          cuda_model.forward(input, forward_options);  // warm-up; sizes the workspace
          const double warm_ms = milliseconds_since(start);
          const int reps = options.smoke ? 1 : std::clamp(int(2000.0 / std::max(warm_ms, 1e-3)), 3, 20);
          std::vector<double> ms;
          for (int rep = 0; rep < reps; ++rep) {
            start = std::chrono::steady_clock::now();
            cuda_model.forward(input, forward_options);  // the host results are freed inside the timing too
            ms.push_back(milliseconds_since(start));
          }
          const vit::bench::Stats stats = vit::bench::summarize(ms);
          const double used = used_device_bytes() - before;
          const double plan = double(vit::cuda::plan_workspace(config, dtype, batch, 14, 14, maps).total);
          if (!maps) maps_off_ms = stats.median_ms;
          const double maps_ratio = maps ? stats.median_ms / maps_off_ms : 1.0;
          const double per_image = stats.median_ms / double(batch);
          std::printf("%-22s %-5s %4lld %5s | %10.3f %10.4f %10.1f | %9.0f %9.0f | %s\n", name.c_str(),
                      vit::bench::dtype_label(dtype).c_str(), static_cast<long long>(batch), maps ? "on" : "off",
                      stats.median_ms, per_image, 1000.0 / per_image, used / (1 << 20), plan / (1 << 20),
                      maps ? std::to_string(maps_ratio).c_str() : "");
          out.write({{"kind", "forward"},
                     {"model", name},
                     {"dtype", vit::bench::dtype_label(dtype)},
                     {"batch", batch},
                     {"maps", maps},
                     {"median_ms", stats.median_ms},
                     {"min_ms", stats.min_ms},
                     {"ms_per_image", per_image},
                     {"images_per_s", 1000.0 / per_image},
                     {"device_bytes_used", used},
                     {"workspace_plan_bytes", plan},
                     {"maps_on_over_off", maps_ratio},
                     {"reps", stats.reps},
                     {"timing", "whole forward calls, host clock, results copied to host"}});
        }
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) { return vit::bench::benchmark_main(argc, argv, "bench_cuda_forward", bench_forward); }
