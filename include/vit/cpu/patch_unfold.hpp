// Patch unfolding on the CPU (im2col for a stride = kernel = P convolution): each P×P patch of each
// channel becomes one row, ordered (channel, y, x) to match the flattened conv weight [D, C·P·P],
// so that patch embedding is a single GEMM. Its backward, patch_unfold_backward, folds rows back into
// pixels: the patches do not overlap and cover the image, so every pixel gets exactly one value.
#pragma once

#include <algorithm>

#include "vit/core/context.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/parallel.hpp"

namespace vit::cpu {

// images: [B, C, H, W] with H, W multiples of patch; patches: [B · (H/P) · (W/P), C · P · P],
// patches in row-major grid order.
inline void patch_unfold(const Context& context, TensorView<const float> images, int patch, TensorView<float> patches) {
  const std::int64_t batch = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3);
  const std::int64_t grid_h = height / patch, grid_w = width / patch;
  const std::int64_t row_size = channels * patch * patch;
  parallel_for(context.threads, batch * grid_h, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t image_row = begin; image_row < end; ++image_row) {
      const std::int64_t image = image_row / grid_h, gy = image_row % grid_h;
      for (std::int64_t gx = 0; gx < grid_w; ++gx) {
        float* out = patches.data() + ((image * grid_h + gy) * grid_w + gx) * row_size;
        for (std::int64_t c = 0; c < channels; ++c)
          for (std::int64_t py = 0; py < patch; ++py) {
            const float* in = images.data() + ((image * channels + c) * height + gy * patch + py) * width + gx * patch;
            out = std::copy_n(in, patch, out);
          }
      }
    }
  });
}

// d_patches: [B · (H/P) · (W/P), C · P · P] → d_images: [B, C, H, W] (every element written).
inline void patch_unfold_backward(const Context& context, TensorView<const float> d_patches, int patch,
                                  TensorView<float> d_images) {
  const std::int64_t batch = d_images.size(0), channels = d_images.size(1), height = d_images.size(2),
                     width = d_images.size(3);
  const std::int64_t grid_h = height / patch, grid_w = width / patch;
  const std::int64_t row_size = channels * patch * patch;
  parallel_for(context.threads, batch * grid_h, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t image_row = begin; image_row < end; ++image_row) {
      const std::int64_t image = image_row / grid_h, gy = image_row % grid_h;
      for (std::int64_t gx = 0; gx < grid_w; ++gx) {
        const float* in = d_patches.data() + ((image * grid_h + gy) * grid_w + gx) * row_size;
        for (std::int64_t c = 0; c < channels; ++c)
          for (std::int64_t py = 0; py < patch; ++py, in += patch)
            std::copy_n(in, patch,
                        d_images.data() + ((image * channels + c) * height + gy * patch + py) * width + gx * patch);
      }
    }
  });
}

}  // namespace vit::cpu
