// One optimizer step on one batch: forward with the activation cache, cross-entropy, backward to the
// parameters, gradient clipping, and the optimizer's update of the model's parameter arena in place.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/model/vision_transformer.hpp"
#include "vit/train/clip_grad_norm.hpp"
#include "vit/train/cross_entropy.hpp"
#include "vit/train/optimizer.hpp"

namespace vit::train {

struct TrainStepOptions {
  double label_smoothing = 0;
  double clip_grad_norm = 0;  // the largest global gradient norm; 0: no clipping
};

struct TrainStepResult {
  double loss = 0;            // mean over the batch, before the update
  std::int64_t correct = 0;   // top-1 hits in the batch, before the update
  double gradient_norm = 0;   // global norm of the trainable gradients, before clipping
};

// The lowest block the backward pass must reach for every trainable parameter to get its gradient: 0 when
// anything below the blocks trains (tokens, positional or patch embedding), depth when only the head and the
// final norm do.
inline int lowest_trainable_block(const std::vector<ParameterGroup>& groups, int depth) {
  int lowest = depth;
  for (const ParameterGroup& group : groups) {
    if (!group.trainable || detail::is_head(group.name) || group.name.rfind("norm.", 0) == 0 ||
        group.name.rfind("fc_norm.", 0) == 0)
      continue;
    const int block = detail::block_index(group.name);
    lowest = std::min(lowest, block < 0 ? 0 : block);
  }
  return lowest;
}

// images: [B, C, H, W] normalised as the model expects; labels: B class indices.
inline TrainStepResult train_step(Model& model, Optimizer& optimizer, TensorView<const float> images,
                                  const std::vector<int>& labels, float lr, const TrainStepOptions& options = {},
                                  const Context& context = {}) {
  ForwardOptions forward;
  forward.cache = true;
  const ForwardResult<float> output = model.forward(images, forward, context);
  CrossEntropy loss = cross_entropy(output.logits, labels, options.label_smoothing);
  VIT_CHECK(std::isfinite(loss.loss), "train_step: the loss is not finite (", loss.loss,
            ") at optimizer step ", optimizer.steps() + 1, "; lower the learning rate or clip the gradients");
  BackwardOptions backward;
  backward.images = false;
  backward.parameters = true;
  backward.first_block = lowest_trainable_block(optimizer.groups(), model.config().depth);
  BackwardResult<float> gradients = model.backward(output.cache, loss.d_logits, backward, context);
  TrainStepResult result{loss.loss, loss.correct, 0};
  result.gradient_norm = options.clip_grad_norm > 0
                             ? clip_grad_norm(gradients.parameters.arena, optimizer.groups(), options.clip_grad_norm)
                             : gradient_norm(gradients.parameters.arena, optimizer.groups());
  optimizer.step(model.parameters(), gradients.parameters.arena, lr);
  return result;
}

}  // namespace vit::train
