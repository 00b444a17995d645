// Exact GELU on the CPU, in place: x · Φ(x) = 0.5 · x · (1 + erf(x / √2)) (PyTorch's default,
// approximate='none'; timm and HF ViTs use it). Applied by cpu::linear (Activation::Gelu) to fc1's output row by
// row, so it has no parallel pass of its own. Its backward, gelu_backward, multiplies
// an incoming gradient by GELU'(x) = Φ(x) + x · φ(x).
#pragma once

#include <algorithm>
#include <cstdint>

#include "vit/core/context.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/cpu/parallel.hpp"

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

// grad[i] *= GELU'(x[i]) for count contiguous floats, on the calling thread. The same erfc approximation as
// gelu_span: with z = |x|/√2 and e = exp(-z²), erfc(z) ≈ t·P(t)·e, Φ(x) = 1 - erfc(z)/2 for x ≥ 0 and
// erfc(z)/2 for x < 0, and φ(x) = e / √(2π) (exp(-x²/2) = exp(-z²)), so one exp serves both terms.
inline void gelu_backward_span(const float* x, float* grad, std::int64_t count) {
  constexpr std::int64_t kBlock = 1024;
  using Chunk = Eigen::Array<float, Eigen::Dynamic, 1, Eigen::ColMajor, kBlock, 1>;
  for (std::int64_t first = 0; first < count; first += kBlock) {
    const std::int64_t size = std::min(kBlock, count - first);
    Eigen::Map<const Eigen::ArrayXf> values(x + first, size);
    Eigen::Map<Eigen::ArrayXf> gradient(grad + first, size);
    const Chunk z = values.abs() * 0.70710678118654752f;
    const Chunk t = 1.0f / (1.0f + 0.3275911f * z);
    const Chunk e = (-z * z).exp();
    const Chunk half_erfc =
        0.5f * t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f)))) *
        e;
    const Chunk cdf = (values >= 0.0f).select(1.0f - half_erfc, half_erfc);
    gradient *= cdf + values * e * 0.39894228040143268f;
  }
}

}  // namespace detail

// The backward pass of y = GELU(x): x, dy: [M, N] → dx: [M, N] = dy ⊙ GELU'(x) (dx may be dy).
inline void gelu_backward(const Context& context, TensorView<const float> x, TensorView<const float> dy,
                          TensorView<float> dx) {
  const std::int64_t count = x.numel();
  parallel_for(context.threads, count, 4096, [&](std::int64_t begin, std::int64_t end) {
    if (dx.data() != dy.data()) std::copy(dy.data() + begin, dy.data() + end, dx.data() + begin);
    detail::gelu_backward_span(x.data() + begin, dx.data() + begin, end - begin);
  });
}

}  // namespace vit::cpu
