// A pre-norm transformer block: x += attn(norm1(x)); x += mlp(norm2(x)).
#pragma once

#include "vit/core/tensor.hpp"
#include "vit/nn/attention.hpp"
#include "vit/nn/layer_norm.hpp"
#include "vit/nn/mlp.hpp"

namespace vit::nn {

// Activation buffers a block needs besides the residual stream; sized by the caller once per forward.
template <typename T>
struct BlockScratch {
  TensorView<T> normed;  // [B, N, D]
  TensorView<T> qkv;     // [B, N, 3D]
  TensorView<T> heads;   // [B, N, D]
  TensorView<T> hidden;  // [B·N, mlp]
};

template <typename T>
struct Block {
  LayerNorm<T> norm1;
  MultiHeadAttention<T> attn;
  LayerNorm<T> norm2;
  Mlp<T> mlp;

  // x: [B, N, D] residual stream, updated in place; probabilities: [B, H, N, N] or empty.
  void forward(const Context& context, TensorView<T> x, const BlockScratch<T>& scratch,
               TensorView<T> probabilities) const {
    const std::int64_t rows = x.size(0) * x.size(1), dim = x.size(2);
    const TensorView<T> x_rows = x.reshape({rows, dim}), normed_rows = scratch.normed.reshape({rows, dim});
    norm1.forward(context, x_rows, normed_rows);
    attn.forward(context, scratch.normed, scratch.qkv, scratch.heads, x, probabilities);
    norm2.forward(context, x_rows, normed_rows);
    mlp.forward(context, normed_rows, scratch.hidden, x_rows);
  }
};

}  // namespace vit::nn
