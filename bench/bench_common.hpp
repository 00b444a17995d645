// What every speed benchmark shares: the smoke mode, validation before timing, random inputs, the
// measured peak, and counters in useful units (GFLOP/s, % of peak, GB/s, images/s, ms/image).
//
// Each benchmark binary takes Google Benchmark's own flags plus:
//   --smoke   tiny sizes, one iteration, one repetition: checks that validation and timing code run
//             (CTest runs every binary this way; its times mean nothing).
//   --threads=N   CPU threads for vit's ops (default: all hardware threads, as vit::Context).
//   --export-dir=DIR   (bench_forward) also write each model's random weights and a reference input and
//             its logits there, so that tools/bench_peers.py runs the very same model.
// The measured fp32 peak (bench_cpu_peak's all-threads result) is read from the environment variable
// VIT_PEAK_GFLOPS, which bench/run_cpu.sh sets; without it no "% of peak" counter is reported.
#pragma once

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vit/core.hpp>

#include "../tests/compare.hpp"
#include "../tests/random_model.hpp"

namespace vit::bench {

struct Settings {
  bool smoke = false;
  double peak_gflops = 0;  // 0: unknown
  std::string export_dir;  // empty: export nothing
  Context context;         // its thread count set by --threads
};

inline Settings& settings() {
  static Settings instance;
  return instance;
}

// Medians over repetitions (the minimum too); in smoke mode a single iteration.
inline benchmark::internal::Benchmark* configure(benchmark::internal::Benchmark* benchmark) {
  benchmark->UseRealTime()->Unit(benchmark::kMillisecond);  // threads: wall time is what a user waits for
  if (settings().smoke) return benchmark->Iterations(1)->Repetitions(1);
  return benchmark->Repetitions(5)->ReportAggregatesOnly(true)->ComputeStatistics(
      "min", [](const std::vector<double>& values) { return *std::min_element(values.begin(), values.end()); });
}

using test::random_tensor;  // deterministic inputs ~N(0, scale²)

// Stops the whole program (non-zero exit): a benchmark whose result is wrong must not report a time.
[[noreturn]] inline void fail(const std::string& why) {
  std::fprintf(stderr, "validation failed: %s\n", why.c_str());
  std::exit(2);
}

// fail()s when `actual` is further than `tolerance` from `expected` anywhere (NaN never passes).
inline void validate(const std::string& what, TensorView<const float> actual, TensorView<const float> expected,
                     double tolerance) {
  const test::Comparison comparison = test::compare(actual, expected, tolerance);
  if (comparison.count_bad > 0)
    fail(what + ": " + comparison.describe(actual, expected) + " (tolerance " + std::to_string(tolerance) + ")");
}

// GFLOP/s, and % of the measured peak when known, for `flops` per iteration.
inline void count_flops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (settings().peak_gflops > 0)
    state.counters["%peak"] =
        benchmark::Counter(flops * 1e-9 * 100 / settings().peak_gflops, benchmark::Counter::kIsIterationInvariantRate);
}

// GB/s for `bytes` moved per iteration.
inline void count_bytes(benchmark::State& state, double bytes) {
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// images/s and ms/image for `batch` images per iteration.
inline void count_images(benchmark::State& state, std::int64_t batch) {
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["ms/image"] = benchmark::Counter(
      double(batch) * 1e-3, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// The process's peak resident memory (VmHWM), in MiB, since the last reset_peak_memory().
inline double peak_memory_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;  // reported in kB
  return 0;
}

// Returns freed heap memory to the system, then resets VmHWM to the current resident size (Linux:
// writing 5 to clear_refs), so that the next peak_memory_mib() measures one configuration, not
// everything the process did before (such as building a model's random weights).
inline void reset_peak_memory() {
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
}

// main() of every benchmark binary: Google Benchmark's flags, then ours, then `register_all`.
inline int main(int argc, char** argv, void (*register_all)()) {
  benchmark::Initialize(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) {
      settings().smoke = true;
    } else if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      settings().context.threads = std::max(1, std::atoi(argv[i] + 10));
    } else if (std::strncmp(argv[i], "--export-dir=", 13) == 0) {
      settings().export_dir = argv[i] + 13;
    } else {
      std::fprintf(stderr, "unknown option %s (accepted: --benchmark_*, --smoke, --threads=N, --export-dir=DIR)\n",
                   argv[i]);
      return 2;
    }
  }
  if (const char* peak = std::getenv("VIT_PEAK_GFLOPS")) settings().peak_gflops = std::atof(peak);
  register_all();
  benchmark::AddCustomContext("vit_threads", std::to_string(settings().context.threads));
  benchmark::AddCustomContext("vit_smoke", settings().smoke ? "true" : "false");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace vit::bench
