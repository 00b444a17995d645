// Launchers of the hand-written kernels (kernels/*.cuh), callable from host-compiler code: device pointers
// in, work queued on `stream` (a cudaStream_t as void*), nothing waited for. Each checks its sizes (a
// vit::Error for shapes a kernel does not handle) and the launch itself. Definitions in launch.cuh.
// Activation tensors have `dtype` elements (float, vit::Half or vit::BFloat16 bits); the residual
// stream, GEMM results, biases, norms and probabilities are always fp32.
#pragma once

#include <cstdint>

#include "vit/core/dtype.hpp"

namespace vit::cuda::launch {

// Whether attention() has a kernel for this head dimension (16, 32, 64, 80 or 128).
bool attention_supports_head_dim(int head_dim);

// qkv: [B, N, 3 · heads · head_dim] → out: [B, N, heads · head_dim]; probabilities: [B, heads, N, N] fp32 or
// null. head_dim ∈ {16, 32, 64, 80, 128}; B ≤ 65535, heads ≤ 65535.
void attention(DType dtype, const void* qkv, void* out, float* probabilities, int batch, int tokens, int heads,
               int head_dim, void* stream);

// in, out: [rows, cols] (may alias), softmax over each row.
void softmax(DType dtype, const void* in, void* out, std::int64_t rows, int cols, void* stream);

// x: [rows, dim] fp32, x += delta + delta_bias when delta is given; then out = LayerNorm(x) (out_dtype)
// when gamma is given. delta: [rows, dim] fp32 or null; delta_bias, gamma, beta: [dim] fp32 or null.
void residual_layer_norm(DType out_dtype, float* x, const float* delta, const float* delta_bias, const float* gamma,
                         const float* beta, void* out, std::int64_t rows, int dim, float eps, void* stream);

// out = acc + bias, then GELU (exact erf form) when `gelu`; acc: [rows, cols] fp32, bias: [cols] fp32 or
// null, out: [rows, cols] of out_dtype.
void bias_activation(DType out_dtype, const float* acc, const float* bias, void* out, std::int64_t rows, int cols,
                     bool gelu, void* stream);

// images: [B, C, H, W] fp32 → out: [B · (H/P) · (W/P), C · P · P] of dtype.
void patch_unfold(DType dtype, const float* images, void* out, int batch, int channels, int height, int width,
                  int patch, void* stream);

// x: [B, K + P, D] fp32 from prefix [K, D], patch_acc [B · P, D] + patch_bias [D], and pos [K + P, D].
void assemble_tokens(const float* prefix, const float* patch_acc, const float* patch_bias, const float* pos, float* x,
                     int batch, int prefix_tokens, int patches, int dim, void* stream);

// pooled: [B, D] = mean of x: [B, N, D] over tokens [first, first + count).
void mean_tokens(const float* x, float* pooled, int batch, int tokens, int dim, int first, int count, void* stream);

// out: [count] of `to` from in: [count] of `from`.
void convert(DType from, DType to, const void* in, void* out, std::int64_t count, void* stream);

}  // namespace vit::cuda::launch
