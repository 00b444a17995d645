// Gradient clipping by global norm, as PyTorch's torch.nn.utils.clip_grad_norm_ over the trainable
// parameters: n = ‖(‖g_1‖, ‖g_2‖, …)‖₂ (the 2-norm of every trainable gradient together), and when
// max_norm / (n + 1e-6) < 1 every trainable gradient is scaled by that factor. Frozen parameters are left
// out, as PyTorch leaves out those without requires_grad. Sums run in double.
#pragma once

#include <cmath>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/train/parameter_groups.hpp"

namespace vit::train {

// n, the global 2-norm of the trainable gradients. gradients: the gradient arena, laid out like the parameters.
inline double gradient_norm(TensorView<const float> gradients, const std::vector<ParameterGroup>& groups) {
  double sum_of_squares = 0;
  for (const ParameterGroup& group : groups) {
    if (!group.trainable) continue;
    const float* g = gradients.data() + group.offset;
    for (std::int64_t i = 0; i < group.count; ++i) sum_of_squares += double(g[i]) * double(g[i]);
  }
  return std::sqrt(sum_of_squares);
}

// Clips the trainable gradients to global norm max_norm. Returns n, the norm before clipping.
inline double clip_grad_norm(TensorView<float> gradients, const std::vector<ParameterGroup>& groups,
                             double max_norm) {
  VIT_CHECK(max_norm > 0, "clip_grad_norm: max_norm must be positive, got ", max_norm);
  const double norm = gradient_norm(gradients, groups);
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1) {
    const float factor = float(scale);
    for (const ParameterGroup& group : groups) {
      if (!group.trainable) continue;
      float* g = gradients.data() + group.offset;
      for (std::int64_t i = 0; i < group.count; ++i) g[i] *= factor;
    }
  }
  return norm;
}

}  // namespace vit::train
