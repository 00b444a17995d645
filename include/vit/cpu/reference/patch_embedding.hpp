// Reference patch embedding and its backward pass: the stride-P, kernel-P convolution written out directly
// (no unfolding), so it checks the im2col + GEMM path independently.
#pragma once

#include <vector>

#include "vit/core/tensor.hpp"

namespace vit::cpu::reference {

// images: [B, C, H, W]; weight: [D, C, P, P]; bias: [D] → [B, (H/P)·(W/P), D].
inline Tensor<float> patch_embedding(TensorView<const float> images, TensorView<const float> weight,
                                     TensorView<const float> bias) {
  const std::int64_t batch = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3),
                     dim = weight.size(0), patch = weight.size(2);
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

struct PatchEmbeddingGradients {
  Tensor<float> images;  // [B, C, H, W]
  Tensor<float> weight;  // [D, C, P, P]
  Tensor<float> bias;    // [D]
};

// The backward pass of the convolution for d_out: [B, G, D], in double, written as the convolution's own
// sums (each pixel lies in exactly one patch).
inline PatchEmbeddingGradients patch_embedding_backward(TensorView<const float> images, TensorView<const float> weight,
                                                        TensorView<const float> d_out) {
  const std::int64_t batch = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3),
                     dim = weight.size(0), patch = weight.size(2);
  const std::int64_t grid_h = height / patch, grid_w = width / patch;
  PatchEmbeddingGradients result{Tensor<float>(images.shape()), Tensor<float>(weight.shape()), Tensor<float>({dim})};
  std::vector<double> weight_sum(static_cast<std::size_t>(weight.numel())), bias_sum(static_cast<std::size_t>(dim));
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t gy = 0; gy < grid_h; ++gy)
      for (std::int64_t gx = 0; gx < grid_w; ++gx) {
        const float* d = d_out.data() + ((b * grid_h + gy) * grid_w + gx) * dim;
        for (std::int64_t o = 0; o < dim; ++o) bias_sum[std::size_t(o)] += d[o];
        for (std::int64_t c = 0; c < channels; ++c)
          for (std::int64_t py = 0; py < patch; ++py)
            for (std::int64_t px = 0; px < patch; ++px) {
              const std::int64_t pixel = ((b * channels + c) * height + gy * patch + py) * width + gx * patch + px;
              double sum = 0;
              for (std::int64_t o = 0; o < dim; ++o) {
                const std::int64_t w = ((o * channels + c) * patch + py) * patch + px;
                sum += double(d[o]) * weight[w];
                weight_sum[std::size_t(w)] += double(d[o]) * images[pixel];
              }
              result.images[pixel] = float(sum);
            }
      }
  for (std::int64_t i = 0; i < weight.numel(); ++i) result.weight[i] = float(weight_sum[std::size_t(i)]);
  for (std::int64_t o = 0; o < dim; ++o) result.bias[o] = float(bias_sum[std::size_t(o)]);
  return result;
}

}  // namespace vit::cpu::reference
