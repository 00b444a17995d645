// What the two GPU benchmarks share: options (--smoke, --out FILE), the no-device skip, timing statistics,
// CUDA-event timing on a stream, device buffers filled from a small host pattern, and JSON-lines output.
// Host C++ only (CUDA runtime API, no kernels): the kernels come from vit::cuda.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>
#include <vit/core.hpp>
#include <vit/cuda.hpp>

#include "../../tests/compare.hpp"
#include "vit/cuda/check.cuh"

namespace vit::bench {

struct Options {
  bool smoke = false;  // smallest sizes, one repetition, validation only (CI)
  std::string out;     // JSON lines file, or empty
};

// Parses --smoke and --out FILE; prints `usage` and exits 2 on anything else.
inline Options parse_options(int argc, char** argv, const char* usage) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--smoke") {
      options.smoke = true;
    } else if (arg == "--out" && i + 1 < argc) {
      options.out = argv[++i];
    } else {
      std::cerr << "usage: " << argv[0] << " " << usage << "\n";
      std::exit(2);
    }
  }
  return options;
}

// True (after printing the line CI looks for, with the reason) when no CUDA device is usable: the caller exits 0.
// With VIT_REQUIRE_GPU=1 (tools/gpu_check.sh) no device is a failure instead: exits 1.
inline bool skip_without_device() {
  const std::string status = cuda::device_status();
  if (status.empty()) return false;
  const char* required = std::getenv("VIT_REQUIRE_GPU");
  if (required != nullptr && std::string(required) != "0") {
    std::cout << "FAILED: no CUDA device: " << status << " (VIT_REQUIRE_GPU=1 makes this a failure)\n";
    std::exit(1);
  }
  std::cout << "SKIPPED: no CUDA device: " << status << "\n";
  return true;
}

struct Stats {
  double median_ms = 0, min_ms = 0;
  int reps = 0;
};

inline Stats summarize(std::vector<double> ms) {
  VIT_CHECK(!ms.empty(), "summarize: no timings");
  std::sort(ms.begin(), ms.end());
  const std::size_t n = ms.size();
  Stats stats;
  stats.median_ms = n % 2 == 1 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  stats.min_ms = ms.front();
  stats.reps = int(n);
  return stats;
}

