// Token assembly on the CPU: x[b] = [class token, distillation token, patch tokens...] + positional embedding.
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

}  // namespace vit::cpu
