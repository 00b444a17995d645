// Transformer attribution: Chefer, Gur & Wolf, CVPR 2021, "Transformer Interpretability Beyond Attention
// Visualization" — LRP relevance propagated through every layer with the rules of the authors' reference
// code (github.com/hila-chefer/Transformer-Explainability, baselines/ViT/ViT_LRP.py and
// modules/layers_ours.py; the rules are written out in vit/explain/lrp.hpp), combined with the gradients
// of the class score with respect to the attention probabilities.
//
// Per image b with target class c (explicit: the caller picks top-1 or any class):
//  1. Relevance R starts as the one-hot of c at the logits (value 1, not the logit) and is propagated
//     backwards: head (Linear rule), pooling (IndexSelect of the class token), final LayerNorm
//     (identity), then every block from the last down to the start layer:
//       out = Add(mid, mlp(norm2(mid))):  (R_mid, R_mlp) = Add rule; R_mlp through fc2 (Linear),
//             GELU (identity), fc1 (Linear), norm2 (identity); R = Clone rule(mid; R_mid, R_branch)
//       mid = Add(x, attn(norm1(x))):     (R_x, R_attn) = Add rule; R_attn through proj (Linear) to the
//             heads output O = A·V; einsum rule → (R_A, R_V), both halved (their cam1 /= 2, cam_v /= 2);
//             R_A is recorded for this layer (their attn_cam, after halving); then softmax (identity),
//             einsum rule on Z = Q·Kᵀ (unscaled) → (R_Q, R_K), both halved; [R_Q | R_K | R_V] through
//             qkv (Linear), norm1 (identity); R = Clone rule(x; R_x, R_branch)
//     The walk stops once the start layer's R_A is known (their code goes on to the patch embedding,
//     which this method never reads).
//  2. Ā_l = mean_h clamp≥0(∂y_c/∂A_l ⊙ R_A_l) + I         [N, N], for l = start .. L-1
//  3. joint = Ā_start; joint = Ā_l · joint for l = start+1 .. L-1   (= Ā_{L-1} ⋯ Ā_start); no row
//     normalisation: in ViT_LRP.compute_rollout_attention that line is commented out
//  4. map = joint[token, K:] (K prefix tokens; token 0 the class token, 1 the distillation token),
//     reshaped row-major to the patch grid. Raw values: the authors normalise only for display
//     (their notebooks upsample ×16 bilinearly, then (m - min) / (max - min)); heat-map rendering here
//     normalises on its own.
// Row `token` of the product is computed as a vector times the matrices (O(N²) per layer, not O(N³)).
//
// What the one-line formula leaves out and their code decides:
//  - R_A is the halved relevance (cam1 /= 2 runs before save_attn_cam); with an unnormalised product
//    the factor changes the balance against I (a factor 2 moves the fixtures' maps by up to 100%).
//  - ViT_LRP.compute_rollout_attention does not renormalise rows; the function of the same name in
//    ViT_explanation_generator.py (their rollout baseline) does.
//  - The relevance is seeded with the one-hot, and the gradient is that of the logit y_c (sum of
//    one_hot · output), taken at the softmax output (attn_drop is the identity in eval mode).
//  - Their code explains one image at a time (one_hot [1, classes], cam[0]); their Add rule sums over the
//    whole tensor, batch included, so a batch would mix images. Here every image is its own batch of one.
//  - Their final LayerNorm uses PyTorch's default eps 1e-5 while their blocks use 1e-6 and checkpoints
//    1e-6; this library uses the checkpoint's (the fixtures set their final norm's eps to 1e-6).
//
// Models their code does not cover, by the natural extension of their rules (the fixtures run these
// extensions built from their own modules; tools/make_lrp_fixtures.py):
//  - Distilled DeiT (logits = (head(x_cls) + head_dist(x_dist)) / 2): the sum of the two heads is their
//    Add rule on the two heads' full logit vectors (R = one-hot), the "/ 2" passes relevance unchanged
//    (constant factor), each head's Linear rule gives the relevance at its input, and pooling is their
//    IndexSelect of tokens 0 and 1 (R_x = x ⊙ sd(R, x) on each). A distillation token without a
//    distillation head (HF DeiTForImageClassification) is plain class-token pooling.
//  - Mean pooling: their RelPropSimple rule applied to the mean of the patch tokens (as their code does for
//    average pooling): R_t = x_t ⊙ sd(R, mean) / G for the G patch tokens, 0 for prefix tokens, with x the
//    tokens the mean reads (the last block's output with fc_norm, which is a LayerNorm after the mean and
//    passes relevance unchanged; the final-normed tokens without fc_norm). The class-token row of the
//    product is then what the class token gathered; in the last layer no relevance reaches it.
//
// Numerics: LRP divides by sums that can be tiny, so float32 and float64 runs differ far more than a
// forward pass does. On DeiT-tiny with the eight shared images the authors' own float32 run correlates with
// their float64 run at r = 0.86-1.0 (mean 0.98); this library's float path at 0.96-1.0 (mean 0.99). Running
// the rules in double on the same float activations changes the maps by < 5e-6 (relative, fixtures), so
// the spread comes from the float forward and backward, not from the rules' arithmetic. The rules are
// templated on the scalar type; the public function runs them in float on the model's float activations,
// and the tests check a double build against the authors' code run in float64 (≤ 1e-6; 2e-12 measured).
//
// Cost: each Linear rule is three GEMMs of the layer's size (see lrp::linear) where the forward and the
// backward pass to the input are one each, so the relevance walk takes about 1.5x the time of forward +
// backward (DeiT-tiny, batch 1).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/layer_norm.hpp"
#include "vit/cpu/linear.hpp"
#include "vit/cpu/parallel.hpp"
#include "vit/explain/attention_rollout.hpp"
#include "vit/explain/lrp.hpp"
#include "vit/model/backward.hpp"
#include "vit/model/forward.hpp"
#include "vit/model/vision_transformer.hpp"

