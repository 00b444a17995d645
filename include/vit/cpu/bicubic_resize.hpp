// Bicubic resize of a channels-last grid [H, W, C] → [H', W', C] (the patch-grid positional embedding),
// separable: along W first, then along H, with PyTorch's weights (see resample_weights.hpp); and its
// backward pass (the transposed resampling), which carries a gradient back to the training grid.
#pragma once

#include "vit/core/tensor.hpp"
#include "vit/cpu/resample_weights.hpp"

namespace vit::cpu {

// grid: [H, W, C] → [out_h, out_w, C]. antialias selects PyTorch's antialias=True variant (timm) or
// plain bicubic (Hugging Face).
inline Tensor<float> bicubic_resize(TensorView<const float> grid, std::int64_t out_h, std::int64_t out_w,
                                    bool antialias) {
  const std::int64_t in_h = grid.size(0), in_w = grid.size(1), channels = grid.size(2);
  const ResampleWeights along_w = antialias ? bicubic_antialias_weights(in_w, out_w) : bicubic_weights(in_w, out_w);
  const ResampleWeights along_h = antialias ? bicubic_antialias_weights(in_h, out_h) : bicubic_weights(in_h, out_h);

  Tensor<float> wide({in_h, out_w, channels});  // zero-initialised: accumulated into
  for (std::int64_t y = 0; y < in_h; ++y)
    for (std::int64_t x = 0; x < out_w; ++x) {
      float* out = wide.data() + (y * out_w + x) * channels;
      const auto& weights = along_w.weights[std::size_t(x)];
      for (std::size_t tap = 0; tap < weights.size(); ++tap) {
        const float* in = grid.data() + (y * in_w + along_w.first[std::size_t(x)] + std::int64_t(tap)) * channels;
        for (std::int64_t c = 0; c < channels; ++c) out[c] += weights[tap] * in[c];
      }
    }

  Tensor<float> resized({out_h, out_w, channels});
  for (std::int64_t y = 0; y < out_h; ++y) {
    const auto& weights = along_h.weights[std::size_t(y)];
    for (std::size_t tap = 0; tap < weights.size(); ++tap) {
      const float* in = wide.data() + (along_h.first[std::size_t(y)] + std::int64_t(tap)) * out_w * channels;
      float* out = resized.data() + y * out_w * channels;
      for (std::int64_t i = 0; i < out_w * channels; ++i) out[i] += weights[tap] * in[i];
    }
  }
  return resized;
}

// The backward pass: d_resized: [out_h, out_w, C] = ∂L/∂resized → ∂L/∂grid: [in_h, in_w, C]. The forward
// is linear, resized = Wh · grid · Wwᵀ per channel, so this applies the transposed weights, H first.
inline Tensor<float> bicubic_resize_backward(TensorView<const float> d_resized, std::int64_t in_h, std::int64_t in_w,
                                             bool antialias) {
  const std::int64_t out_h = d_resized.size(0), out_w = d_resized.size(1), channels = d_resized.size(2);
  const ResampleWeights along_w = antialias ? bicubic_antialias_weights(in_w, out_w) : bicubic_weights(in_w, out_w);
  const ResampleWeights along_h = antialias ? bicubic_antialias_weights(in_h, out_h) : bicubic_weights(in_h, out_h);

  Tensor<float> d_wide({in_h, out_w, channels});  // zero-initialised: accumulated into
  for (std::int64_t y = 0; y < out_h; ++y) {
    const auto& weights = along_h.weights[std::size_t(y)];
    const float* in = d_resized.data() + y * out_w * channels;
    for (std::size_t tap = 0; tap < weights.size(); ++tap) {
      float* out = d_wide.data() + (along_h.first[std::size_t(y)] + std::int64_t(tap)) * out_w * channels;
      for (std::int64_t i = 0; i < out_w * channels; ++i) out[i] += weights[tap] * in[i];
    }
  }

  Tensor<float> d_grid({in_h, in_w, channels});
  for (std::int64_t y = 0; y < in_h; ++y)
    for (std::int64_t x = 0; x < out_w; ++x) {
      const float* in = d_wide.data() + (y * out_w + x) * channels;
      const auto& weights = along_w.weights[std::size_t(x)];
      for (std::size_t tap = 0; tap < weights.size(); ++tap) {
        float* out = d_grid.data() + (y * in_w + along_w.first[std::size_t(x)] + std::int64_t(tap)) * channels;
        for (std::int64_t c = 0; c < channels; ++c) out[c] += weights[tap] * in[c];
      }
    }
  return d_grid;
}

}  // namespace vit::cpu
