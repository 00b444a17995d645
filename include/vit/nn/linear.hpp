// Linear: y = x · Wᵀ + b with PyTorch's weight layout [out, in].
#pragma once

#include "vit/core/tensor.hpp"
#include "vit/cpu/linear.hpp"
#include "vit/nn/backend.hpp"

namespace vit::nn {

// Where a Linear's parameter gradients go: views of the weight's and bias's shapes, accumulated into;
// an empty view is skipped.
struct LinearGradients {
  TensorView<float> weight;  // [out, in]
  TensorView<float> bias;    // [out]
};

template <typename T>
struct Linear {
  TensorView<const T> weight;  // [out, in]
  TensorView<const T> bias;    // [out], or empty for no bias

  std::int64_t in_features() const { return weight.size(1); }
  std::int64_t out_features() const { return weight.size(0); }

  // x: [M, in] → y: [M, out]; Output::Accumulate adds into y (a fused residual add).
  void forward(const Context& context, TensorView<const T> x, TensorView<T> y,
               Output output = Output::Overwrite) const {
    detail::require_cpu_float<T>(context, "Linear");
    if constexpr (std::is_same_v<T, float>) cpu::linear(context, x, weight, bias, y, output);
  }

  // x: [M, in] → y = GELU(x · Wᵀ + b): [M, out], the GELU fused into the product's output pass;
  // pre_activation: [M, out] receives x · Wᵀ + b when given (for the backward pass).
  void forward_gelu(const Context& context, TensorView<const T> x, TensorView<T> y,
                    TensorView<T> pre_activation = {}) const {
    detail::require_cpu_float<T>(context, "Linear");
    if constexpr (std::is_same_v<T, float>)
      cpu::linear(context, x, weight, bias, y, Output::Overwrite, cpu::Activation::Gelu, pre_activation);
  }

  // The backward pass: x: [M, in] the forward's input, dy: [M, out] → dx: [M, in] (written, or added with
  // Output::Accumulate; empty to skip), parameter gradients accumulated into `gradients`.
  void backward(const Context& context, TensorView<const T> x, TensorView<const T> dy, TensorView<T> dx,
                const LinearGradients& gradients, Output dx_output = Output::Overwrite) const {
    detail::require_cpu_float<T>(context, "Linear backward");
    if constexpr (std::is_same_v<T, float>)
      cpu::linear_backward(context, x, weight, dy, dx, gradients.weight,
                           bias.empty() ? TensorView<float>() : gradients.bias, dx_output);
  }
};

}  // namespace vit::nn
