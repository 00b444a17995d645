// Linear: y = x · Wᵀ + b with PyTorch's weight layout [out, in].
#pragma once

#include "vit/core/tensor.hpp"
#include "vit/cpu/linear.hpp"
#include "vit/nn/backend.hpp"

namespace vit::nn {

template <typename T>
struct Linear {
  TensorView<const T> weight;  // [out, in]
  TensorView<const T> bias;    // [out], or empty for no bias

  std::int64_t in_features() const { return weight.size(1); }
  std::int64_t out_features() const { return weight.size(0); }

  // x: [M, in] → y: [M, out]; Output::Accumulate adds into y (a fused residual add).
  void forward(const Context& context, TensorView<const T> x, TensorView<T> y, Output output = Output::Overwrite) const {
    detail::require_cpu_float<T>(context, "Linear");
    if constexpr (std::is_same_v<T, float>) cpu::linear(context, x, weight, bias, y, output);
  }

  // x: [M, in] → y = GELU(x · Wᵀ + b): [M, out], the GELU fused into the product's output pass.
  void forward_gelu(const Context& context, TensorView<const T> x, TensorView<T> y) const {
    detail::require_cpu_float<T>(context, "Linear");
    if constexpr (std::is_same_v<T, float>)
      cpu::linear(context, x, weight, bias, y, Output::Overwrite, cpu::Activation::Gelu);
  }
};

}  // namespace vit::nn
