// Row softmax on the CPU, numerically stable: exp(x - max) / Σ exp(x - max).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace vit::cpu {

// One row of `count` values, in place.
inline void softmax_row(float* row, std::int64_t count) {
  float max_value = row[0];
  for (std::int64_t i = 1; i < count; ++i) max_value = std::max(max_value, row[i]);
  float sum = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    row[i] = std::exp(row[i] - max_value);
    sum += row[i];
  }
  const float inv_sum = 1.0f / sum;
  for (std::int64_t i = 0; i < count; ++i) row[i] *= inv_sum;
}

}  // namespace vit::cpu
