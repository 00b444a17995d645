// Evaluation over a data loader: mean cross-entropy (no label smoothing), top-1 and top-5 accuracy, as
// timm's validate() reports them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/model/classification.hpp"
#include "vit/model/vision_transformer.hpp"
#include "vit/train/cross_entropy.hpp"
#include "vit/train/data_loader.hpp"

namespace vit::train {

struct Evaluation {
  double loss = 0;        // mean over the images
  double top1 = 0;        // fraction in [0, 1]
  double top5 = 0;        // fraction (top-k with k = min(5, classes))
  std::int64_t images = 0;
};

// Counts how many of the batch's labels are among the k largest logits (vit::top_k's order: ties go to the
// lower index). logits: [B, C].
inline std::int64_t top_k_hits(TensorView<const float> logits, const std::vector<int>& labels, int k) {
  const std::vector<std::vector<Prediction>> top = top_k(logits, k);
  std::int64_t hits = 0;
  for (std::size_t b = 0; b < top.size(); ++b)
    hits += std::any_of(top[b].begin(), top[b].end(),
                        [&](const Prediction& prediction) { return prediction.index == labels[b]; });
  return hits;
}

// One pass over `loader`'s epoch `epoch` (its order does not change the result).
inline Evaluation evaluate(const Model& model, DataLoader& loader, std::int64_t epoch = 0, const Context& context = {}) {
  Evaluation result;
  double loss_sum = 0;
  std::int64_t top1 = 0, top5 = 0;
  loader.start_epoch(epoch);
  while (std::optional<Batch> batch = loader.next()) {
    const ForwardResult<float> output = model.forward(batch->images, {}, context);
    const CrossEntropy loss = cross_entropy(output.logits, batch->labels);
    const std::int64_t count = std::int64_t(batch->labels.size());
    loss_sum += loss.loss * double(count);
    top1 += top_k_hits(output.logits, batch->labels, 1);
    top5 += top_k_hits(output.logits, batch->labels, 5);
    result.images += count;
  }
  VIT_CHECK(result.images > 0, "evaluate: the data gave no image");
  result.loss = loss_sum / double(result.images);
  result.top1 = double(top1) / double(result.images);
  result.top5 = double(top5) / double(result.images);
  return result;
}

}  // namespace vit::train
