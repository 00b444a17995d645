// parallel_for: split [0, count) into one contiguous chunk per thread.
//
// OpenMP when the build has it (vit::vit links OpenMP when CMake finds it), serial otherwise.
// Chunks are contiguous so each worker can set up scratch memory once and stream through its rows.
// Nested calls run serially inside the outer region (OpenMP's default). Eigen's own GEMM parallelism is
// switched off (see eigen.hpp), so the threads are exactly the ones parallel_for starts.
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace vit::cpu {

// Calls body(begin, end) for disjoint chunks covering [0, count), using at most `threads` threads and
// chunks of at least `min_chunk` items (small work is not worth waking threads for).
template <typename Body>
void parallel_for(int threads, std::int64_t count, std::int64_t min_chunk, const Body& body) {
  if (count <= 0) return;
  const std::int64_t max_chunks = std::max<std::int64_t>(1, count / std::max<std::int64_t>(1, min_chunk));
  const int chunks = int(std::clamp<std::int64_t>(threads, 1, max_chunks));
  const auto chunk_range = [&](int chunk, std::int64_t& begin, std::int64_t& end) {
    begin = count * chunk / chunks;
    end = count * (chunk + 1) / chunks;
  };
#if defined(_OPENMP)
  if (chunks > 1) {
#pragma omp parallel for num_threads(chunks) schedule(static, 1)
    for (int chunk = 0; chunk < chunks; ++chunk) {
      std::int64_t begin, end;
      chunk_range(chunk, begin, end);
      body(begin, end);
    }
    return;
  }
#endif
  for (int chunk = 0; chunk < chunks; ++chunk) {
    std::int64_t begin, end;
    chunk_range(chunk, begin, end);
    body(begin, end);
  }
}

}  // namespace vit::cpu
