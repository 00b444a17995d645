// Patch unfolding (im2col for the stride = kernel = P convolution of the patch embedding): each P × P
// patch of each channel becomes one row, ordered (channel, y, x) to match the flattened conv weight
// [D, C · P · P], so that the patch embedding is one GEMM. Same layout as vit::cpu::patch_unfold.
//
// Shapes: images [B, C, H, W] fp32 (H, W multiples of P); out [B · (H/P) · (W/P), C · P · P] of
// T ∈ {float, __half, __nv_bfloat16} (the only rounding of the input to the activation dtype).
// Scheme: one thread per output element, grid-stride loop, 256 threads per block; writes are coalesced,
// reads come in runs of P consecutive pixels.
//
// Measured numbers: not yet measured on a GPU.
#pragma once

#include "kernels/common.cuh"

namespace vit::kernels {

template <typename T>
__global__ void __launch_bounds__(256)
    patch_unfold_kernel(const float* images, T* out, int batch, int channels, int height, int width, int patch) {
  const int grid_h = height / patch, grid_w = width / patch, patch_area = patch * patch;
  const std::int64_t row_size = std::int64_t(channels) * patch_area;
  const std::int64_t count = std::int64_t(batch) * grid_h * grid_w * row_size;
  for (std::int64_t i = grid_first(); i < count; i += grid_stride()) {
    const std::int64_t row = i / row_size;
    const int column = int(i % row_size);
    const std::int64_t image = row / (grid_h * grid_w);
    const int cell = int(row % (grid_h * grid_w)), gy = cell / grid_w, gx = cell % grid_w;
    const int channel = column / patch_area, py = (column % patch_area) / patch, px = column % patch;
    const std::int64_t y = std::int64_t(gy) * patch + py, x = std::int64_t(gx) * patch + px;
    out[i] = from_f32<T>(images[((image * channels + channel) * height + y) * width + x]);
  }
}

}  // namespace vit::kernels
