// Reference patch embedding: the stride-P, kernel-P convolution written out directly (no unfolding),
// so it checks the im2col + GEMM path independently.
#pragma once

#include "vit/core/tensor.hpp"

namespace vit::cpu::reference {

// images: [B, C, H, W]; weight: [D, C, P, P]; bias: [D] → [B, (H/P)·(W/P), D].
inline Tensor<float> patch_embedding(TensorView<const float> images, TensorView<const float> weight,
                                     TensorView<const float> bias) {
  const std::int64_t batch = images.size(0), channels = images.size(1), height = images.size(2),
                     width = images.size(3), dim = weight.size(0), patch = weight.size(2);
  const std::int64_t grid_h = height / patch, grid_w = width / patch;
  Tensor<float> out({batch, grid_h * grid_w, dim});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t gy = 0; gy < grid_h; ++gy)
      for (std::int64_t gx = 0; gx < grid_w; ++gx)
        for (std::int64_t d = 0; d < dim; ++d) {
          double sum = bias[d];
          for (std::int64_t c = 0; c < channels; ++c)
            for (std::int64_t py = 0; py < patch; ++py)
              for (std::int64_t px = 0; px < patch; ++px)
                sum += double(weight[((d * channels + c) * patch + py) * patch + px]) *
                       images[((b * channels + c) * height + gy * patch + py) * width + gx * patch + px];
          out[((b * grid_h + gy) * grid_w + gx) * dim + d] = float(sum);
        }
  return out;
}

}  // namespace vit::cpu::reference
