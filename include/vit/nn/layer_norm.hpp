// LayerNorm over the embedding dimension; eps comes from the checkpoint (timm 1e-6, HF 1e-12).
#pragma once

#include "vit/core/tensor.hpp"
#include "vit/cpu/layer_norm.hpp"
#include "vit/nn/backend.hpp"

namespace vit::nn {

// Where a LayerNorm's parameter gradients go ([D] each, accumulated into; empty views are skipped).
struct LayerNormGradients {
  TensorView<float> weight;
  TensorView<float> bias;
};

template <typename T>
struct LayerNorm {
  TensorView<const T> weight;  // [D]
  TensorView<const T> bias;    // [D]
  float eps = 1e-6f;

  // x, y: [M, D] (may be the same tensor).
  void forward(const Context& context, TensorView<const T> x, TensorView<T> y) const {
    detail::require_cpu_float<T>(context, "LayerNorm");
    if constexpr (std::is_same_v<T, float>) cpu::layer_norm(context, x, weight, bias, eps, y);
  }

  // The backward pass: x: [M, D] the forward's input, dy: [M, D] → dx: [M, D] (written, or added with
  // Output::Accumulate), parameter gradients accumulated into `gradients`.
  void backward(const Context& context, TensorView<const T> x, TensorView<const T> dy, TensorView<T> dx,
                const LayerNormGradients& gradients, Output dx_output = Output::Overwrite) const {
    detail::require_cpu_float<T>(context, "LayerNorm backward");
    if constexpr (std::is_same_v<T, float>)
      cpu::layer_norm_backward(context, x, weight, eps, dy, dx, gradients.weight, gradients.bias, dx_output);
  }
};

}  // namespace vit::nn