namespace vit {

struct TransformerAttributionOptions {
  int start_layer = 0;  // first layer of the product (and the last one the relevance walk reaches)
  int token = 0;        // whose row is the map: 0 the class token, 1 the distillation token
};

namespace detail {

// What the relevance walk reads from one block: activations over the batch, as the forward computed
// them, and the weights of the block's linear layers ([out, in], PyTorch layout).
template <typename T>
struct LrpBlockInputs {
  TensorView<const T> input;      // [B, N, D] the residual stream entering the block (Clone 1, Add 1)
  TensorView<const T> normed1;    // [B, N, D] norm1(input): the qkv layer's input
  TensorView<const T> qkv;        // [B, N, 3D] q | k | v, heads side by side
  TensorView<const T> attention;  // [B, H, N, N] softmax probabilities
  TensorView<const T> heads;      // [B, N, D] A·V per head: the proj layer's input
  TensorView<const T> attn_out;   // [B, N, D] proj(heads) with its bias: Add 1's branch
  TensorView<const T> mid;        // [B, N, D] input + attn_out (Clone 2, Add 2)
  TensorView<const T> normed2;    // [B, N, D] norm2(mid): fc1's input
  TensorView<const T> fc1;        // [B·N, mlp] fc1(normed2) with its bias, before the GELU
  TensorView<const T> hidden;     // [B·N, mlp] GELU(fc1): fc2's input
  TensorView<const T> mlp_out;    // [B, N, D] fc2(hidden) with its bias: Add 2's branch
  TensorView<const T> qkv_weight, proj_weight, fc1_weight, fc2_weight;
  TensorView<const T> qkv_bias, proj_bias, fc1_bias, fc2_bias;  // [out] each; qkv_bias may be empty
  // The layers' outputs (qkv, attn_out, fc1, mlp_out) let the Linear rule take Z from them (lrp::linear);
  // a block without fc1 (empty) has its Z computed from the inputs alone, for every layer.
};

template <typename T>
struct LrpInputs {
  int num_heads = 0;
  int prefix_tokens = 1;
  Pooling pooling = Pooling::ClassToken;
  std::vector<LrpBlockInputs<T>> blocks;       // one per block; blocks before the start layer are not read
  TensorView<const T> pooled_tokens;           // mean pooling: [B, N, D] the tokens the mean reads
  TensorView<const T> features;                // [B, D] the head's input
  TensorView<const T> features_dist;           // [B, D] the distillation head's input (distilled heads; else empty)
  TensorView<const T> head_weight, head_bias;  // [C, D], [C]
  TensorView<const T> head_dist_weight, head_dist_bias;  // distilled heads only
};

// x: [M, D] → x · Wᵀ + b: [M, C].
template <typename T>
Tensor<T> lrp_head_logits(TensorView<const T> x, TensorView<const T> weight, TensorView<const T> bias) {
  const std::int64_t rows = x.size(0), dim = x.size(1), classes = weight.size(0);
  Tensor<T> logits = Tensor<T>::uninitialized({rows, classes});
  lrp::gemm<T>({x.data(), rows, dim, dim}, lrp::ALayout::MByK, {weight.data(), classes, dim, dim}, lrp::BLayout::NByK,
               lrp::dense(logits.data(), rows, classes));
  for (std::int64_t row = 0; row < rows; ++row)
    for (std::int64_t c = 0; c < classes; ++c) logits[row * classes + c] += bias[c];
  return logits;
}

// The relevance at every layer's attention probabilities (their attn_cam, halved), [B, H, N, N] per
// layer, for the class targets[b] of each image; layers before start_layer are left empty.
template <typename T>
std::vector<Tensor<T>> attention_relevance(const LrpInputs<T>& in, const std::vector<int>& targets, int start_layer,
                                           const Context& context = {}) {
  const int depth = int(in.blocks.size());
  const LrpBlockInputs<T>& last = in.blocks.back();
  const std::int64_t batch = last.input.size(0), tokens = last.input.size(1), dim = last.input.size(2);
  const std::int64_t heads = in.num_heads, head_dim = dim / heads, prefix = in.prefix_tokens;
  const std::int64_t classes = in.head_weight.size(0), mlp = last.hidden.size(1), rows = batch * tokens;
  const std::int64_t image_size = tokens * dim;

  // Head and pooling: the relevance at the last block's output.
  Tensor<T> r({batch, tokens, dim});
  Tensor<T> one_hot({batch, classes});
  for (std::int64_t b = 0; b < batch; ++b) one_hot[b * classes + targets[std::size_t(b)]] = T(1);
  if (!in.features_dist.empty()) {
    const Tensor<T> y_cls = lrp_head_logits<T>(in.features, in.head_weight, in.head_bias);
    const Tensor<T> y_dist = lrp_head_logits<T>(in.features_dist, in.head_dist_weight, in.head_dist_bias);
    Tensor<T> r_cls({batch, classes}), r_dist({batch, classes}), r_f({batch, dim}), r_f_dist({batch, dim});
    for (std::int64_t b = 0; b < batch; ++b)
      lrp::add(y_cls.data() + b * classes, y_dist.data() + b * classes, one_hot.data() + b * classes, classes,
               r_cls.data() + b * classes, r_dist.data() + b * classes);
    lrp::linear<T>(context, in.features, in.head_weight, r_cls, r_f);
    lrp::linear<T>(context, in.features_dist, in.head_dist_weight, r_dist, r_f_dist);
    for (std::int64_t b = 0; b < batch; ++b) {
      lrp::index_select(in.features.data() + b * dim, r_f.data() + b * dim, dim, r.data() + b * image_size);
      lrp::index_select(in.features_dist.data() + b * dim, r_f_dist.data() + b * dim, dim,
                        r.data() + b * image_size + dim);
    }
  } else {
    Tensor<T> r_f({batch, dim});
    lrp::linear<T>(context, in.features, in.head_weight, one_hot, r_f);
    for (std::int64_t b = 0; b < batch; ++b) {
      if (in.pooling == Pooling::ClassToken)
        lrp::index_select(in.features.data() + b * dim, r_f.data() + b * dim, dim, r.data() + b * image_size);
      else
        lrp::mean_rows(in.pooled_tokens.data() + b * image_size + prefix * dim, tokens - prefix, dim, dim,
                       r_f.data() + b * dim, r.data() + b * image_size + prefix * dim);
    }
  }

  // The blocks, last first.
  Tensor<T> r_residual = Tensor<T>::uninitialized({batch, tokens, dim});
  Tensor<T> r_branch = Tensor<T>::uninitialized({batch, tokens, dim});
  Tensor<T> r_rows = Tensor<T>::uninitialized({rows, dim});  // at normed2, the heads output, normed1
  Tensor<T> r_hidden = Tensor<T>::uninitialized({rows, mlp});
  Tensor<T> r_qkv = Tensor<T>::uninitialized({batch, tokens, 3 * dim});
  Tensor<T> s_values = Tensor<T>::uninitialized({batch, tokens, dim});            // sd(R, A·V), heads side by side
  Tensor<T> s_scores = Tensor<T>::uninitialized({batch, heads, tokens, tokens});  // sd(R_A, Q·Kᵀ)
  const auto add_per_image = [&](const LrpBlockInputs<T>& block, bool second, const Tensor<T>& r_out) {
    const TensorView<const T> x0 = second ? block.mid : block.input, x1 = second ? block.mlp_out : block.attn_out;
    cpu::parallel_for(context.threads, batch, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t b = begin; b < end; ++b) {
        const std::int64_t at = b * image_size;
        lrp::add(x0.data() + at, x1.data() + at, r_out.data() + at, image_size, r_residual.data() + at,
                 r_branch.data() + at);
      }
    });
  };
  const auto rows_of = [&](const auto& tensor, std::int64_t width) { return tensor.reshape({rows, width}); };
  std::vector<Tensor<T>> relevance(static_cast<std::size_t>(depth));
  for (int l = depth - 1; l >= start_layer; --l) {
    const LrpBlockInputs<T>& block = in.blocks[std::size_t(l)];
    // out = Add(mid, mlp(norm2(mid))), mid cloned into both.
    const bool outputs = !block.fc1.empty();
    const auto output = [&](TensorView<const T> y, std::int64_t width) {
      return outputs ? y.reshape({rows, width}) : TensorView<const T>();
    };
    add_per_image(block, true, r);
    lrp::linear<T>(context, block.hidden, block.fc2_weight, rows_of(r_branch.view(), dim), r_hidden,
                   output(block.mlp_out, dim), block.fc2_bias);
    lrp::linear<T>(context, rows_of(block.normed2, dim), block.fc1_weight, r_hidden, r_rows, output(block.fc1, mlp),
                   block.fc1_bias);
    lrp::clone(block.mid.data(), r_residual.data(), r_rows.data(), rows * dim, r.data());
    // mid = Add(input, attn(norm1(input))), input cloned into both.
    add_per_image(block, false, r);
    lrp::linear<T>(context, rows_of(block.heads, dim), block.proj_weight, rows_of(r_branch.view(), dim), r_rows,
                   output(block.attn_out, dim), block.proj_bias);
    Tensor<T>& r_attention = relevance[std::size_t(l)] = Tensor<T>::uninitialized({batch, heads, tokens, tokens});
    const bool first = l == start_layer;  // the walk ends at this layer's attention relevance
    // Per image and head, in row chunks so that a few heads still fill many threads; each pass needs every
    // row of the one before (see lrp::attention_values_rows). Views of head h of image b:
    const auto view = [&](const T* base, std::int64_t b, std::int64_t column, std::int64_t stride) {
      return lrp::Matrix<const T>{base + b * tokens * stride + column, tokens, head_dim, stride};
    };
    const auto mutable_view = [&](T* base, std::int64_t b, std::int64_t column, std::int64_t stride) {
      return lrp::Matrix<T>{base + b * tokens * stride + column, tokens, head_dim, stride};
    };
    const auto square = [&](T* base, std::int64_t bh) {
      return lrp::Matrix<T>{base + bh * tokens * tokens, tokens, tokens, tokens};
    };
    const auto const_square = [&](const T* base, std::int64_t bh) {
      return lrp::Matrix<const T>{base + bh * tokens * tokens, tokens, tokens, tokens};
    };
    const std::int64_t chunk = 32, chunks = (tokens + chunk - 1) / chunk;
    const auto pass = [&](const auto& body) {
      cpu::parallel_for(context.threads, batch * heads * chunks, 1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t item = begin; item < end; ++item) {
          const std::int64_t bh = item / chunks, b = bh / heads, h = bh % heads, row = item % chunks * chunk;
          body(b, h, bh, row, std::min(tokens, row + chunk));
        }
      });
    };
    const T* qkv = block.qkv.data();
    const T* attention = block.attention.data();
    pass([&](std::int64_t b, std::int64_t h, std::int64_t bh, std::int64_t begin, std::int64_t end) {
      const lrp::Matrix<T> r_a = square(r_attention.data(), bh);
      lrp::attention_values_rows<T>(const_square(attention, bh), view(qkv, b, 2 * dim + h * head_dim, 3 * dim),
                                    view(block.heads.data(), b, h * head_dim, dim),
                                    view(r_rows.data(), b, h * head_dim, dim),
                                    mutable_view(s_values.data(), b, h * head_dim, dim), r_a, begin, end);
      for (std::int64_t i = begin; i < end; ++i)
        for (std::int64_t j = 0; j < tokens; ++j) r_a(i, j) *= T(0.5);  // cam1 /= 2
    });
    if (!first) {
      pass([&](std::int64_t b, std::int64_t h, std::int64_t bh, std::int64_t begin, std::int64_t end) {
        const lrp::Matrix<T> r_v = mutable_view(r_qkv.data(), b, 2 * dim + h * head_dim, 3 * dim);
        lrp::attention_values_columns<T>(const_square(attention, bh), view(qkv, b, 2 * dim + h * head_dim, 3 * dim),
                                         view(s_values.data(), b, h * head_dim, dim), r_v, begin, end);
        for (std::int64_t t = begin; t < end; ++t)
          for (std::int64_t j = 0; j < head_dim; ++j) r_v(t, j) *= T(0.5);  // cam_v /= 2
      });
      pass([&](std::int64_t b, std::int64_t h, std::int64_t bh, std::int64_t begin, std::int64_t end) {
        const lrp::Matrix<T> r_q = mutable_view(r_qkv.data(), b, h * head_dim, 3 * dim);
        lrp::attention_scores_rows<T>(view(qkv, b, h * head_dim, 3 * dim), view(qkv, b, dim + h * head_dim, 3 * dim),
                                      const_square(r_attention.data(), bh), square(s_scores.data(), bh), r_q, begin,
                                      end);
        for (std::int64_t i = begin; i < end; ++i)
          for (std::int64_t j = 0; j < head_dim; ++j) r_q(i, j) *= T(0.5);  // cam_q /= 2
      });
      pass([&](std::int64_t b, std::int64_t h, std::int64_t bh, std::int64_t begin, std::int64_t end) {
        const lrp::Matrix<T> r_k = mutable_view(r_qkv.data(), b, dim + h * head_dim, 3 * dim);
        lrp::attention_scores_columns<T>(view(qkv, b, h * head_dim, 3 * dim), view(qkv, b, dim + h * head_dim, 3 * dim),
                                         const_square(s_scores.data(), bh), r_k, begin, end);
        for (std::int64_t t = begin; t < end; ++t)
          for (std::int64_t j = 0; j < head_dim; ++j) r_k(t, j) *= T(0.5);  // cam_k /= 2
      });
    }
    if (first) break;
    lrp::linear<T>(context, rows_of(block.normed1, dim), block.qkv_weight, rows_of(r_qkv.view(), 3 * dim), r_rows,
                   output(block.qkv, 3 * dim), block.qkv_bias);
    lrp::clone(block.input.data(), r_residual.data(), r_rows.data(), rows * dim, r.data());
  }
  return relevance;
}

