// What a backward pass is asked for and what it returns (VisionTransformer::backward).
//
// The backward pass of a loss L whose gradient with respect to the logits is d_logits = ∂L/∂logits [B, C]:
// for a class score y_c of image b, d_logits is one-hot; for cross-entropy it is softmax - one-hot. It gives
// ∂L/∂images, ∂L/∂A and ∂L/∂S of every layer (A the softmax probabilities, S the scaled scores q·kᵀ/√d that
// the softmax reads), and ∂L/∂(every parameter) under the canonical (timm) names of the model's weights.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"

namespace vit {

struct BackwardOptions {
  bool images = true;       // ∂L/∂images, [B, C, H, W]
  bool attentions = false;  // ∂L/∂A per layer, [B, H, N, N] each
  bool scores = false;      // ∂L/∂S per layer, [B, H, N, N] each
  bool parameters = true;   // ∂L/∂θ for every parameter
  // The lowest block to walk back through. 0: the whole model. l > 0 stops after block l, leaving the
  // gradients of blocks below l, of the tokens and of the patch embedding at zero: what fine-tuning the last
  // blocks (or only the head, l = depth) needs, for a fraction of the work. Needs images, attentions and
  // scores off.
  int first_block = 0;
};

// Parameter gradients in one arena laid out like the model's weights, viewed by canonical name with each
// weight's own shape (e.g. "blocks.0.attn.qkv.weight" [3D, D], "pos_embed" [1, K + G, D]).
struct ParameterGradients {
  Tensor<float> arena;
  std::map<std::string, TensorView<float>> by_name;

  bool empty() const { return by_name.empty(); }
  TensorView<float> at(const std::string& name) const {
    auto found = by_name.find(name);
    VIT_CHECK(found != by_name.end(), "parameter gradients: no parameter named '", name, "'");
    return found->second;
  }
};

template <typename T>
struct BackwardResult {
  Tensor<T> images;                   // [B, C, H, W] when requested
  std::vector<Tensor<T>> attentions;  // depth × [B, H, N, N] when requested: ∂L/∂A
  std::vector<Tensor<T>> scores;      // depth × [B, H, N, N] when requested: ∂L/∂S
  ParameterGradients parameters;      // when requested
};

}  // namespace vit
