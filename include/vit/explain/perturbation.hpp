// Faithfulness by perturbation, the two tests of Chefer et al. (CVPR 2021): remove patches in the order an
// explanation ranks them, a growing share at a time, and watch the probability of the explained class.
// - positive perturbation: most relevant first. A faithful map makes the probability fall fast: a small
//   area under the curve (AUC) is better.
// - negative perturbation: least relevant first. A faithful map keeps the evidence to the end: a large AUC
//   is better.
// Both are compared with removing patches in random order. The class is the one the map explains: the
// predicted class, or any target class.
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
#include "vit/explain/explain.hpp"
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
  VIT_CHECK(std::int64_t(order.size()) == patches, "perturbation: the order ranks ", order.size(),
            " patches, the image has ", patches);
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

enum class Perturbation {
  Positive,  // most relevant patches removed first: lower AUC is better
  Negative,  // least relevant patches removed first: higher AUC is better
};

// The removal order a map gives for a test: rank_patches for Positive, its reverse for Negative.
inline std::vector<int> perturbation_order(TensorView<const float> map, Perturbation test) {
  std::vector<int> order = rank_patches(map);
  if (test == Perturbation::Negative) std::reverse(order.begin(), order.end());
  return order;
}

struct Faithfulness {
  int target = 0;  // the class explained and tracked
  PerturbationCurve positive;
  PerturbationCurve negative;
};

// Both perturbation tests of one explanation of one image [1, C, H, W]: explain with `options` (the target
// class as there: the predicted class by default), then remove patches in the map's order.
inline Faithfulness faithfulness(const Model& model, TensorView<const float> image, const ExplainOptions& options,
                                 int steps = 10, const Context& context = {}) {
  VIT_CHECK(image.rank() == 4 && image.size(0) == 1, "faithfulness: expected one image [1, C, H, W], got ",
            image.shape());
  const Explanation explanation = explain(model, image, options, context);
  VIT_CHECK(!explanation.targets.empty(), "faithfulness: the model has no classification head to track");
  Faithfulness result;
  result.target = explanation.targets[0];
  const TensorView<const float> map = explanation.maps.view().slice(0);
  result.positive =
      perturbation_curve(model, image, perturbation_order(map, Perturbation::Positive), result.target, steps, context);
  result.negative =
      perturbation_curve(model, image, perturbation_order(map, Perturbation::Negative), result.target, steps, context);
  return result;
}

// The random baseline for a class: the mean curve over `orders` random removal orders (seeds 0, 1, ...).
// It serves both tests (a random order has no direction).
inline PerturbationCurve random_perturbation(const Model& model, TensorView<const float> image, int target, int orders,
                                             int steps = 10, const Context& context = {}) {
  VIT_CHECK(orders > 0, "random perturbation: at least one order is needed");
  const int patch = model.config().patch_size;
  const int patches = int(image.size(2) / patch * (image.size(3) / patch));
  PerturbationCurve mean;
  for (int seed = 0; seed < orders; ++seed) {
    const PerturbationCurve curve =
        perturbation_curve(model, image, random_patch_order(patches, unsigned(seed)), target, steps, context);
    if (seed == 0) {
      mean.removed = curve.removed;
      mean.probabilities.assign(curve.probabilities.size(), 0.0);
    }
    mean.area += curve.area / orders;
    for (std::size_t i = 0; i < curve.probabilities.size(); ++i)
      mean.probabilities[i] += curve.probabilities[i] / orders;
  }
  return mean;
}

}  // namespace vit