// Steps 2-4: relevance[l], gradients[l]: [B, H, N, N] for l >= start_layer → maps [B, grid_h, grid_w].
template <typename T, typename G>
Tensor<T> attribution_maps(const std::vector<Tensor<T>>& relevance, const std::vector<TensorView<const G>>& gradients,
                           int start_layer, int token, int prefix_tokens, std::int64_t grid_h, std::int64_t grid_w) {
  const int depth = int(relevance.size());
  const Tensor<T>& last = relevance.back();
  const std::int64_t batch = last.size(0), heads = last.size(1), tokens = last.size(2);
  Tensor<T> maps({batch, grid_h, grid_w});
  std::vector<double> row(static_cast<std::size_t>(tokens)), next(static_cast<std::size_t>(tokens));
  for (std::int64_t b = 0; b < batch; ++b) {
    std::fill(row.begin(), row.end(), 0.0);
    row[std::size_t(token)] = 1.0;
    // row ← rowᵀ · Ā_l for l = L-1 .. start: row `token` of Ā_{L-1} ⋯ Ā_start.
    for (int l = depth - 1; l >= start_layer; --l) {
      const T* r_base = relevance[std::size_t(l)].data() + b * heads * tokens * tokens;
      const G* g_base = gradients[std::size_t(l)].data() + b * heads * tokens * tokens;
      next = row;  // the identity
      for (std::int64_t i = 0; i < tokens; ++i) {
        const double weight = row[std::size_t(i)];
        if (weight == 0.0) continue;
        for (std::int64_t j = 0; j < tokens; ++j) {
          double sum = 0;  // Σ_h clamp≥0(G ⊙ R), then the head mean
          for (std::int64_t h = 0; h < heads; ++h) {
            const std::int64_t at = (h * tokens + i) * tokens + j;
            sum += std::max(0.0, double(g_base[at]) * double(r_base[at]));
          }
          next[std::size_t(j)] += weight * (sum / double(heads));
        }
      }
      row.swap(next);
    }
    for (std::int64_t p = 0; p < grid_h * grid_w; ++p)
      maps[b * grid_h * grid_w + p] = T(row[std::size_t(prefix_tokens + p)]);
  }
  return maps;
}

