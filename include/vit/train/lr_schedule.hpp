// The learning rate of each optimizer step: linear warm-up, then a cosine decay to a floor.
//   t < W:       lr(t) = base · (t + 1) / W                       (the last warm-up step reaches base)
//   W ≤ t < T:   lr(t) = floor + (base - floor) · ½·(1 + cos(π·(t - W) / (T - W)))
// t counts optimizer steps from 0, T = total steps, W = warm-up steps. (Unlike Hugging Face's
// get_cosine_schedule_with_warmup, the first step does not have lr 0: it would waste a step.)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "vit/core/error.hpp"

namespace vit::train {

struct CosineSchedule {
  double base_lr = 1e-3;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;
  double min_lr = 0;

  void validate() const {
    VIT_CHECK(base_lr > 0 && std::isfinite(base_lr), "learning-rate schedule: the learning rate must be positive");
    VIT_CHECK(total_steps > 0, "learning-rate schedule: the total step count must be positive");
    VIT_CHECK(warmup_steps >= 0 && warmup_steps < total_steps, "learning-rate schedule: ", warmup_steps,
              " warm-up steps for ", total_steps, " steps in all (warm-up must end before the last step)");
    VIT_CHECK(min_lr >= 0 && min_lr <= base_lr, "learning-rate schedule: the floor must be in [0, base]");
  }

  double lr(std::int64_t step) const {
    if (step < warmup_steps) return base_lr * double(step + 1) / double(warmup_steps);
    const double progress = double(std::min(step, total_steps) - warmup_steps) / double(total_steps - warmup_steps);
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
  }
};

}  // namespace vit::train
