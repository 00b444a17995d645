// Row softmax on the CPU, numerically stable: exp(x - max) / Σ exp(x - max).
#pragma once

#include <cstdint>

#include "vit/cpu/eigen.hpp"

namespace vit::cpu {

// One row of `count` values, in place. Eigen's vectorised exp (within ~1e-7 relative of the exact
// value): the scalar std::exp loop cost as much as the Q·Kᵀ product at N = 197.
//
// The work happens in an aligned per-thread copy. On an unaligned row Eigen starts with a scalar head
// whose length depends on the address, and its scalar exp differs from the vector one in the last bit,
// so the same row at two addresses (the maps tensor, or scratch) would not give bit-identical results.
inline void softmax_row(float* row, std::int64_t count) {
  thread_local Eigen::ArrayXf values;  // Eigen's heap storage is aligned; reallocated only when count changes
  values = Eigen::Map<const Eigen::ArrayXf>(row, count);
  const float max_value = values.maxCoeff();
  values = (values - max_value).exp();
  values *= 1.0f / values.sum();
  Eigen::Map<Eigen::ArrayXf>(row, count) = values;
}

}  // namespace vit::cpu
