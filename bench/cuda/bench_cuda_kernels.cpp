// GPU kernel microbenchmarks of the CUDA backend, each validated against the CPU reference on the same
// inputs before it is timed (a wrong result exits 1):
//   attention  our fused kernel (launch::attention) vs an unfused path in the same dtype (cuBLAS strided
//              batched QKᵀ → our softmax kernel → cuBLAS PV, fp32 accumulation), maps off and on:
//              ms, effective TFLOP/s (4·B·H·N²·d) and fused/unfused time ratio.
//   memory     residual+LayerNorm, bias+GELU, softmax: GB/s (bytes read + written once) and % of the peak
//              memory bandwidth (memory clock × bus width × 2), beside a device-to-device copy's GB/s.
//   gemm       ViT-B linear shapes through our runtime's Blas::linear (what CudaModel runs) vs the fastest
//              of cuBLASLt's top heuristic algorithms, TFLOP/s.
// Timing: CUDA events on one stream around each call; 3 warm-up calls, 20 timed; median and min.
//
// usage: bench_cuda_kernels [--smoke] [--out FILE]    (--smoke: smallest shapes, one call, validation only)
// Without a CUDA device: prints "SKIPPED: no CUDA device" and exits 0.
#include <cublasLt.h>

#include <cmath>
#include <cstdio>
#include <vit/cpu/reference/attention.hpp>
#include <vit/cpu/reference/gelu.hpp>
#include <vit/cpu/reference/layer_norm.hpp>
#include <vit/cpu/reference/linear.hpp>
#include <vit/cpu/softmax.hpp>

#include "harness.hpp"

namespace {

using nlohmann::json;
using vit::DType;
using vit::Tensor;
using vit::bench::Pattern;
using vit::bench::Stats;
using vit::cuda::DeviceBuffer;

const DType kDtypes[] = {DType::F32, DType::F16, DType::BF16};

struct Run {
  vit::bench::Options options;
  cudaStream_t stream = nullptr;
  vit::bench::JsonLines* out = nullptr;
  int warmup() const { return options.smoke ? 0 : 3; }
  int reps() const { return options.smoke ? 1 : 20; }
};

// The address of element `elements` of an array of `dtype`.
char* bytes_at(void* base, std::int64_t elements, DType dtype) {
  return static_cast<char*>(base) + elements * std::int64_t(vit::dtype_size(dtype));
}
const char* bytes_at(const void* base, std::int64_t elements, DType dtype) {
  return static_cast<const char*>(base) + elements * std::int64_t(vit::dtype_size(dtype));
}

// A cuBLAS handle on the benchmark's stream, for the unfused attention (our Blas wraps only the linear).
struct BlasHandle {
  cublasHandle_t handle = nullptr;
  explicit BlasHandle(cudaStream_t stream) {
    VIT_CUBLAS_CHECK(cublasCreate(&handle));
    VIT_CUBLAS_CHECK(cublasSetStream(handle, stream));
    VIT_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));  // as vit::cuda::Blas: no TF32
  }
  ~BlasHandle() { (void)cublasDestroy(handle); }
  BlasHandle(const BlasHandle&) = delete;
  BlasHandle& operator=(const BlasHandle&) = delete;
};

cudaDataType_t cuda_type(DType dtype) {
  return dtype == DType::F32 ? CUDA_R_32F : dtype == DType::F16 ? CUDA_R_16F : CUDA_R_16BF;
}

// ---------------------------------------------------------------------------------------------------------
// Attention

struct AttentionBuffers {
  DeviceBuffer qkv, out, scores, maps;
};

