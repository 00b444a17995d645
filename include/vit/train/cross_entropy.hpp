// Cross-entropy of logits against class labels, mean over the batch, with optional label smoothing, and its
// gradient — PyTorch's F.cross_entropy(logits, labels, label_smoothing=ε):
//   L = (1/B) Σ_b [ -(1-ε)·log p_b[y_b] - (ε/C)·Σ_c log p_b[c] ],   p_b = softmax(logits_b)
//   ∂L/∂logits_b[c] = (p_b[c] - (1-ε)·[c = y_b] - ε/C) / B
// Sums run in double, so the loss does not depend on the class count's rounding.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"

namespace vit::train {

struct CrossEntropy {
  double loss = 0;             // mean over the batch
  Tensor<float> d_logits;      // [B, C] ∂L/∂logits
  std::int64_t correct = 0;    // images whose top-1 is their label (ties go to the lower index, as argmax)
};

// logits: [B, C]; labels: B class indices in [0, C).
inline CrossEntropy cross_entropy(TensorView<const float> logits, const std::vector<int>& labels,
                                  double label_smoothing = 0) {
  VIT_CHECK(logits.rank() == 2 && logits.size(0) > 0, "cross_entropy: logits must be [B, C], got ", logits.shape());
  const std::int64_t batch = logits.size(0), classes = logits.size(1);
  VIT_CHECK(std::int64_t(labels.size()) == batch, "cross_entropy: ", labels.size(), " labels for a batch of ", batch);
  VIT_CHECK(label_smoothing >= 0 && label_smoothing <= 1, "cross_entropy: label smoothing must be in [0, 1], got ",
            label_smoothing);
  CrossEntropy result;
  result.d_logits = Tensor<float>::uninitialized({batch, classes});
  for (std::int64_t b = 0; b < batch; ++b) {
    const int label = labels[std::size_t(b)];
    VIT_CHECK(label >= 0 && label < classes, "cross_entropy: label ", label, " of image ", b, " is not a class of a ",
              classes, "-class head");
    const float* row = logits.data() + b * classes;
    const std::int64_t top = std::max_element(row, row + classes) - row;
    result.correct += top == label;
    double sum = 0, sum_logits = 0;
    for (std::int64_t c = 0; c < classes; ++c) {
      sum += std::exp(double(row[c]) - double(row[top]));
      sum_logits += double(row[c]);
    }
    const double log_sum = double(row[top]) + std::log(sum);  // log Σ exp(logits)
    const double mean_log_p = sum_logits / double(classes) - log_sum;
    result.loss += -(1 - label_smoothing) * (double(row[label]) - log_sum) - label_smoothing * mean_log_p;
    float* d_row = result.d_logits.data() + b * classes;
    for (std::int64_t c = 0; c < classes; ++c) {
      const double p = std::exp(double(row[c]) - log_sum);
      const double target = (c == label ? 1 - label_smoothing : 0) + label_smoothing / double(classes);
      d_row[c] = float((p - target) / double(batch));
    }
  }
  result.loss /= double(batch);
  return result;
}

}  // namespace vit::train
