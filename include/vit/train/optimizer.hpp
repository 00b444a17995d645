// An optimizer over a model's parameter arena: the algorithm (AdamW or SGD), its state arenas (laid out like
// the parameters, so one loop per parameter group updates parameters, gradients and moments together), the
// parameter groups (decay, frozen, learning-rate scale) and the step count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/train/adamw.hpp"
#include "vit/train/parameter_groups.hpp"
#include "vit/train/sgd.hpp"

namespace vit::train {

enum class OptimizerKind { AdamW, Sgd };

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::AdamW;
  float weight_decay = 0.05f;  // for the groups that decay (see parameter_groups.hpp)
  AdamWOptions adamw;          // its weight_decay is ignored: the one above applies
  SgdOptions sgd;              // likewise
};

class Optimizer {
 public:
  // parameter_count: the size of the model's parameter arena.
  Optimizer(std::vector<ParameterGroup> groups, std::int64_t parameter_count, const OptimizerOptions& options)
      : groups_(std::move(groups)), options_(options) {
    VIT_CHECK(options.weight_decay >= 0, "optimizer: weight decay must be non-negative");
    for (const ParameterGroup& group : groups_)
      VIT_CHECK(group.offset >= 0 && group.offset + group.count <= parameter_count,
                "optimizer: parameter group '", group.name, "' lies outside the arena");
    const bool sgd_without_momentum = options.kind == OptimizerKind::Sgd && options.sgd.momentum == 0.f;
    first_moment_ = Tensor<float>({parameter_count});
    if (options.kind == OptimizerKind::AdamW) second_moment_ = Tensor<float>({parameter_count});
    if (sgd_without_momentum) first_moment_ = Tensor<float>();
  }

  const std::vector<ParameterGroup>& groups() const { return groups_; }
  const OptimizerOptions& options() const { return options_; }
  std::int64_t steps() const { return steps_; }

  // One update of every trainable parameter with learning rate lr (times each group's scale).
  // parameters, gradients: [parameter_count].
  void step(TensorView<float> parameters, TensorView<const float> gradients, float lr) {
    VIT_CHECK(parameters.numel() == gradients.numel(), "optimizer: ", parameters.numel(), " parameters and ",
              gradients.numel(), " gradients");
    ++steps_;
    for (const ParameterGroup& group : groups_) {
      if (!group.trainable) continue;
      const float group_lr = lr * group.lr_scale, decay = group.decay ? options_.weight_decay : 0.f;
      float* theta = parameters.data() + group.offset;
      const float* g = gradients.data() + group.offset;
      if (options_.kind == OptimizerKind::AdamW)
        adamw_update(theta, g, first_moment_.data() + group.offset, second_moment_.data() + group.offset,
                     group.count, group_lr, decay, steps_, options_.adamw);
      else
        sgd_update(theta, g, first_moment_.empty() ? nullptr : first_moment_.data() + group.offset, group.count,
                   group_lr, decay, steps_, options_.sgd);
    }
  }

  // The state a resumed run needs, to save and restore exactly (AdamW: both moments; SGD: the momentum).
  Tensor<float>& first_moment() { return first_moment_; }
  Tensor<float>& second_moment() { return second_moment_; }
  const Tensor<float>& first_moment() const { return first_moment_; }
  const Tensor<float>& second_moment() const { return second_moment_; }
  void set_steps(std::int64_t steps) {
    VIT_CHECK(steps >= 0, "optimizer: negative step count");
    steps_ = steps;
  }

 private:
  std::vector<ParameterGroup> groups_;
  OptimizerOptions options_;
  Tensor<float> first_moment_;   // AdamW m, or SGD's momentum buffer
  Tensor<float> second_moment_;  // AdamW v
  std::int64_t steps_ = 0;
};

}  // namespace vit::train
