// Helpers of the backward-pass tests: tolerances relative to a tensor's scale, and central finite
// differences of a scalar loss L = Σ upstream ⊙ forward(x) at a sample of coordinates.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>
#include <vit/core/tensor.hpp>

namespace vit::test {

inline double max_abs_of(TensorView<const float> values) {
  double largest = 0.0;
  for (std::int64_t i = 0; i < values.numel(); ++i) largest = std::max(largest, double(std::abs(values[i])));
  return largest;
}

// max(1, max |values|): what a tolerance for O(1) data is relative to.
inline double scale_of(TensorView<const float> values) { return std::max(1.0, max_abs_of(values)); }

inline double dot(TensorView<const float> a, TensorView<const float> b) {
  double sum = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) sum += double(a[i]) * double(b[i]);
  return sum;
}

struct FiniteDifferenceResult {
  double max_error = 0;  // max |numeric - analytic| over the sampled coordinates, relative to scale_of(analytic)
  std::string worst;     // where, for the failure message
};

// Compares `analytic` (∂L/∂x, L = Σ upstream ⊙ forward(x)) with central differences at `samples` coordinates
// of x chosen by `seed`. forward must not keep a reference to its argument.
inline FiniteDifferenceResult finite_difference_check(const std::function<Tensor<float>(const Tensor<float>&)>& forward,
                                                      const Tensor<float>& x, TensorView<const float> upstream,
                                                      TensorView<const float> analytic, int samples = 24,
                                                      double step = 1e-2, std::uint32_t seed = 5) {
  std::mt19937 generator(seed);
  std::uniform_int_distribution<std::int64_t> pick(0, x.numel() - 1);
  const double scale = scale_of(analytic);
  FiniteDifferenceResult result;
  Tensor<float> moved = x.clone();
  for (int sample = 0; sample < samples; ++sample) {
    const std::int64_t i = sample == 0 ? 0 : pick(generator);
    const float original = moved[i];
    moved[i] = float(double(original) + step);
    const double plus = dot(forward(moved), upstream);
    moved[i] = float(double(original) - step);
    const double minus = dot(forward(moved), upstream);
    moved[i] = original;
    // The step actually taken is what float could represent.
    const double taken = double(float(double(original) + step)) - double(float(double(original) - step));
    const double numeric = (plus - minus) / taken;
    const double error = std::abs(numeric - double(analytic[i])) / scale;
    if (error > result.max_error) {
      result.max_error = error;
      std::ostringstream where;
      where << "index " << i << ": numeric " << numeric << ", analytic " << analytic[i] << " (scale " << scale << ")";
      result.worst = where.str();
    }
  }
  return result;
}

}  // namespace vit::test
