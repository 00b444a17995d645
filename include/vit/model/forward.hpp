// What a forward pass is asked for and what it returns; shared by the CPU model and the CUDA model.
#pragma once

#include <cstdint>
#include <vector>

#include "vit/core/tensor.hpp"
#include "vit/nn/block.hpp"

namespace vit {

struct ForwardOptions {
  bool attentions = false;  // keep every layer's softmax probabilities, [B, H, N, N] each
  bool features = false;    // keep the pre-logits features (pooled and normalised), [B, D]
  bool cache = false;       // keep every activation the backward pass needs (CPU only; see ActivationCache)
};

// Everything a forward pass computed that its backward pass reads (VisionTransformer::backward), kept when
// ForwardOptions::cache is set. Its size is about (16·D + H·N) floats per token and layer: 35 MB for
// DeiT-tiny at batch 1. The attention probabilities are here too (blocks[l].attention), so explanation
// methods read them from the cache.
struct ActivationCache {
  std::int64_t grid_h = 0, grid_w = 0;              // the patch grid of the input
  Tensor<float> patches;                            // [B·G, C·P·P] the unfolded images (patch embedding input)
  std::vector<nn::BlockActivations<float>> blocks;  // one per block, in order
  Tensor<float> output;                             // [B, N, D] the residual stream after the last block
  Tensor<float> pooled;         // [B, D] the final norm's input: class token, or mean of patch tokens (fc_norm);
                                // empty for mean pooling without fc_norm (the norm then runs on every token)
  Tensor<float> pooled_dist;    // [B, D] the distillation token, for distilled heads
  Tensor<float> features;       // [B, D] the head's input
  Tensor<float> features_dist;  // [B, D] the distillation head's input

  bool empty() const { return blocks.empty(); }
  std::int64_t batch() const { return output.empty() ? 0 : output.size(0); }
};

template <typename T>
struct ForwardResult {
  Tensor<T> logits;                   // [B, num_classes]; empty when the model has no head
  std::vector<Tensor<T>> attentions;  // depth × [B, H, N, N] when requested, N = prefix tokens + patches
  Tensor<T> features;                 // [B, D] when requested
  ActivationCache cache;              // when requested (CPU only)
};

}  // namespace vit
