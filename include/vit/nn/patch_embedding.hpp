// Patch embedding: a P×P, stride-P convolution from C channels to D, computed as unfold + one GEMM.
#pragma once

#include "vit/core/tensor.hpp"
#include "vit/cpu/patch_unfold.hpp"
#include "vit/nn/linear.hpp"

namespace vit::nn {

template <typename T>
struct PatchEmbedding {
  Linear<T> proj;  // the conv weight [D, C, P, P] viewed as [D, C·P·P]; bias [D]
  int patch_size = 16;
  int in_channels = 3;

  // images: [B, C, H, W], H and W multiples of patch_size; patches: [B·G, C·P·P] scratch;
  // tokens: [B, G, D] with G = (H/P)·(W/P) in row-major grid order.
  void forward(const Context& context, TensorView<const T> images, TensorView<T> patches, TensorView<T> tokens) const {
    detail::require_cpu_float<T>(context, "PatchEmbedding");
    if constexpr (std::is_same_v<T, float>) cpu::patch_unfold(context, images, patch_size, patches);
    proj.forward(context, patches, tokens.reshape({patches.size(0), proj.out_features()}));
  }

  // The backward pass: patches: [B·G, C·P·P] the forward's unfolded input; d_tokens: [B, G, D];
  // d_images: [B, C, H, W] receives ∂L/∂images (empty to skip, with d_patches then unused);
  // d_patches: [B·G, C·P·P] scratch. Parameter gradients accumulate into `gradients` (weight as [D, C·P·P]).
  void backward(const Context& context, TensorView<const T> patches, TensorView<const T> d_tokens,
                TensorView<T> d_images, TensorView<T> d_patches, const LinearGradients& gradients) const {
    proj.backward(context, patches, d_tokens.reshape({patches.size(0), proj.out_features()}),
                  d_images.empty() ? TensorView<T>() : d_patches, gradients);
    detail::require_cpu_float<T>(context, "PatchEmbedding backward");
    if constexpr (std::is_same_v<T, float>)
      if (!d_images.empty()) cpu::patch_unfold_backward(context, d_patches, patch_size, d_images);
  }
};

}  // namespace vit::nn
