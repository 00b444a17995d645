// Exact GELU on the CPU, in place: x · Φ(x) = 0.5 · x · (1 + erf(x / √2)) (PyTorch's default,
// approximate='none'; timm and HF ViTs use it).
#pragma once

#include <cmath>

#include "vit/core/context.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/parallel.hpp"

namespace vit::cpu {

inline float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

// x: any shape, modified in place.
inline void gelu_inplace(const Context& context, TensorView<float> x) {
  parallel_for(context.threads, x.numel(), 4096, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) x[i] = gelu(x[i]);
  });
}

}  // namespace vit::cpu
