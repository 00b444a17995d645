// Tensor comparison that reports the max absolute/relative error and the first index out of tolerance.
// No Catch2 here: the tests' assertions (support.hpp) and the benchmarks' validation both use it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vit/core/tensor.hpp>

namespace vit::test {

struct Comparison {
  double max_abs = 0, max_rel = 0;
  std::int64_t first_bad = -1, count_bad = 0;
  std::string describe(TensorView<const float> actual, TensorView<const float> expected) const {
    std::ostringstream out;
    out << "max abs error " << max_abs << ", max rel error " << max_rel;
    if (first_bad >= 0)
      out << "; " << count_bad << " values out of tolerance, first at flat index " << first_bad << " (got "
          << actual[first_bad] << ", expected " << expected[first_bad] << ")";
    return out.str();
  }
};

// |actual - expected| <= abs_tolerance element-wise (NaN never passes).
inline Comparison compare(TensorView<const float> actual, TensorView<const float> expected, double abs_tolerance) {
  Comparison result;
  for (std::int64_t i = 0; i < expected.numel(); ++i) {
    const double error = std::abs(double(actual[i]) - double(expected[i]));
    const double relative = error / std::max(1e-12, std::abs(double(expected[i])));
    if (error > result.max_abs || std::isnan(error)) result.max_abs = error;
    result.max_rel = std::max(result.max_rel, relative);
    if (!(error <= abs_tolerance)) {
      if (result.first_bad < 0) result.first_bad = i;
      ++result.count_bad;
    }
  }
  return result;
}

}  // namespace vit::test