// The weights and the float activations of a cached forward pass, as LrpInputs, plus what the cache does
// not hold: the two residual branches (proj and fc2 outputs with their biases, recomputed for the layers
// the walk reaches) and, for mean pooling without fc_norm, the final-normed tokens.
struct CachedLrpInputs {
  LrpInputs<float> inputs;
  std::vector<Tensor<float>> owned;
};

inline CachedLrpInputs lrp_inputs_from_cache(const Model& model, const ActivationCache& cache, int start_layer,
                                             const Context& context) {
  const ViTConfig& config = model.config();
  const std::int64_t batch = cache.batch(), tokens = cache.output.size(1), dim = config.embed_dim;
  const std::int64_t rows = batch * tokens;
  CachedLrpInputs result;
  LrpInputs<float>& in = result.inputs;
  in.num_heads = config.num_heads;
  in.prefix_tokens = config.num_prefix_tokens();
  in.pooling = config.pooling;
  in.blocks.resize(cache.blocks.size());
  for (std::size_t l = std::size_t(start_layer); l < cache.blocks.size(); ++l) {
    const nn::BlockActivations<float>& saved = cache.blocks[l];
    LrpBlockInputs<float>& block = in.blocks[l];
    const std::string stem = concat("blocks.", l, ".");
    block.input = saved.input;
    block.normed1 = saved.normed1;
    block.qkv = saved.qkv;
    block.attention = saved.attention;
    block.heads = saved.heads;
    block.mid = saved.mid;
    block.normed2 = saved.normed2;
    block.fc1 = saved.fc1;
    block.hidden = saved.hidden;
    block.qkv_weight = model.weight(stem + "attn.qkv.weight");
    block.proj_weight = model.weight(stem + "attn.proj.weight");
    block.fc1_weight = model.weight(stem + "mlp.fc1.weight");
    block.fc2_weight = model.weight(stem + "mlp.fc2.weight");
    if (model.config().qkv_bias) block.qkv_bias = model.weight(stem + "attn.qkv.bias");
    block.proj_bias = model.weight(stem + "attn.proj.bias");
    block.fc1_bias = model.weight(stem + "mlp.fc1.bias");
    block.fc2_bias = model.weight(stem + "mlp.fc2.bias");
    Tensor<float> attn_out = Tensor<float>::uninitialized({batch, tokens, dim});
    cpu::linear(context, saved.heads.view().reshape({rows, dim}), block.proj_weight, block.proj_bias,
                attn_out.view().reshape({rows, dim}));
    Tensor<float> mlp_out = Tensor<float>::uninitialized({batch, tokens, dim});
    cpu::linear(context, saved.hidden, block.fc2_weight, block.fc2_bias, mlp_out.view().reshape({rows, dim}));
    block.attn_out = attn_out;
    block.mlp_out = mlp_out;
    result.owned.push_back(std::move(attn_out));
    result.owned.push_back(std::move(mlp_out));
  }
  in.features = cache.features;
  in.head_weight = model.weight("head.weight");
  in.head_bias = model.weight("head.bias");
  if (config.has_distillation_head()) {
    in.features_dist = cache.features_dist;
    in.head_dist_weight = model.weight("head_dist.weight");
    in.head_dist_bias = model.weight("head_dist.bias");
  }
  if (config.pooling == Pooling::Mean) {
    if (config.fc_norm) {
      in.pooled_tokens = cache.output;
    } else {  // the final norm ran on every token before the mean; the cache keeps the stream before it
      Tensor<float> normed = Tensor<float>::uninitialized({batch, tokens, dim});
      cpu::layer_norm(context, cache.output.view().reshape({rows, dim}), model.weight("norm.weight"),
                      model.weight("norm.bias"), config.layer_norm_eps, normed.view().reshape({rows, dim}));
      in.pooled_tokens = normed;
      result.owned.push_back(std::move(normed));
    }
  }
  return result;
}

}  // namespace detail

