// AdamW (Loshchilov & Hutter), one step over a range of parameters, in the order of operations of PyTorch's
// torch.optim.AdamW (single-tensor path, as on the CPU), so that both round the same way:
//   θ ← θ·(1 - lr·λ)                                   decoupled weight decay (λ = 0 for no-decay groups)
//   m ← m + (1-β1)·(g - m)                             (PyTorch's lerp)
//   v ← β2·v + (1-β2)·g²
//   θ ← θ - (lr / (1-β1ᵗ)) · m / (√v / √(1-β2ᵗ) + ε)   t = the step number, from 1
// The bias corrections are computed in double, then used as float, as PyTorch's Python scalars are.
#pragma once

#include <cmath>
#include <cstdint>

namespace vit::train {

struct AdamWOptions {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.01f;  // PyTorch's default; timm's recipes use 0.05
};

// parameters, gradients, first_moment, second_moment: `count` floats each. step: t ≥ 1.
inline void adamw_update(float* parameters, const float* gradients, float* first_moment, float* second_moment,
                         std::int64_t count, float lr, float weight_decay, std::int64_t step,
                         const AdamWOptions& options) {
  const double bias_correction1 = 1.0 - std::pow(double(options.beta1), double(step));
  const double bias_correction2 = 1.0 - std::pow(double(options.beta2), double(step));
  const float decay = float(1.0 - double(lr) * double(weight_decay));
  const float step_size = float(double(lr) / bias_correction1);
  const float bias_correction2_sqrt = float(std::sqrt(bias_correction2));
  const float one_minus_beta1 = 1.f - options.beta1, one_minus_beta2 = 1.f - options.beta2;
  for (std::int64_t i = 0; i < count; ++i) {
    const float g = gradients[i];
    if (weight_decay != 0.f) parameters[i] *= decay;
    first_moment[i] += one_minus_beta1 * (g - first_moment[i]);
    second_moment[i] = options.beta2 * second_moment[i] + one_minus_beta2 * g * g;
    const float denominator = std::sqrt(second_moment[i]) / bias_correction2_sqrt + options.eps;
    parameters[i] -= step_size * (first_moment[i] / denominator);
  }
}

}  // namespace vit::train
