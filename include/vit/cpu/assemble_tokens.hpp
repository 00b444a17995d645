// Token assembly on the CPU: x[b] = [class token, distillation token, patch tokens...] + positional embedding,
// and its backward pass.
#pragma once

#include <algorithm>

#include "vit/core/context.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/parallel.hpp"

namespace vit::cpu {

// patch_tokens: [B, P, D]; prefix: [K, D] (K = 0, 1 or 2 learned tokens); position: [K + P, D];
// tokens: [B, K + P, D].
inline void assemble_tokens(const Context& context, TensorView<const float> patch_tokens,
                            TensorView<const float> prefix, TensorView<const float> position,
                            TensorView<float> tokens) {
  const std::int64_t batch = patch_tokens.size(0), patches = patch_tokens.size(1), dim = patch_tokens.size(2);
  const std::int64_t prefix_count = prefix.empty() ? 0 : prefix.size(0), count = prefix_count + patches;
  parallel_for(context.threads, batch, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t image = begin; image < end; ++image) {
      float* out = tokens.data() + image * count * dim;
      if (prefix_count) std::copy_n(prefix.data(), prefix_count * dim, out);
      std::copy_n(patch_tokens.data() + image * patches * dim, patches * dim, out + prefix_count * dim);
      for (std::int64_t i = 0; i < count * dim; ++i) out[i] += position[i];
    }
  });
}

// The backward pass, given d_tokens = ∂L/∂tokens: [B, K + P, D]:
//   d_patch_tokens: [B, P, D] = d_tokens[:, K:] (written);
//   d_prefix: [K, D] += Σ_b d_tokens[b, :K] and d_position: [K + P, D] += Σ_b d_tokens[b] (each optional).
inline void assemble_tokens_backward(const Context& context, TensorView<const float> d_tokens,
                                     TensorView<float> d_patch_tokens, TensorView<float> d_prefix,
                                     TensorView<float> d_position) {
  const std::int64_t batch = d_tokens.size(0), count = d_tokens.size(1), dim = d_tokens.size(2);
  const std::int64_t prefix_count = count - d_patch_tokens.size(1);
  if (!d_patch_tokens.empty())
    parallel_for(context.threads, batch, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t image = begin; image < end; ++image)
        std::copy_n(d_tokens.data() + (image * count + prefix_count) * dim, (count - prefix_count) * dim,
                    d_patch_tokens.data() + image * (count - prefix_count) * dim);
    });
  // Sums over the batch, split by element so each thread owns its part of the outputs.
  parallel_for(context.threads, count * dim, 1024, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t image = 0; image < batch; ++image) {
      const float* in = d_tokens.data() + image * count * dim;
      for (std::int64_t i = begin; i < end; ++i) {
        if (!d_position.empty()) d_position[i] += in[i];
        if (!d_prefix.empty() && i < prefix_count * dim) d_prefix[i] += in[i];
      }
    }
  });
}

}  // namespace vit::cpu
