// Multi-head self-attention with a fused qkv projection (timm's layout: one [3D, D] weight, rows
// q | k | v, each split by head), followed by the output projection added to the residual stream.
#pragma once

#include "vit/core/tensor.hpp"
#include "vit/cpu/attention.hpp"
#include "vit/nn/linear.hpp"

namespace vit::nn {

template <typename T>
struct MultiHeadAttention {
  Linear<T> qkv;   // [3D, D]
  Linear<T> proj;  // [D, D]
  int num_heads = 1;

  // h: [B, N, D] normalised input; qkv_scratch: [B, N, 3D]; heads_scratch: [B, N, D];
  // residual: [B, N, D], receives += proj(attention); probabilities: [B, H, N, N] or empty.
  void forward(const Context& context, TensorView<const T> h, TensorView<T> qkv_scratch, TensorView<T> heads_scratch,
               TensorView<T> residual, TensorView<T> probabilities) const {
    const std::int64_t batch = h.size(0), tokens = h.size(1), dim = h.size(2);
    qkv.forward(context, h.reshape({batch * tokens, dim}), qkv_scratch.reshape({batch * tokens, 3 * dim}));
    detail::require_cpu_float<T>(context, "MultiHeadAttention");
    if constexpr (std::is_same_v<T, float>) cpu::attention(context, qkv_scratch, num_heads, heads_scratch, probabilities);
    proj.forward(context, heads_scratch.reshape({batch * tokens, dim}), residual.reshape({batch * tokens, dim}),
                 Output::Accumulate);
  }
};

}  // namespace vit::nn
