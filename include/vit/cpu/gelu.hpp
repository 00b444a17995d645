// Exact GELU on the CPU, in place: x · Φ(x) = 0.5 · x · (1 + erf(x / √2)) (PyTorch's default,
// approximate='none'; timm and HF ViTs use it). Applied by cpu::linear (Activation::Gelu) to each thread's
// slice of fc1's output, so it has no parallel pass of its own.
#pragma once

#include <algorithm>
#include <cstdint>

#include "vit/cpu/eigen.hpp"

namespace vit::cpu {

namespace detail {

// GELU of count contiguous floats, in place, on the calling thread. Vectorised: scalar std::erf made
// GELU a quarter of deit_tiny's forward. With z = |x|/√2, 1 - erf(z) = t·P(t)·exp(-z²),
// t = 1/(1 + p·z) (Abramowitz & Stegun 7.1.26, absolute error ≤ 1.5e-7), and the result is formed
// without cancellation:  h = 0.5 · x · t·P(t)·exp(-z²);   GELU(x) = x - h for x ≥ 0, h for x < 0.
inline void gelu_span(float* data, std::int64_t count) {
  constexpr std::int64_t kBlock = 1024;  // temporaries on the stack, in L1
  using Chunk = Eigen::Array<float, Eigen::Dynamic, 1, Eigen::ColMajor, kBlock, 1>;
  for (std::int64_t first = 0; first < count; first += kBlock) {
    Eigen::Map<Eigen::ArrayXf> values(data + first, std::min(kBlock, count - first));
    const Chunk z = values.abs() * 0.70710678118654752f;
    const Chunk t = 1.0f / (1.0f + 0.3275911f * z);
    const Chunk poly =
        t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    const Chunk h = 0.5f * values * poly * (-z * z).exp();
    values = (values >= 0.0f).select(values - h, h);
  }
}

}  // namespace detail

}  // namespace vit::cpu