// Events created once, destroyed with the timer.
class EventTimer {
 public:
  explicit EventTimer(cudaStream_t stream) : stream_(stream) {
    VIT_CUDA_CHECK(cudaEventCreate(&start_));
    VIT_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    (void)cudaEventDestroy(start_);  // a destructor must not throw
    (void)cudaEventDestroy(stop_);
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  // `body` queues work on the stream; `warmup` untimed calls, then `reps` calls each between two events
  // recorded on the same stream (the device time of that call alone, not the host's launch loop).
  template <class Body>
  Stats time(int warmup, int reps, Body&& body) {
    for (int i = 0; i < warmup; ++i) body();
    VIT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::vector<double> ms;
    for (int i = 0; i < reps; ++i) {
      VIT_CUDA_CHECK(cudaEventRecord(start_, stream_));
      body();
      VIT_CUDA_CHECK(cudaEventRecord(stop_, stream_));
      VIT_CUDA_CHECK(cudaEventSynchronize(stop_));
      float elapsed = 0;
      VIT_CUDA_CHECK(cudaEventElapsedTime(&elapsed, start_, stop_));
      ms.push_back(double(elapsed));
    }
    return summarize(ms);
  }

 private:
  cudaStream_t stream_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// A host "tensor" of any size defined by a short tile: element i is tile[i % tile.size()]. The values are
// multiples of `step` with at most 8 significant bits (k · step, k ∈ [-128, 127]), so fp32, fp16 and bf16
// hold them exactly (for steps in fp16's normal range): device inputs of every dtype equal the host values
// the CPU reference reads.
struct Pattern {
  std::vector<float> tile;
  float at(std::int64_t i) const { return tile[std::size_t(i % std::int64_t(tile.size()))]; }

  static Pattern random(std::int64_t tile_size, std::uint32_t seed, float step) {
    std::mt19937 generator(seed);
    std::uniform_int_distribution<int> k(-128, 127);
    Pattern pattern;
    pattern.tile.resize(std::size_t(tile_size));
    for (float& value : pattern.tile) value = float(k(generator)) * step;
    return pattern;
  }

  // Host copy of elements [first, first + rows · cols) as a [rows, cols] tensor (for the CPU reference).
  Tensor<float> slice(std::int64_t first, std::int64_t rows, std::int64_t cols) const {
    Tensor<float> out = Tensor<float>::uninitialized({rows, cols});
    for (std::int64_t i = 0; i < rows * cols; ++i) out[i] = at(first + i);
    return out;
  }
};

// Makes `buffer` hold `count` elements of `dtype` equal to the pattern: one upload of the first tile, then
// device-to-device copies doubling the filled prefix (each copy starts at a multiple of the tile size, so
// the copied values are the pattern's at their new place).
inline void fill(cuda::DeviceBuffer& buffer, const Pattern& pattern, std::int64_t count, DType dtype,
                 cudaStream_t stream) {
  const std::size_t size = dtype_size(dtype);
  buffer.reserve(std::size_t(count) * size);
  const std::int64_t first = std::min<std::int64_t>(count, std::int64_t(pattern.tile.size()));
  std::vector<unsigned char> bytes(std::size_t(first) * size);
  for (std::int64_t i = 0; i < first; ++i) store_as(dtype, pattern.tile[std::size_t(i)], bytes.data() + i * size);
  char* base = static_cast<char*>(buffer.data());
  VIT_CUDA_CHECK(cudaMemcpyAsync(base, bytes.data(), bytes.size(), cudaMemcpyHostToDevice, stream));
  for (std::int64_t filled = first; filled < count;) {
    const std::int64_t copy = std::min(filled, count - filled);
    VIT_CUDA_CHECK(cudaMemcpyAsync(base + filled * std::int64_t(size), base, std::size_t(copy) * size,
                                   cudaMemcpyDeviceToDevice, stream));
    filled += copy;
  }
  VIT_CUDA_CHECK(cudaStreamSynchronize(stream));  // `bytes` dies here
}

// Elements [first, first + rows · cols) of a device array of `dtype`, as a host fp32 [rows, cols] tensor.
inline Tensor<float> download(const void* device, DType dtype, std::int64_t first, std::int64_t rows, std::int64_t cols,
                              cudaStream_t stream) {
  const std::size_t size = dtype_size(dtype);
  std::vector<unsigned char> bytes(std::size_t(rows * cols) * size);
  VIT_CUDA_CHECK(cudaMemcpyAsync(bytes.data(), static_cast<const char*>(device) + first * std::int64_t(size),
                                 bytes.size(), cudaMemcpyDeviceToHost, stream));
  VIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  Tensor<float> out = Tensor<float>::uninitialized({rows, cols});
  for (std::int64_t i = 0; i < out.numel(); ++i) out[i] = load_as(dtype, bytes.data() + i * size);
  return out;
}

// Unit roundoff of a dtype's storage (fp32 counts as exact: the fp32 bounds cover its arithmetic).
inline double roundoff(DType dtype) {
  return dtype == DType::F16 ? 1.0 / 2048 : dtype == DType::BF16 ? 1.0 / 256 : 0.0;
}

// Throws vit::Error (the benchmark then exits non-zero) unless |actual − expected| ≤ tolerance · max(1,
// max |expected|) everywhere; NaN never passes. Returns the max abs error.
inline double require_close(const std::string& what, TensorView<const float> actual, TensorView<const float> expected,
                            double tolerance) {
  VIT_CHECK(actual.numel() == expected.numel(), what, ": ", actual.numel(), " values, expected ", expected.numel());
  double magnitude = 1;
  for (std::int64_t i = 0; i < expected.numel(); ++i) magnitude = std::max(magnitude, double(std::abs(expected[i])));
  const test::Comparison comparison = test::compare(actual, expected, tolerance * magnitude);
  if (comparison.count_bad > 0)
    detail::fail("VALIDATION FAILED: ", what, ": ", comparison.describe(actual, expected), " (tolerance ",
                 tolerance * magnitude, ")");
  return comparison.max_abs;
}

// One JSON object per line, to `path` (nothing when empty), flushed per record so a crash keeps the rest.
class JsonLines {
 public:
  explicit JsonLines(const std::string& path) {
    if (path.empty()) return;
    file_.open(path);
    VIT_CHECK(file_.good(), "cannot write ", path);
  }
  void write(const nlohmann::json& record) {
    if (file_.is_open()) file_ << record.dump() << std::endl;
  }

 private:
  std::ofstream file_;
};

// The record every output file starts with: which device, when, which build.
inline nlohmann::json device_record(const std::string& benchmark, bool smoke) {
  return {{"kind", "device"}, {"benchmark", benchmark}, {"device", cuda::describe_device()}, {"smoke", smoke}};
}

// "fp32", "fp16", "bf16": the spelling of --dtype and of the PyTorch peers' records.
// The main() of a GPU benchmark: options, the no-device skip (exit 0), the device line and record, then
// body(options, out). Any exception, a failed validation among them, prints its message and exits 1.
template <class Body>
int benchmark_main(int argc, char** argv, const char* name, Body&& body) {
  try {
    const Options options = parse_options(argc, argv, "[--smoke] [--out FILE]");
    if (skip_without_device()) return 0;
    std::printf("%s\n", cuda::describe_device().c_str());
    JsonLines out(options.out);
    out.write(device_record(name, options.smoke));
    body(options, out);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", name, error.what());
    return 1;
  }
}

inline std::string dtype_label(DType dtype) {
  return dtype == DType::F32 ? "fp32" : dtype == DType::F16 ? "fp16" : "bf16";
}

}  // namespace vit::bench
