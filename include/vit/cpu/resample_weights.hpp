// 1-D resampling weights with PyTorch's F.interpolate semantics (align_corners=False), the building
// block of every separable resize in the library.
//
// - bicubic, antialias=False (PyTorch upsample_bicubic2d): 4 taps around src = (dst + 0.5)·in/out - 0.5,
//   Keys' cubic with a = -0.75, indices clamped at the borders.
// - antialias=True (PyTorch _upsample_bicubic2d_aa, which is PIL's algorithm): Keys' cubic with a = -0.5,
//   stretched by in/out when downscaling so every input pixel contributes; weights normalised to sum 1.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace vit::cpu {

// out[i] = Σ_j weights[i][j] · in[first[i] + j]  (taps are consecutive input indices, clamped in range).
struct ResampleWeights {
  std::vector<std::int64_t> first;          // [out] index of the first tap
  std::vector<std::vector<float>> weights;  // [out][taps]
};

namespace detail {

inline double cubic_kernel(double x, double a) {
  x = std::abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

}  // namespace detail

// PyTorch bicubic, antialias=False: always 4 taps; out-of-range taps are clamped to the border, which we
// express by folding their weight onto the border tap.
inline ResampleWeights bicubic_weights(std::int64_t in_size, std::int64_t out_size) {
  ResampleWeights result;
  const float scale = float(in_size) / float(out_size);
  for (std::int64_t i = 0; i < out_size; ++i) {
    const float source = scale * (float(i) + 0.5f) - 0.5f;  // PyTorch computes this in float, unclamped
    const float floor_source = std::floor(source);
    const float t = source - floor_source;
    const std::int64_t center = std::int64_t(floor_source);
    const float taps[4] = {float(detail::cubic_kernel(t + 1.0, -0.75)), float(detail::cubic_kernel(t, -0.75)),
                           float(detail::cubic_kernel(1.0 - t, -0.75)), float(detail::cubic_kernel(2.0 - t, -0.75))};
    const std::int64_t lo = std::clamp<std::int64_t>(center - 1, 0, in_size - 1);
    const std::int64_t hi = std::clamp<std::int64_t>(center + 2, 0, in_size - 1);
    std::vector<float> weights(std::size_t(hi - lo + 1), 0.0f);
    for (int tap = 0; tap < 4; ++tap)
      weights[std::size_t(std::clamp<std::int64_t>(center - 1 + tap, 0, in_size - 1) - lo)] += taps[tap];
    result.first.push_back(lo);
    result.weights.push_back(std::move(weights));
  }
  return result;
}

// PyTorch bicubic with antialias=True (= PIL's BICUBIC resampling), a = -0.5.
inline ResampleWeights bicubic_antialias_weights(std::int64_t in_size, std::int64_t out_size) {
  ResampleWeights result;
  const double scale = double(in_size) / double(out_size);
  const double support = scale >= 1 ? 2.0 * scale : 2.0;
  const double inv_scale = scale >= 1 ? 1.0 / scale : 1.0;
  for (std::int64_t i = 0; i < out_size; ++i) {
    const double center = scale * (double(i) + 0.5);
    // Truncation toward zero, then clamping, exactly as PyTorch and PIL do.
    const std::int64_t lo = std::max<std::int64_t>(std::int64_t(center - support + 0.5), 0);
    const std::int64_t hi = std::min<std::int64_t>(std::int64_t(center + support + 0.5), in_size);
    std::vector<double> taps;
    double total = 0;
    for (std::int64_t j = lo; j < hi; ++j) {
      taps.push_back(detail::cubic_kernel((double(j) - center + 0.5) * inv_scale, -0.5));
      total += taps.back();
    }
    std::vector<float> weights;
    for (double tap : taps) weights.push_back(float(total != 0 ? tap / total : 0));
    result.first.push_back(lo);
    result.weights.push_back(std::move(weights));
  }
  return result;
}

}  // namespace vit::cpu
