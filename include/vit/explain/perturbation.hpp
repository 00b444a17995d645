// Faithfulness by perturbation (the "positive perturbation" test of Chefer et al., 2021): remove the
// patches an explanation ranks most relevant, a growing share at a time, and watch the probability of
// the originally predicted class. A faithful explanation makes it fall fast: a small area under the
// curve, compared with removing patches in random order.
//
// Removing a patch sets its pixels to the dataset mean, i.e. to 0 in the normalised input.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/explain/attention_rollout.hpp"
#include "vit/model/vision_transformer.hpp"

namespace vit {

struct PerturbationCurve {
  std::vector<double> removed;        // share of patches removed at each step: 0, 1/steps, ..., 1
  std::vector<double> probabilities;  // softmax probability of the target class at each step
  double area = 0;                    // trapezoidal area under probabilities over removed ∈ [0, 1]
};

// Patch indices (row-major over the grid) from most to least relevant; ties keep grid order.
inline std::vector<int> rank_patches(TensorView<const float> map) {
  std::vector<int> order(static_cast<std::size_t>(map.numel()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return map[a] > map[b]; });
  return order;
}

inline std::vector<int> random_patch_order(int patches, unsigned seed) {
  std::vector<int> order(static_cast<std::size_t>(patches));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 generator(seed);
  std::shuffle(order.begin(), order.end(), generator);
  return order;
}

// image: [1, C, H, W] normalised; order: every patch index once, most relevant first; target: the class
// whose probability is tracked. All steps + 1 perturbed copies run as one batch.
inline PerturbationCurve perturbation_curve(const Model& model, TensorView<const float> image,
                                            const std::vector<int>& order, int target, int steps = 10,
                                            const Context& context = {}) {
  VIT_CHECK(image.rank() == 4 && image.size(0) == 1, "perturbation: expected one image [1, C, H, W], got ",
            image.shape());
  const int patch = model.config().patch_size;
  const std::int64_t channels = image.size(1), height = image.size(2), width = image.size(3);
  const std::int64_t grid_w = width / patch, patches = (height / patch) * grid_w;
  VIT_CHECK(std::int64_t(order.size()) == patches, "perturbation: the order ranks ", order.size(), " patches, the image has ",
            patches);
  VIT_CHECK(steps > 0, "perturbation: steps must be positive");
  VIT_CHECK(target >= 0 && target < model.config().num_classes, "perturbation: class ", target, " is out of range");

  Tensor<float> batch = Tensor<float>::uninitialized({steps + 1, channels, height, width});
  const std::int64_t image_size = image.numel();
  for (int step = 0; step <= steps; ++step) {
    float* copy = batch.data() + step * image_size;
    std::copy_n(image.data(), image_size, copy);
    const std::int64_t removed = patches * step / steps;
    for (std::int64_t k = 0; k < removed; ++k) {
      const std::int64_t index = order[std::size_t(k)], top = (index / grid_w) * patch, left = (index % grid_w) * patch;
      for (std::int64_t c = 0; c < channels; ++c)
        for (std::int64_t y = top; y < top + patch; ++y)
          std::fill_n(copy + (c * height + y) * width + left, patch, 0.0f);
    }
  }
  const Tensor<float> logits = model.forward(batch, {}, context).logits;
  PerturbationCurve curve;
  const std::int64_t classes = logits.size(1);
  for (int step = 0; step <= steps; ++step) {
    const float* row = logits.data() + step * classes;
    const float max_logit = *std::max_element(row, row + classes);
    double sum = 0;
    for (std::int64_t c = 0; c < classes; ++c) sum += std::exp(double(row[c]) - max_logit);
    curve.removed.push_back(double(step) / steps);
    curve.probabilities.push_back(std::exp(double(row[target]) - max_logit) / sum);
  }
  for (int step = 0; step < steps; ++step)
    curve.area += 0.5 * (curve.probabilities[std::size_t(step)] + curve.probabilities[std::size_t(step) + 1]) / steps;
  return curve;
}

struct RolloutFaithfulness {
  int predicted = 0;                  // the class the unperturbed image gets
  PerturbationCurve rollout;          // patches removed in rollout order
  double random_area = 0;             // mean area over the random orders
  std::vector<double> random_probabilities;  // mean curve over the random orders
};

// The whole experiment for one image [1, C, H, W]: predict, explain with rollout, and compare removing
// patches in rollout order with `random_orders` random orders (seeds 0, 1, ...).
inline RolloutFaithfulness rollout_faithfulness(const Model& model, TensorView<const float> image,
                                                const RolloutOptions& options = {}, int random_orders = 3,
                                                int steps = 10, const Context& context = {}) {
  ForwardOptions forward_options;
  forward_options.attentions = true;
  const ForwardResult<float> result = model.forward(image, forward_options, context);
  const float* logits = result.logits.data();
  RolloutFaithfulness faithfulness;
  faithfulness.predicted = int(std::max_element(logits, logits + result.logits.size(1)) - logits);
  const PatchGrid grid{model.config().num_prefix_tokens(), int(image.size(2)) / model.config().patch_size,
                       int(image.size(3)) / model.config().patch_size};
  const Tensor<float> map = attention_rollout(result.attentions, grid, options);
  faithfulness.rollout =
      perturbation_curve(model, image, rank_patches(map.view().slice(0)), faithfulness.predicted, steps, context);
  faithfulness.random_probabilities.assign(std::size_t(steps) + 1, 0.0);
  for (int seed = 0; seed < random_orders; ++seed) {
    const PerturbationCurve curve = perturbation_curve(
        model, image, random_patch_order(grid.height * grid.width, unsigned(seed)), faithfulness.predicted, steps, context);
    faithfulness.random_area += curve.area / random_orders;
    for (std::size_t i = 0; i < curve.probabilities.size(); ++i)
      faithfulness.random_probabilities[i] += curve.probabilities[i] / random_orders;
  }
  return faithfulness;
}

}  // namespace vit
