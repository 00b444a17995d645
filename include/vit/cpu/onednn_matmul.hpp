// A linear layer's product as one oneDNN matmul primitive: y[M, N] = x[M, K] · W[N, K]ᵀ + b (+ y).
//
// Why a primitive and not dnnl_sgemm per thread (detail::gemm): oneDNN splits the product over the threads
// itself, packs each block of W once for all of them and adds the bias and the residual (a sum post-op) in
// the pass that stores y. At DeiT-tiny's shapes at batch 1 the per-thread
// sgemm, where every thread packs its own slice, ran at 100-180 GFLOP/s against 190-215 for the primitive on
// a 2-core AVX-512 machine (bench_gemm). The weights stay in the model's own [N, K] layout (read as a
// transposed [K, N] matrix), so nothing is copied at load, nothing goes stale when training updates the
// weights in place, and a primitive depends only on the shapes: it is made once per (M, K, N, bias, sum,
// threads) and kept in a process-wide cache. Creating one costs ~0.1-1 ms; a model needs a handful per batch
// size.
//
// Threads: with oneDNN's OpenMP runtime a primitive plans its split for omp_get_max_threads() when it is
// made and runs on that many, so the calling thread's count is set to Context::threads around both (and
// restored); inside an OpenMP parallel region oneDNN runs sequentially, and the primitive is planned for one
// thread. The scratchpad is the caller's (scratchpad_mode::user, one buffer per calling thread), so that
// threads may run the same primitive at once.
#pragma once

#if defined(VIT_WITH_ONEDNN)

#include <cstddef>
#include <cstdint>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "vit/core/error.hpp"

namespace vit::cpu::detail {

struct MatmulShape {
  std::int64_t rows, in, out;  // M, K, N
  bool bias, accumulate;
  int threads;
  bool operator<(const MatmulShape& other) const {
    return std::tie(rows, in, out, bias, accumulate, threads) <
           std::tie(other.rows, other.in, other.out, other.bias, other.accumulate, other.threads);
  }
};

struct MatmulPrimitive {
  dnnl::matmul primitive;
  dnnl::memory::desc source, weights, bias, destination, scratchpad;
};

// Sets the calling thread's OpenMP thread count for the lifetime of the object (oneDNN reads it).
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int threads) {
#if defined(_OPENMP)
    saved_ = omp_get_max_threads();
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
  }
  ~ScopedOmpThreads() {
#if defined(_OPENMP)
    omp_set_num_threads(saved_);
#endif
  }
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  int saved_ = 1;
};

inline const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The primitive for `shape`, made on first use. Made with the calling thread's OpenMP count set to
// shape.threads (ScopedOmpThreads around the call).
inline std::shared_ptr<const MatmulPrimitive> matmul_primitive(const MatmulShape& shape) {
  static std::mutex mutex;
  static std::map<MatmulShape, std::shared_ptr<const MatmulPrimitive>> cache;
  constexpr std::size_t kMaxCached = 256;  // shapes of many models and batch sizes; beyond that, start over
  std::lock_guard<std::mutex> lock(mutex);
  if (auto found = cache.find(shape); found != cache.end()) return found->second;

  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  auto made = std::make_shared<MatmulPrimitive>();
  made->source = dnnl::memory::desc({shape.rows, shape.in}, dt::f32, tag::ab);
  made->weights = dnnl::memory::desc({shape.in, shape.out}, dt::f32, tag::ba);  // W [N, K] read as Wᵀ [K, N]
  made->destination = dnnl::memory::desc({shape.rows, shape.out}, dt::f32, tag::ab);
  if (shape.bias) made->bias = dnnl::memory::desc({1, shape.out}, dt::f32, tag::ab);
  dnnl::post_ops post_ops;
  if (shape.accumulate) post_ops.append_sum(1.0f);
  dnnl::primitive_attr attributes;
  attributes.set_post_ops(post_ops);
  attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::desc description =
      shape.bias ? dnnl::matmul::desc(made->source, made->weights, made->bias, made->destination)
                 : dnnl::matmul::desc(made->source, made->weights, made->destination);
  const dnnl::matmul::primitive_desc primitive_description(description, attributes, cpu_engine());
  made->scratchpad = primitive_description.scratchpad_desc();
  made->primitive = dnnl::matmul(primitive_description);
  if (cache.size() >= kMaxCached) cache.clear();  // entries in use stay alive through their shared_ptr
  cache.emplace(shape, made);
  return made;
}

// The calling thread's scratchpad, at least `bytes` long and 64-byte aligned (oneDNN's preference).
inline void* matmul_scratchpad(std::size_t bytes) {
  thread_local std::vector<std::byte> buffer;
  constexpr std::size_t kAlignment = 64;
  if (buffer.size() < bytes + kAlignment) buffer.resize(bytes + kAlignment);
  void* start = buffer.data();
  std::size_t space = buffer.size();
  return std::align(kAlignment, bytes, start, space);
}

// y[rows, out] = x[rows, in] · weight[out, in]ᵀ + bias[out] (+ y when accumulate), all row-major and
// contiguous; bias may be null. rows, in, out > 0.
inline void onednn_linear(int threads, const float* x, const float* weight, const float* bias, float* y,
                          std::int64_t rows, std::int64_t in, std::int64_t out, bool accumulate) {
#if defined(_OPENMP)
  if (omp_in_parallel()) threads = 1;
#endif
  const MatmulShape shape{rows, in, out, bias != nullptr, accumulate, threads};
  try {
    ScopedOmpThreads scoped(threads);
    const std::shared_ptr<const MatmulPrimitive> made = matmul_primitive(shape);
    const dnnl::engine& engine = cpu_engine();
    // oneDNN's memory objects take non-const handles; the primitive only reads source, weights and bias.
    std::unordered_map<int, dnnl::memory> arguments{
        {DNNL_ARG_SRC, dnnl::memory(made->source, engine, const_cast<float*>(x))},
        {DNNL_ARG_WEIGHTS, dnnl::memory(made->weights, engine, const_cast<float*>(weight))},
        {DNNL_ARG_DST, dnnl::memory(made->destination, engine, y)},
        {DNNL_ARG_SCRATCHPAD, dnnl::memory(made->scratchpad, engine, matmul_scratchpad(made->scratchpad.get_size()))}};
    if (bias) arguments.emplace(DNNL_ARG_BIAS, dnnl::memory(made->bias, engine, const_cast<float*>(bias)));
    dnnl::stream stream(engine);
    made->primitive.execute(stream, arguments);
    stream.wait();
  } catch (const dnnl::error& error) {
    ::vit::detail::fail("cpu linear: oneDNN matmul failed (", error.what(), ", status ", int(error.status), ") for x [",
                        rows, ", ", in, "], weight [", out, ", ", in, "]");
  }
}

}  // namespace vit::cpu::detail

#endif  // VIT_WITH_ONEDNN