// The unfused attention, as a framework without a fused kernel runs it, in `dtype` with fp32 accumulation:
// scores S [B, H, N, N] (dtype) = Q Kᵀ / √d, softmax in place, out [B, N, H·d] = P V. One strided batched
// GEMM per head over the images (Q, K, V of image b and head h sit at qkv + b·N·3D + {0, D, 2D} + h·d with
// row stride 3D, a constant stride N·3D between images). Column-major views (cuBLAS):
//   Sᵀ[key, query] = Σ_i K[key, i] Q[query, i]:  m = n = N, k = d, A = K (op T, lda 3D), B = Q (op N, ldb 3D)
//   outᵀ[i, query] = Σ_key V[key, i] P[query, key]:  m = d, n = N, k = N, A = V (lda 3D), B = P (ldb N)
// maps: when given, P in fp32 [B, H, N, N] (fp32 runs: the scores buffer already is; others convert).
void unfused_attention(const BlasHandle& blas, DType dtype, const void* qkv, void* out, void* scores, float* maps,
                       int batch, int tokens, int heads, int head_dim, cudaStream_t stream) {
  const std::int64_t dim = std::int64_t(heads) * head_dim, n = tokens;
  const cudaDataType_t type = cuda_type(dtype);
  const float scale = 1.0f / std::sqrt(float(head_dim)), one = 1.0f, zero = 0.0f;
  for (int h = 0; h < heads; ++h) {
    const char* q = bytes_at(qkv, std::int64_t(h) * head_dim, dtype);
    const char* k = bytes_at(qkv, dim + std::int64_t(h) * head_dim, dtype);
    char* s = bytes_at(scores, std::int64_t(h) * n * n, dtype);
    VIT_CUBLAS_CHECK(cublasGemmStridedBatchedEx(blas.handle, CUBLAS_OP_T, CUBLAS_OP_N, tokens, tokens, head_dim, &scale,
                                                k, type, int(3 * dim), n * 3 * dim, q, type, int(3 * dim), n * 3 * dim,
                                                &zero, s, type, tokens, heads * n * n, batch, CUBLAS_COMPUTE_32F,
                                                CUBLAS_GEMM_DEFAULT));
  }
  vit::cuda::launch::softmax(dtype, scores, scores, std::int64_t(batch) * heads * n, tokens, stream);
  for (int h = 0; h < heads; ++h) {
    const char* v = bytes_at(qkv, 2 * dim + std::int64_t(h) * head_dim, dtype);
    const char* p = bytes_at(scores, std::int64_t(h) * n * n, dtype);
    char* o = bytes_at(out, std::int64_t(h) * head_dim, dtype);
    VIT_CUBLAS_CHECK(cublasGemmStridedBatchedEx(blas.handle, CUBLAS_OP_N, CUBLAS_OP_N, head_dim, tokens, tokens, &one,
                                                v, type, int(3 * dim), n * 3 * dim, p, type, tokens, heads * n * n,
                                                &zero, o, type, int(dim), n * dim, batch, CUBLAS_COMPUTE_32F,
                                                CUBLAS_GEMM_DEFAULT));
  }
  if (maps != nullptr && dtype != DType::F32)
    vit::cuda::launch::convert(dtype, DType::F32, scores, maps, std::int64_t(batch) * heads * n * n, stream);
}

// Fills the outputs with NaN (all bits set, in every dtype) so that a result not written fails validation.
void poison(AttentionBuffers& buffers, bool maps, cudaStream_t stream) {
  VIT_CUDA_CHECK(cudaMemsetAsync(buffers.out.data(), 0xff, buffers.out.capacity(), stream));
  if (maps) VIT_CUDA_CHECK(cudaMemsetAsync(buffers.maps.data(), 0xff, buffers.maps.capacity(), stream));
}

// Checks images 0, 1 and B − 1 (the inputs repeat every two images, so the reference of image b is that of
// image b % 2) of `out` and, when given, of the fp32 maps.
void validate_attention(const std::string& what, const vit::cpu::reference::AttentionResult<float>& expected, DType dtype,
                        const void* out, const float* maps, int batch, int tokens, int heads, double tolerance,
                        double map_tolerance, cudaStream_t stream) {
  const std::int64_t dim = expected.out.size(2), n = tokens, map_size = std::int64_t(heads) * n * n;
  for (int image : {0, 1, batch - 1}) {
    if (image < 0 || image >= batch) continue;
    const int source = image % 2;
    const Tensor<float> got = vit::bench::download(out, dtype, image * n * dim, n, dim, stream);
    const vit::TensorView<const float> want = expected.out.view().rows(source, source + 1).reshape({n, dim});
    vit::bench::require_close(what + " out, image " + std::to_string(image), got, want, tolerance);
    if (maps == nullptr) continue;
    const Tensor<float> got_maps = vit::bench::download(maps, DType::F32, image * map_size, heads * n, n, stream);
    const vit::TensorView<const float> want_maps =
        expected.probabilities.view().rows(source, source + 1).reshape({heads * n, n});
    vit::bench::require_close(what + " maps, image " + std::to_string(image), got_maps, want_maps, map_tolerance);
  }
}

