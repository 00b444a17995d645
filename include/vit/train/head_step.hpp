// A linear probe's step: the head alone trained on pre-logits features computed once (ForwardOptions::features
// with everything below the head frozen and no augmentation, the features do not change between epochs, so
// computing them again every epoch, as train_step would, wastes a forward pass per image per epoch).
// The same update as train_step with trainable_blocks = 0: logits = head(features), cross-entropy, the head's
// gradients, clipping, the optimizer step. Models with a distillation head need both tokens' features: use
// train_step for them.
#pragma once

#include <cmath>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/cpu/linear.hpp"
#include "vit/model/vision_transformer.hpp"
#include "vit/train/clip_grad_norm.hpp"
#include "vit/train/cross_entropy.hpp"
#include "vit/train/optimizer.hpp"
#include "vit/train/train_step.hpp"

namespace vit::train {

// features: [B, D] the model's pre-logits features (ForwardResult::features); labels: B class indices.
inline TrainStepResult head_step(Model& model, Optimizer& optimizer, TensorView<const float> features,
                                 const std::vector<int>& labels, float lr, const TrainStepOptions& options = {},
                                 const Context& context = {}) {
  const ViTConfig& config = model.config();
  VIT_CHECK(!config.has_distillation_head(), "head_step: a distilled model's heads need both tokens' features; use train_step");
  VIT_CHECK(lowest_trainable_block(optimizer.groups(), config.depth) == config.depth,
            "head_step: only the head may train (a linear probe); use train_step");
  for (const ParameterGroup& group : optimizer.groups())
    VIT_CHECK(!group.trainable || detail::is_head(group.name), "head_step: '", group.name,
              "' trains, but the features it shapes are fixed; use train_step");
  const std::int64_t batch = features.size(0), dim = config.embed_dim, classes = config.num_classes;
  features.expect_shape({batch, dim}, "head_step: features");
  const TensorView<const float> weight = model.weight("head.weight"), bias = model.weight("head.bias");
  Tensor<float> logits = Tensor<float>::uninitialized({batch, classes});
  cpu::linear(context, features, weight, bias, logits);
  CrossEntropy loss = cross_entropy(logits, labels, options.label_smoothing);
  VIT_CHECK(std::isfinite(loss.loss), "head_step: the loss is not finite (", loss.loss, ") at optimizer step ",
            optimizer.steps() + 1);
  Tensor<float> gradients({model.parameters().numel()});
  const std::int64_t weight_offset = model.parameter_offset("head.weight"), bias_offset = model.parameter_offset("head.bias");
  cpu::linear_backward(context, features, weight, loss.d_logits, TensorView<float>(),
                       TensorView<float>(gradients.data() + weight_offset, {classes, dim}),
                       TensorView<float>(gradients.data() + bias_offset, {classes}));
  TrainStepResult result{loss.loss, loss.correct, 0};
  result.gradient_norm = options.clip_grad_norm > 0
                             ? clip_grad_norm(gradients, optimizer.groups(), options.clip_grad_norm)
                             : gradient_norm(gradients, optimizer.groups());
  optimizer.step(model.parameters(), gradients, lr);
  return result;
}

}  // namespace vit::train
