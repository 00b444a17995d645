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
};

}  // namespace vit::nn