void bench_attention(const Run& run) {
  const BlasHandle blas(run.stream);
  vit::bench::EventTimer timer(run.stream);
  AttentionBuffers buffers;
  const int head_dim = 64;
  const std::vector<int> token_counts = run.options.smoke ? std::vector<int>{197} : std::vector<int>{197, 577};
  const std::vector<int> head_counts = run.options.smoke ? std::vector<int>{3} : std::vector<int>{3, 6, 12, 16};
  const std::vector<int> batches = run.options.smoke ? std::vector<int>{1} : std::vector<int>{1, 8, 64, 256};
  std::printf("\n== attention (head dim %d): fused = launch::attention, unfused = cuBLAS QKᵀ + softmax + cuBLAS PV\n",
              head_dim);
  std::printf("%-5s %4s %3s %4s %5s | %10s %8s | %10s %8s | %7s\n", "dtype", "N", "H", "B", "maps", "fused ms",
              "TFLOP/s", "unfused ms", "TFLOP/s", "f/unf");
  for (int tokens : token_counts)
    for (int heads : head_counts) {
      // Two images of q|k|v in [-2, 2) (exact in every dtype), repeated over the batch; one reference for all.
      const std::int64_t dim = std::int64_t(heads) * head_dim, image = std::int64_t(tokens) * 3 * dim;
      const Pattern qkv = Pattern::random(2 * image, 7u + std::uint32_t(tokens + heads), 1.0f / 64);
      const auto expected =
          vit::cpu::reference::attention(qkv.slice(0, 2 * tokens, 3 * dim).view().reshape({2, tokens, 3 * dim}), heads);
      for (DType dtype : kDtypes)
        for (int batch : batches) {
          const std::int64_t maps_elements = std::int64_t(batch) * heads * tokens * tokens;
          const std::size_t size = vit::dtype_size(dtype);
          const std::size_t needed = std::size_t(batch * image + batch * tokens * dim + maps_elements) * size +
                                     std::size_t(maps_elements) * sizeof(float);
          std::size_t free_bytes = 0, total_bytes = 0;
          VIT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
          const std::size_t held =
              buffers.qkv.capacity() + buffers.out.capacity() + buffers.scores.capacity() + buffers.maps.capacity();
          if (needed > free_bytes + held) {
            std::printf("skipped: N %d, H %d, B %d needs %zu MiB\n", tokens, heads, batch, needed >> 20);
            continue;
          }
          vit::bench::fill(buffers.qkv, qkv, batch * image, dtype, run.stream);
          buffers.out.reserve(std::size_t(batch * tokens * dim) * size);
          buffers.scores.reserve(std::size_t(maps_elements) * size);
          buffers.maps.reserve(std::size_t(maps_elements) * sizeof(float));
          float* maps = static_cast<float*>(buffers.maps.data());
          // The unfused fp32 maps are its scores buffer; every other run writes `maps`.
          const float* unfused_maps = dtype == DType::F32 ? static_cast<float*>(buffers.scores.data()) : maps;
          const double u = vit::bench::roundoff(dtype);
          // Fused: fp32 arithmetic, one rounding of the output. Unfused: the scores and probabilities are
          // also stored in `dtype` (a bf16 score of 7 is off by up to 0.03, so a probability by up to ~6%
          // after normalisation): 32 roundoffs (0.125 in bf16) still catch a wrong head, image or layout,
          // whose errors are of the size of the outputs (up to 2) and of the probabilities themselves.
          const double fused_tolerance = 1e-3 + 2 * u, unfused_tolerance = 1e-3 + 32 * u;
          const double flops = 4.0 * batch * heads * double(tokens) * tokens * head_dim;
          for (bool with_maps : {false, true}) {
            float* fused_maps = with_maps ? maps : nullptr;
            const auto fused = [&] {
              vit::cuda::launch::attention(dtype, buffers.qkv.data(), buffers.out.data(), fused_maps, batch, tokens,
                                           heads, head_dim, run.stream);
            };
            const auto unfused = [&] {
              unfused_attention(blas, dtype, buffers.qkv.data(), buffers.out.data(), buffers.scores.data(),
                                with_maps ? maps : nullptr, batch, tokens, heads, head_dim, run.stream);
            };
            const std::string label = vit::bench::dtype_label(dtype) + " N " + std::to_string(tokens) + " H " +
                                      std::to_string(heads) + " B " + std::to_string(batch) +
                                      (with_maps ? " maps" : "");
            poison(buffers, with_maps, run.stream);
            fused();
            validate_attention("fused " + label, expected, dtype, buffers.out.data(), fused_maps, batch, tokens, heads,
                               fused_tolerance, 1e-4, run.stream);
            const Stats fused_stats = timer.time(run.warmup(), run.reps(), fused);
            poison(buffers, with_maps, run.stream);
            unfused();
            validate_attention("unfused " + label, expected, dtype, buffers.out.data(),
                               with_maps ? unfused_maps : nullptr, batch, tokens, heads, unfused_tolerance,
                               1e-4 + 32 * u, run.stream);
            const Stats unfused_stats = timer.time(run.warmup(), run.reps(), unfused);
            const double ratio = fused_stats.median_ms / unfused_stats.median_ms;
            std::printf("%-5s %4d %3d %4d %5s | %10.4f %8.2f | %10.4f %8.2f | %7.3f\n",
                        vit::bench::dtype_label(dtype).c_str(), tokens, heads, batch, with_maps ? "on" : "off",
                        fused_stats.median_ms, flops / fused_stats.median_ms * 1e-9, unfused_stats.median_ms,
                        flops / unfused_stats.median_ms * 1e-9, ratio);
            run.out->write({{"kind", "attention"},
                            {"dtype", vit::bench::dtype_label(dtype)},
                            {"tokens", tokens},
                            {"heads", heads},
                            {"head_dim", head_dim},
                            {"batch", batch},
                            {"maps", with_maps},
                            {"flops", flops},
                            {"fused_median_ms", fused_stats.median_ms},
                            {"fused_min_ms", fused_stats.min_ms},
                            {"fused_tflops", flops / fused_stats.median_ms * 1e-9},
                            {"unfused_median_ms", unfused_stats.median_ms},
                            {"unfused_min_ms", unfused_stats.min_ms},
                            {"unfused_tflops", flops / unfused_stats.median_ms * 1e-9},
                            {"fused_over_unfused", ratio},
                            {"reps", fused_stats.reps}});
          }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Memory-bound kernels

struct Bandwidth {
  double peak_gbs = 0;    // memory clock × bus width × 2 (0 when the attributes are unavailable)
  double memcpy_gbs = 0;  // a large device-to-device copy, read + write
};

Bandwidth measure_bandwidth(const Run& run) {
  Bandwidth result;
  int device = 0, clock_khz = 0, bus_bits = 0;
  VIT_CUDA_CHECK(cudaGetDevice(&device));
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device) != cudaSuccess) {
    (void)cudaGetLastError();  // not fatal: the copy below is the reference then
    clock_khz = bus_bits = 0;
  }
  result.peak_gbs = double(clock_khz) * 1e3 * (bus_bits / 8.0) * 2.0 * 1e-9;
  const std::size_t bytes = run.options.smoke ? (std::size_t(16) << 20) : (std::size_t(1) << 30);
  DeviceBuffer from, to;
  from.reserve(bytes);
  to.reserve(bytes);
  VIT_CUDA_CHECK(cudaMemsetAsync(from.data(), 0, bytes, run.stream));
  vit::bench::EventTimer timer(run.stream);
  const Stats stats = timer.time(run.warmup(), run.reps(), [&] {
    VIT_CUDA_CHECK(cudaMemcpyAsync(to.data(), from.data(), bytes, cudaMemcpyDeviceToDevice, run.stream));
  });
  result.memcpy_gbs = 2.0 * double(bytes) / stats.median_ms * 1e-6;
  std::printf("\n== memory bandwidth: peak %.0f GB/s (clock %d kHz x %d bits x 2), device-to-device copy %.0f GB/s\n",
              result.peak_gbs, clock_khz, bus_bits, result.memcpy_gbs);
  run.out->write({{"kind", "bandwidth"},
                  {"peak_gbs", result.peak_gbs},
                  {"peak_source", result.peak_gbs > 0 ? "memory clock x bus width x 2" : "unavailable"},
                  {"memcpy_gbs", result.memcpy_gbs}});
  return result;
}

// Rows checked against the CPU: the first two and the last.
std::vector<std::int64_t> rows_to_check(std::int64_t rows) {
  return rows > 2 ? std::vector<std::int64_t>{0, 1, rows - 1} : std::vector<std::int64_t>{0};
}

void report_memory_kernel(const Run& run, const Bandwidth& bandwidth, const std::string& kernel, DType dtype,
                          std::int64_t rows, std::int64_t cols, double bytes, const Stats& stats) {
  const double gbs = bytes / stats.median_ms * 1e-6;
  const double reference = bandwidth.peak_gbs > 0 ? bandwidth.peak_gbs : bandwidth.memcpy_gbs;
  std::printf("%-20s %-5s [%7lld, %5lld] | %9.4f ms %8.0f GB/s %6.1f%% of peak %6.1f%% of copy\n", kernel.c_str(),
              vit::bench::dtype_label(dtype).c_str(), static_cast<long long>(rows), static_cast<long long>(cols),
              stats.median_ms, gbs, 100 * gbs / reference, 100 * gbs / bandwidth.memcpy_gbs);
  run.out->write({{"kind", "memory"},
                  {"kernel", kernel},
                  {"dtype", vit::bench::dtype_label(dtype)},
                  {"rows", rows},
                  {"cols", cols},
                  {"bytes", bytes},
                  {"median_ms", stats.median_ms},
                  {"min_ms", stats.min_ms},
                  {"gbs", gbs},
                  {"percent_of_peak", 100 * gbs / reference},
                  {"percent_of_memcpy", 100 * gbs / bandwidth.memcpy_gbs},
                  {"reps", stats.reps}});
}

void bench_memory_kernels(const Run& run) {
  const Bandwidth bandwidth = measure_bandwidth(run);
  vit::bench::EventTimer timer(run.stream);
  DeviceBuffer x, delta, small, out;
  const std::int64_t dim = 768, mlp = 3072, heads = 12, tokens = 197;  // ViT-B/16 at 224
  const std::vector<std::int64_t> batches =
      run.options.smoke ? std::vector<std::int64_t>{1} : std::vector<std::int64_t>{64, 256};
  const std::int64_t tile = 3 << 20;  // 12 MiB of fp32 per pattern: the uploads stay small
  const Pattern x_values = Pattern::random(tile, 21, 1.0f / 32), delta_values = Pattern::random(tile, 22, 1.0f / 32);
  const Pattern vector_values = Pattern::random(3 * mlp, 23, 1.0f / 128);  // biases, gamma, beta
  for (std::int64_t batch : batches)
    for (DType dtype : kDtypes) {
      const std::int64_t rows = batch * tokens;
      const std::size_t size = vit::dtype_size(dtype);
      // Residual add + LayerNorm: x [rows, D] fp32 += delta [rows, D] fp32 + bias [D]; out = LN(x) in dtype.
      {
        vit::bench::fill(x, x_values, rows * dim, DType::F32, run.stream);
        vit::bench::fill(delta, delta_values, rows * dim, DType::F32, run.stream);
        vit::bench::fill(small, vector_values, 3 * dim, DType::F32, run.stream);
        out.reserve(std::size_t(rows * dim) * size);
        const float* bias = static_cast<const float*>(small.data());
        const auto layer_norm = [&] {
          vit::cuda::launch::residual_layer_norm(dtype, static_cast<float*>(x.data()),
                                                 static_cast<const float*>(delta.data()), bias, bias + dim,
                                                 bias + 2 * dim, out.data(), rows, int(dim), 1e-6f, run.stream);
        };
        layer_norm();
        const Tensor<float> vectors = vector_values.slice(0, 3, dim);
        for (std::int64_t row : rows_to_check(rows)) {
          Tensor<float> sum = x_values.slice(row * dim, 1, dim);
          const Tensor<float> d = delta_values.slice(row * dim, 1, dim);
          for (std::int64_t i = 0; i < dim; ++i) sum[i] += d[i] + vectors[i];
          const Tensor<float> expected = vit::cpu::reference::layer_norm(
              sum, vectors.view().rows(1, 2).reshape({dim}), vectors.view().rows(2, 3).reshape({dim}), 1e-6f);
          const std::string what = "layer_norm " + vit::bench::dtype_label(dtype) + " row " + std::to_string(row);
          vit::bench::require_close(
              what + " x", vit::bench::download(x.data(), DType::F32, row * dim, 1, dim, run.stream), sum, 1e-6);
          vit::bench::require_close(what, vit::bench::download(out.data(), dtype, row * dim, 1, dim, run.stream),
                                    expected, 1e-4 + 2 * vit::bench::roundoff(dtype));
        }
        // Each call adds delta to x again: the values drift, the work does not change.
        const Stats stats = timer.time(run.warmup(), run.reps(), layer_norm);
        const double bytes = double(rows * dim) * (3 * sizeof(float) + double(size));  // x, delta in; x, out out
        report_memory_kernel(run, bandwidth, "residual_layer_norm", dtype, rows, dim, bytes, stats);
      }
      // Bias + GELU: acc [rows, mlp] fp32 + bias [mlp] → out [rows, mlp] in dtype.
      {
        vit::bench::fill(x, x_values, rows * mlp, DType::F32, run.stream);
        out.reserve(std::size_t(rows * mlp) * size);
        vit::bench::fill(small, vector_values, mlp, DType::F32, run.stream);
        const float* bias = static_cast<const float*>(small.data());  // after the fill, which may reallocate
        const auto gelu = [&] {
          vit::cuda::launch::bias_activation(dtype, static_cast<const float*>(x.data()), bias, out.data(), rows,
                                             int(mlp), true, run.stream);
        };
        gelu();
        for (std::int64_t row : rows_to_check(rows)) {
          Tensor<float> biased = x_values.slice(row * mlp, 1, mlp);
          for (std::int64_t i = 0; i < mlp; ++i) biased[i] += vector_values.at(i);
          vit::bench::require_close("bias_gelu " + vit::bench::dtype_label(dtype) + " row " + std::to_string(row),
                                    vit::bench::download(out.data(), dtype, row * mlp, 1, mlp, run.stream),
                                    vit::cpu::reference::gelu(biased), 1e-5 + 2 * vit::bench::roundoff(dtype));
        }
        const Stats stats = timer.time(run.warmup(), run.reps(), gelu);
        report_memory_kernel(run, bandwidth, "bias_gelu", dtype, rows, mlp,
                             double(rows * mlp) * (sizeof(float) + double(size)), stats);
      }
      // Softmax: [B·H·N, N] in dtype, scores in [-4, 4); out of place so that every call sees the same input.
      {
        const std::int64_t softmax_rows = batch * heads * tokens;
        vit::bench::fill(x, x_values, softmax_rows * tokens, dtype, run.stream);
        out.reserve(std::size_t(softmax_rows * tokens) * size);
        const auto softmax = [&] {
          vit::cuda::launch::softmax(dtype, x.data(), out.data(), softmax_rows, int(tokens), run.stream);
        };
        softmax();
        for (std::int64_t row : rows_to_check(softmax_rows)) {
          Tensor<float> expected = x_values.slice(row * tokens, 1, tokens);
          vit::cpu::softmax_row(expected.data(), tokens);
          vit::bench::require_close("softmax " + vit::bench::dtype_label(dtype) + " row " + std::to_string(row),
                                    vit::bench::download(out.data(), dtype, row * tokens, 1, tokens, run.stream),
                                    expected, 1e-5 + 2 * vit::bench::roundoff(dtype));
        }
        const Stats stats = timer.time(run.warmup(), run.reps(), softmax);
        report_memory_kernel(run, bandwidth, "softmax", dtype, softmax_rows, tokens,
                             2.0 * double(softmax_rows * tokens) * double(size), stats);
      }
    }
}

// ---------------------------------------------------------------------------------------------------------
// GEMM: Blas::linear vs cuBLASLt's best

// The cuBLASLt objects of one GEMM, destroyed together.
struct LtMatmul {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t preference = nullptr;
  ~LtMatmul() {
    if (preference != nullptr) (void)cublasLtMatmulPreferenceDestroy(preference);
    if (c != nullptr) (void)cublasLtMatrixLayoutDestroy(c);
    if (b != nullptr) (void)cublasLtMatrixLayoutDestroy(b);
    if (a != nullptr) (void)cublasLtMatrixLayoutDestroy(a);
    if (op != nullptr) (void)cublasLtMatmulDescDestroy(op);
  }
};

struct GemmShape {
  const char* name;
  std::int64_t in, out;
};

void bench_gemm(const Run& run) {
  const vit::cuda::Blas blas(run.stream);
  vit::bench::EventTimer timer(run.stream);
  cublasLtHandle_t lt = nullptr;
  VIT_CUBLAS_CHECK(cublasLtCreate(&lt));
  struct LtHandle {
    cublasLtHandle_t handle;
    ~LtHandle() { (void)cublasLtDestroy(handle); }
  } lt_guard{lt};
  const std::size_t workspace_bytes = std::size_t(32) << 20;  // what cuBLAS itself uses on Hopper
  DeviceBuffer workspace, x, w, y, y_lt;
  workspace.reserve(workspace_bytes);
  const GemmShape shapes[] = {{"qkv", 768, 2304}, {"proj", 768, 768}, {"fc1", 768, 3072}, {"fc2", 3072, 768}};
  const std::vector<std::int64_t> batches =
      run.options.smoke ? std::vector<std::int64_t>{1} : std::vector<std::int64_t>{64, 256};
  const Pattern x_values = Pattern::random(1 << 20, 31, 1.0f / 64);
  std::printf("\n== GEMM y [M, N] fp32 = x [M, K] · w [N, K]ᵀ, fp32 accumulation (M = 197 · B)\n");
  std::printf("%-5s %-5s %6s %5s %5s | %9s %8s | %9s %8s %5s | %6s\n", "dtype", "layer", "M", "K", "N", "ours ms",
              "TFLOP/s", "Lt ms", "TFLOP/s", "algos", "ours/Lt");
  for (DType dtype : kDtypes)
    for (std::int64_t batch : batches)
      for (const GemmShape& shape : shapes) {
        const std::int64_t rows = 197 * batch, m = shape.out, n = rows, k = shape.in;
        const Pattern w_values = Pattern::random(shape.out * shape.in, 32, 1.0f / 1024);
        vit::bench::fill(x, x_values, rows * shape.in, dtype, run.stream);
        vit::bench::fill(w, w_values, shape.out * shape.in, dtype, run.stream);
        y.reserve(std::size_t(rows * shape.out) * sizeof(float));
        y_lt.reserve(std::size_t(rows * shape.out) * sizeof(float));
        const double flops = 2.0 * double(rows) * double(shape.in) * double(shape.out);
        const auto validate = [&](const std::string& who, const void* result) {
          const Tensor<float> weights = w_values.slice(0, shape.out, shape.in);
          for (std::int64_t row : rows_to_check(rows))
            vit::bench::require_close(
                who + " " + shape.name + " " + vit::bench::dtype_label(dtype) + " row " + std::to_string(row),
                vit::bench::download(result, DType::F32, row * shape.out, 1, shape.out, run.stream),
                vit::cpu::reference::linear(x_values.slice(row * shape.in, 1, shape.in), weights, {}),
                1e-3);  // exact products, fp32 sums in any order
        };
        const auto ours = [&] {
          blas.linear(dtype, x.data(), w.data(), static_cast<float*>(y.data()), rows, shape.out, shape.in);
        };
        ours();
        validate("Blas::linear", y.data());
        const Stats our_stats = timer.time(run.warmup(), run.reps(), ours);

        // cuBLASLt, the same column-major problem as Blas::linear: yᵀ [m = N, n = M] = w (k × m, op T) · xᵀ (k × n).
        LtMatmul matmul;
        const cudaDataType_t type = cuda_type(dtype);
        const cublasOperation_t transpose = CUBLAS_OP_T, plain = CUBLAS_OP_N;
        VIT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&matmul.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
        VIT_CUBLAS_CHECK(
            cublasLtMatmulDescSetAttribute(matmul.op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof(transpose)));
        VIT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(matmul.op, CUBLASLT_MATMUL_DESC_TRANSB, &plain, sizeof(plain)));
        VIT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&matmul.a, type, std::uint64_t(k), std::uint64_t(m), k));
        VIT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&matmul.b, type, std::uint64_t(k), std::uint64_t(n), k));
        VIT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&matmul.c, CUDA_R_32F, std::uint64_t(m), std::uint64_t(n), m));
        VIT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&matmul.preference));
        const std::uint64_t max_workspace = workspace_bytes;
        VIT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
            matmul.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_workspace, sizeof(max_workspace)));
        cublasLtMatmulHeuristicResult_t candidates[8] = {};
        int returned = 0;
        VIT_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(lt, matmul.op, matmul.a, matmul.b, matmul.c, matmul.c,
                                                        matmul.preference, 8, candidates, &returned));
        VIT_CHECK(returned > 0, "cuBLASLt has no algorithm for ", shape.name, " in ", vit::bench::dtype_label(dtype));
        const float alpha = 1.0f, beta = 0.0f;
        Stats best;
        int best_index = -1, tried = 0;
        for (int i = 0; i < returned; ++i) {
          if (candidates[i].state != CUBLAS_STATUS_SUCCESS || candidates[i].workspaceSize > workspace_bytes) continue;
          const auto lt_call = [&] {
            VIT_CUBLAS_CHECK(cublasLtMatmul(lt, matmul.op, &alpha, w.data(), matmul.a, x.data(), matmul.b, &beta,
                                            y_lt.data(), matmul.c, y_lt.data(), matmul.c, &candidates[i].algo,
                                            workspace.data(), workspace_bytes, run.stream));
          };
          const Stats stats = timer.time(run.warmup(), run.reps(), lt_call);
          ++tried;
          if (best_index < 0 || stats.median_ms < best.median_ms) {
            best = stats;
            best_index = i;
          }
        }
        VIT_CHECK(best_index >= 0, "cuBLASLt: no usable algorithm for ", shape.name);
        // The winner, run once more, is what gets validated.
        VIT_CUBLAS_CHECK(cublasLtMatmul(lt, matmul.op, &alpha, w.data(), matmul.a, x.data(), matmul.b, &beta,
                                        y_lt.data(), matmul.c, y_lt.data(), matmul.c, &candidates[best_index].algo,
                                        workspace.data(), workspace_bytes, run.stream));
        validate("cuBLASLt", y_lt.data());
        const double ratio = best.median_ms / our_stats.median_ms;  // > 1: ours is faster
        std::printf("%-5s %-5s %6lld %5lld %5lld | %9.4f %8.2f | %9.4f %8.2f %5d | %6.3f\n",
                    vit::bench::dtype_label(dtype).c_str(), shape.name, static_cast<long long>(rows),
                    static_cast<long long>(shape.in), static_cast<long long>(shape.out), our_stats.median_ms,
                    flops / our_stats.median_ms * 1e-9, best.median_ms, flops / best.median_ms * 1e-9, tried, ratio);
        run.out->write({{"kind", "gemm"},
                        {"dtype", vit::bench::dtype_label(dtype)},
                        {"layer", shape.name},
                        {"batch", batch},
                        {"m", rows},
                        {"k", shape.in},
                        {"n", shape.out},
                        {"flops", flops},
                        {"ours_median_ms", our_stats.median_ms},
                        {"ours_min_ms", our_stats.min_ms},
                        {"ours_tflops", flops / our_stats.median_ms * 1e-9},
                        {"lt_median_ms", best.median_ms},
                        {"lt_min_ms", best.min_ms},
                        {"lt_tflops", flops / best.median_ms * 1e-9},
                        {"lt_algorithms_tried", tried},
                        {"ours_speed_over_lt", ratio},
                        {"reps", our_stats.reps}});
      }
}

}  // namespace

int main(int argc, char** argv) {
  return vit::bench::benchmark_main(argc, argv, "bench_cuda_kernels",
                                    [](const vit::bench::Options& options, vit::bench::JsonLines& out) {
                                      Run run;
                                      run.options = options;
                                      run.out = &out;
                                      VIT_CUDA_CHECK(cudaStreamCreate(&run.stream));
                                      bench_attention(run);
                                      bench_memory_kernels(run);
                                      bench_gemm(run);
                                      VIT_CUDA_CHECK(cudaStreamSynchronize(run.stream));
                                      VIT_CUDA_CHECK(cudaStreamDestroy(run.stream));
                                      std::printf("\nall kernels validated against the CPU reference%s\n",
                                                  options.smoke ? " (smoke: one call each)" : "");
                                    });
}
