// What a forward pass is asked for and what it returns; shared by the CPU model and the CUDA model.
#pragma once

#include <vector>

#include "vit/core/tensor.hpp"

namespace vit {

struct ForwardOptions {
  bool attentions = false;  // keep every layer's softmax probabilities, [B, H, N, N] each
  bool features = false;    // keep the pre-logits features (pooled and normalised), [B, D]
};

template <typename T>
struct ForwardResult {
  Tensor<T> logits;                   // [B, num_classes]; empty when the model has no head
  std::vector<Tensor<T>> attentions;  // depth × [B, H, N, N] when requested, N = prefix tokens + patches
  Tensor<T> features;                 // [B, D] when requested
};

}  // namespace vit
