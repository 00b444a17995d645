// The machine's measured fp32 FMA peak: a register-blocked loop of independent fused multiply-adds at
// the widest vector width the build targets (AVX-512, else AVX2+FMA, else SSE mul+add), on one thread
// and on all threads. Every other benchmark quotes "% of peak" against the all-threads median
// (bench/run_cpu.sh passes it on as VIT_PEAK_GFLOPS).
//
// Enough independent accumulators to cover the FMA latency times the number of FMA pipes (4 cycles ×
// 2 pipes on current x86 cores needs 8); 12 leaves a margin.
#include <immintrin.h>

#include "bench_common.hpp"
#include "vit/cpu/parallel.hpp"

namespace {

constexpr int kAccumulators = 12;

#if defined(__AVX512F__)
using Vector = __m512;
constexpr int kLanes = 16;
constexpr const char* kIsa = "avx512 fma";
inline Vector broadcast(float value) { return _mm512_set1_ps(value); }
inline Vector fma(Vector a, Vector b, Vector c) { return _mm512_fmadd_ps(a, b, c); }
inline float first_lane(Vector v) { return _mm512_cvtss_f32(v); }
#elif defined(__AVX2__) && defined(__FMA__)
using Vector = __m256;
constexpr int kLanes = 8;
constexpr const char* kIsa = "avx2 fma";
inline Vector broadcast(float value) { return _mm256_set1_ps(value); }
inline Vector fma(Vector a, Vector b, Vector c) { return _mm256_fmadd_ps(a, b, c); }
inline float first_lane(Vector v) { return _mm256_cvtss_f32(v); }
#else
using Vector = __m128;
constexpr int kLanes = 4;
constexpr const char* kIsa = "sse mul+add (no FMA in this build)";
inline Vector broadcast(float value) { return _mm_set1_ps(value); }
inline Vector fma(Vector a, Vector b, Vector c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
inline float first_lane(Vector v) { return _mm_cvtss_f32(v); }
#endif

// acc ← acc · ½ + 1 repeated: from any start every accumulator converges to exactly 2, which validates the loop ran
// the arithmetic it claims (and keeps values finite however long it runs).
float fma_loop(std::int64_t steps, float half, float one) {
  const Vector a = broadcast(half), b = broadcast(one);
  Vector acc[kAccumulators];  // distinct starting values, or the compiler merges identical chains into one
  for (int i = 0; i < kAccumulators; ++i) acc[i] = broadcast(float(i) * one);
  for (std::int64_t step = 0; step < steps; ++step)
    for (Vector& value : acc) value = fma(value, a, b);  // independent chains: fully unrolled by the compiler
  float sum = 0;
  for (const Vector& value : acc) sum += first_lane(value);
  return sum / kAccumulators;
}

void peak(benchmark::State& state, int threads) {
  const std::int64_t steps = vit::bench::settings().smoke ? 1000 : 2'000'000;
  volatile float half = 0.5f, one = 1.0f;  // runtime values: the compiler cannot fold the loop away
  for (auto _ : state) {
    float results[256] = {};
    vit::cpu::parallel_for(threads, threads, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t t = begin; t < end; ++t) results[t] = fma_loop(steps, half, one);
    });
    for (int t = 0; t < threads; ++t)
      if (results[t] != 2.0f) vit::bench::fail("the FMA loop did not converge to 2");
    benchmark::DoNotOptimize(results);
  }
  vit::bench::count_flops(state, 2.0 * kLanes * kAccumulators * double(steps) * threads);
  state.SetLabel(kIsa);
}

void register_all() {
  const int all = std::min(256, vit::bench::settings().context.threads);
  vit::bench::configure(benchmark::RegisterBenchmark("cpu_peak/threads:1", peak, 1));
  vit::bench::configure(benchmark::RegisterBenchmark(("cpu_peak/threads:" + std::to_string(all)).c_str(), peak, all));
}

}  // namespace

int main(int argc, char** argv) { return vit::bench::main(argc, argv, register_all); }
