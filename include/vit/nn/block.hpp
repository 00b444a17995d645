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

// What a block's forward keeps for its backward pass (ForwardOptions::cache): every intermediate tensor.
template <typename T>
struct BlockActivations {
  Tensor<T> input;      // [B, N, D] the residual stream entering the block
  Tensor<T> normed1;    // [B, N, D] norm1(input)
  Tensor<T> qkv;        // [B, N, 3D]
  Tensor<T> attention;  // [B, H, N, N] softmax probabilities
  Tensor<T> heads;      // [B, N, D] attention output, before proj
  Tensor<T> mid;        // [B, N, D] input + proj(heads): the stream between the two halves
  Tensor<T> normed2;    // [B, N, D] norm2(mid)
  Tensor<T> fc1;        // [B·N, mlp] fc1(normed2), before the GELU
  Tensor<T> hidden;     // [B·N, mlp] GELU(fc1)
};

// Gradient buffers a block's backward needs; sized by the caller once per backward.
template <typename T>
struct BlockGradientScratch {
  TensorView<T> d_normed;  // [B, N, D]
  TensorView<T> d_qkv;     // [B, N, 3D]
  TensorView<T> d_heads;   // [B, N, D]
  TensorView<T> d_hidden;  // [B·N, mlp]
};

struct BlockGradients {
  LayerNormGradients norm1;
  AttentionGradients attn;
  LayerNormGradients norm2;
  MlpGradients mlp;
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

  // The same forward pass, keeping every intermediate in `saved` (allocated here). The ops and their order
  // are those of forward() above, so the residual stream comes out bit-identical.
  void forward(const Context& context, TensorView<T> x, BlockActivations<T>& saved) const {
    const std::int64_t batch = x.size(0), tokens = x.size(1), dim = x.size(2), rows = batch * tokens;
    const std::int64_t hidden = mlp.fc1.out_features();
    saved.input = Tensor<T>::uninitialized(x.shape());
    std::copy_n(x.data(), x.numel(), saved.input.data());
    saved.normed1 = Tensor<T>::uninitialized(x.shape());
    saved.qkv = Tensor<T>::uninitialized({batch, tokens, 3 * dim});
    saved.attention = Tensor<T>::uninitialized({batch, attn.num_heads, tokens, tokens});
    saved.heads = Tensor<T>::uninitialized(x.shape());
    saved.mid = saved.input.clone();
    saved.normed2 = Tensor<T>::uninitialized(x.shape());
    saved.fc1 = Tensor<T>::uninitialized({rows, hidden});
    saved.hidden = Tensor<T>::uninitialized({rows, hidden});

    norm1.forward(context, saved.input.view().reshape({rows, dim}), saved.normed1.view().reshape({rows, dim}));
    attn.forward(context, saved.normed1, saved.qkv, saved.heads, saved.mid, saved.attention);
    norm2.forward(context, saved.mid.view().reshape({rows, dim}), saved.normed2.view().reshape({rows, dim}));
    std::copy_n(saved.mid.data(), saved.mid.numel(), x.data());
    mlp.forward(context, saved.normed2.view().reshape({rows, dim}), saved.hidden, x.reshape({rows, dim}), saved.fc1);
  }

  // The backward pass from `saved`: dx: [B, N, D] holds ∂L/∂(block output) and receives ∂L/∂(block input)
  // (unless input_gradient is false: then the work below the attention probabilities is skipped, for a
  // caller that needs only ∂L/∂A of the first block). Parameter gradients accumulate into `gradients`;
  // d_probabilities, d_scores: [B, H, N, N] or empty.
  void backward(const Context& context, const BlockActivations<T>& saved, TensorView<T> dx,
                const BlockGradients& gradients, const BlockGradientScratch<T>& scratch,
                TensorView<T> d_probabilities = {}, TensorView<T> d_scores = {}, bool input_gradient = true) const {
    const std::int64_t rows = dx.size(0) * dx.size(1), dim = dx.size(2);
    const TensorView<T> dx_rows = dx.reshape({rows, dim}), d_normed_rows = scratch.d_normed.reshape({rows, dim});
    // out = mid + mlp(norm2(mid)): the residual passes dx through, the branch adds its part.
    mlp.backward(context, saved.normed2.view().reshape({rows, dim}), saved.fc1, saved.hidden, dx_rows, d_normed_rows,
                 gradients.mlp, scratch.d_hidden);
    norm2.backward(context, saved.mid.view().reshape({rows, dim}), d_normed_rows, dx_rows, gradients.norm2,
                   Output::Accumulate);
    // mid = input + attn(norm1(input)).
    attn.backward(context, saved.normed1, saved.qkv, saved.attention, saved.heads, dx,
                  input_gradient ? scratch.d_normed : TensorView<T>(), gradients.attn, scratch.d_heads, scratch.d_qkv,
                  d_probabilities, d_scores);
    if (input_gradient)
      norm1.backward(context, saved.input.view().reshape({rows, dim}), d_normed_rows, dx_rows, gradients.norm1,
                     Output::Accumulate);
  }
};

}  // namespace vit::nn
