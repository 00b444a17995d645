// SGD with momentum, one step over a range of parameters, as PyTorch's torch.optim.SGD (dampening 0):
//   g ← g + λ·θ                     L2 weight decay, coupled (λ = 0 for no-decay groups)
//   b ← g on the first step, else b ← μ·b + g
//   θ ← θ - lr·(nesterov ? g + μ·b : b)
// Without momentum (μ = 0) the buffer is not kept: θ ← θ - lr·g.
#pragma once

#include <cstdint>

namespace vit::train {

struct SgdOptions {
  float momentum = 0.9f;
  float weight_decay = 0.f;
  bool nesterov = false;
};

// parameters, gradients, momentum_buffer: `count` floats each (momentum_buffer unused when μ = 0). step: t ≥ 1.
inline void sgd_update(float* parameters, const float* gradients, float* momentum_buffer, std::int64_t count,
                       float lr, float weight_decay, std::int64_t step, const SgdOptions& options) {
  const float momentum = options.momentum;
  for (std::int64_t i = 0; i < count; ++i) {
    float g = gradients[i];
    if (weight_decay != 0.f) g += weight_decay * parameters[i];
    if (momentum != 0.f) {
      const float buffer = step == 1 ? g : momentum * momentum_buffer[i] + g;
      momentum_buffer[i] = buffer;
      g = options.nesterov ? g + momentum * buffer : buffer;
    }
    parameters[i] -= lr * g;
  }
}

}  // namespace vit::train
