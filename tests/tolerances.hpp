// One tolerance table for the float32 CPU path against the double-precision references, in absolute
// error on O(1) data (inputs ~N(0,1), weights scaled by 1/sqrt(fan_in)). Each bound leaves ~10x margin
// over what fp32 rounding produces at ViT sizes (K up to 3072); a real indexing or math bug is off by O(1).
#pragma once

namespace vit::test::tolerance {

constexpr double kLinear = 2e-5;        // K-term dot products, fp32 accumulation
constexpr double kLayerNorm = 1e-5;     // two-pass mean/variance in fp32
constexpr double kGelu = 1e-6;          // std::erf in float vs double
constexpr double kProbabilities = 1e-6; // softmax outputs are in [0, 1]
constexpr double kAttention = 2e-5;     // P·V after a head_dim-term Q·Kᵀ
constexpr double kResize = 1e-5;        // separable bicubic, a handful of taps

// Whole-model parity with PyTorch (the acceptance bounds).
constexpr double kModelLogits = 1e-4;
constexpr double kModelProbabilities = 1e-5;

}  // namespace vit::test::tolerance
