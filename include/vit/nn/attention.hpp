// Multi-head self-attention with a fused qkv projection (timm's layout: one [3D, D] weight, rows
// q | k | v, each split by head), followed by the output projection added to the residual stream.
#pragma once

#include "vit/core/tensor.hpp"
#include "vit/cpu/attention.hpp"
#include "vit/nn/linear.hpp"

namespace vit::nn {

struct AttentionGradients {
  LinearGradients qkv;
  LinearGradients proj;
};

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
    if constexpr (std::is_same_v<T, float>)
      cpu::attention(context, qkv_scratch, num_heads, heads_scratch, probabilities);
    proj.forward(context, heads_scratch.reshape({batch * tokens, dim}), residual.reshape({batch * tokens, dim}),
                 Output::Accumulate);
  }

  // The backward pass, from what the forward saved: h [B, N, D] (its input), qkv_values [B, N, 3D],
  // probabilities [B, H, N, N], heads [B, N, D]; d_residual: [B, N, D] the gradient of the residual stream
  // it added to. dh: [B, N, D] receives ∂L/∂h (empty: not computed). Scratch: d_heads [B, N, D], d_qkv [B, N, 3D].
  // d_probabilities, d_scores: [B, H, N, N] receive ∂L/∂P and ∂L/∂S (the softmax input) when not empty.
  void backward(const Context& context, TensorView<const T> h, TensorView<const T> qkv_values,
                TensorView<const T> probabilities, TensorView<const T> heads, TensorView<const T> d_residual,
                TensorView<T> dh, const AttentionGradients& gradients, TensorView<T> d_heads, TensorView<T> d_qkv,
                TensorView<T> d_probabilities, TensorView<T> d_scores) const {
    const std::int64_t rows = h.size(0) * h.size(1), dim = h.size(2);
    proj.backward(context, heads.reshape({rows, dim}), d_residual.reshape({rows, dim}), d_heads.reshape({rows, dim}),
                  gradients.proj);
    detail::require_cpu_float<T>(context, "MultiHeadAttention backward");
    if constexpr (std::is_same_v<T, float>)
      cpu::attention_backward(context, qkv_values, probabilities, num_heads, d_heads, d_qkv, d_probabilities, d_scores);
    qkv.backward(context, h.reshape({rows, dim}), d_qkv.reshape({rows, 3 * dim}),
                 dh.empty() ? TensorView<T>() : dh.reshape({rows, dim}), gradients.qkv);
  }
};

}  // namespace vit::nn