// The transformer-attribution maps of a cached forward pass: [B, grid.height, grid.width], raw values.
//   cache:     ForwardResult::cache of model.forward(images, {.cache = true})
//   gradients: model.backward(cache, d_logits, {.attentions = true}) with d_logits one-hot at targets[b]
//              in row b (the gradient of each image's target logit; for distilled DeiT the logits are
//              the mean of both heads, as the model computes them)
//   targets:   the class explained for each image (B entries)
// Errors (vit::Error): a model without a classification head, a target outside [0, classes), a start
// layer outside [0, depth), a token that is not a prefix token, a cache from another model or a grid
// that does not match it, gradients without attention gradients or of another shape than the cache.
inline Tensor<float> transformer_attribution(const Model& model, const ActivationCache& cache,
                                             const BackwardResult<float>& gradients, const std::vector<int>& targets,
                                             const PatchGrid& grid, const TransformerAttributionOptions& options = {},
                                             const Context& context = {}) {
  const ViTConfig& config = model.config();
  VIT_CHECK(config.num_classes > 0,
            "transformer attribution: the model has no classification head, so there is no class score to explain");
  VIT_CHECK(!cache.empty(),
            "transformer attribution: the activation cache is empty (run forward with "
            "ForwardOptions::cache = true)");
  const std::int64_t batch = cache.batch(), tokens = cache.output.size(1), prefix = config.num_prefix_tokens();
  const int depth = config.depth;
  VIT_CHECK(int(cache.blocks.size()) == depth && cache.output.size(2) == config.embed_dim &&
                tokens - prefix == cache.grid_h * cache.grid_w,
            "transformer attribution: the activation cache does not come from this model (", cache.blocks.size(),
            " blocks, shape ", cache.output.shape(), "; the model has ", depth, " blocks of width ", config.embed_dim,
            ")");
  VIT_CHECK(grid.prefix_tokens == prefix && grid.height == cache.grid_h && grid.width == cache.grid_w,
            "transformer attribution: the patch grid ", grid.height, "x", grid.width, " with ", grid.prefix_tokens,
            " prefix tokens does not match the cache (", cache.grid_h, "x", cache.grid_w, " with ", prefix, ")");
  VIT_CHECK(std::int64_t(targets.size()) == batch, "transformer attribution: ", targets.size(),
            " target classes for a batch of ", batch, " images");
  for (std::size_t b = 0; b < targets.size(); ++b)
    VIT_CHECK(targets[b] >= 0 && targets[b] < config.num_classes, "transformer attribution: target class ", targets[b],
              " of image ", b, " is outside [0, ", config.num_classes, ")");
  VIT_CHECK(options.start_layer >= 0 && options.start_layer < depth, "transformer attribution: start layer ",
            options.start_layer, " is outside [0, ", depth, ") (the model has ", depth, " layers)");
  VIT_CHECK(options.token >= 0 && options.token < prefix, "transformer attribution: token ", options.token,
            " is not one of the ", prefix, " prefix tokens");
  VIT_CHECK(int(gradients.attentions.size()) == depth, "transformer attribution: the gradients hold ",
            gradients.attentions.size(), " attention gradients, the model has ", depth,
            " layers (run backward with BackwardOptions::attentions = true on this cache)");
  const Shape expected{batch, config.num_heads, tokens, tokens};
  std::vector<TensorView<const float>> gradient_views;
  for (int l = 0; l < depth; ++l) {
    const Tensor<float>& g = gradients.attentions[std::size_t(l)];
    VIT_CHECK(g.shape() == expected, "transformer attribution: the attention gradient of layer ", l, " has shape ",
              g.shape(), ", the cache needs ", expected, " (gradients and cache from different passes?)");
    gradient_views.push_back(g);
  }

  const detail::CachedLrpInputs inputs = detail::lrp_inputs_from_cache(model, cache, options.start_layer, context);
  const std::vector<Tensor<float>> relevance =
      detail::attention_relevance<float>(inputs.inputs, targets, options.start_layer, context);
  return detail::attribution_maps<float, float>(relevance, gradient_views, options.start_layer, options.token,
                                                int(prefix), cache.grid_h, cache.grid_w);
}

}  // namespace vit
