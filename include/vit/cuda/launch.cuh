// Definitions of include/vit/cuda/launch.hpp: size checks, the dtype → storage-type dispatch and the launch
// configuration of each kernel (compiled once, into vit::cuda, by kernels/vit_cuda.cu).
#pragma once

#include <type_traits>

#include "kernels/assemble_tokens.cuh"
#include "kernels/attention.cuh"
#include "kernels/bias_gelu.cuh"
#include "kernels/convert.cuh"
#include "kernels/layer_norm.cuh"
#include "kernels/mean_tokens.cuh"
#include "kernels/patch_unfold.cuh"
#include "kernels/softmax.cuh"
#include "vit/cuda/check.cuh"
#include "vit/cuda/kernel_launch.cuh"
#include "vit/cuda/launch.hpp"

namespace vit::cuda::launch {

namespace detail {

inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

// Calls body(T{}) with T the storage type of `dtype` (a null pointer of that type as the tag).
template <class Body>
void with_type(DType dtype, Body&& body) {
  switch (dtype) {
    case DType::F32:
      body(static_cast<float*>(nullptr));
      return;
    case DType::F16:
      body(static_cast<__half*>(nullptr));
      return;
    case DType::BF16:
      body(static_cast<__nv_bfloat16*>(nullptr));
      return;
  }
  ::vit::detail::fail("unknown dtype");
}

template <class Tag>
using Storage = std::remove_pointer_t<Tag>;

// Calls body(std::integral_constant<int, head_dim>) for the head dimensions attention_kernel is instantiated for;
// false for any other. The one list of supported head dimensions.
template <class Body>
bool with_head_dim(int head_dim, Body&& body) {
  switch (head_dim) {
    case 16:  // the small committed test fixtures
      body(std::integral_constant<int, 16>{});
      return true;
    case 32:
      body(std::integral_constant<int, 32>{});
      return true;
    case 64:
      body(std::integral_constant<int, 64>{});
      return true;
    case 80:
      body(std::integral_constant<int, 80>{});
      return true;
    case 128:
      body(std::integral_constant<int, 128>{});
      return true;
    default:
      return false;
  }
}

}  // namespace detail

bool attention_supports_head_dim(int head_dim) {
  return detail::with_head_dim(head_dim, [](auto) {});
}

void attention(DType dtype, const void* qkv, void* out, float* probabilities, int batch, int tokens, int heads,
               int head_dim, void* stream) {
  VIT_CHECK(batch > 0 && tokens > 0 && heads > 0 && batch <= 65535 && heads <= 65535, "attention: unsupported batch ",
            batch, ", tokens ", tokens, " or heads ", heads);
  VIT_CHECK(attention_supports_head_dim(head_dim), "attention: head dimension ", head_dim,
            " is not supported (16, 32, 64, 80 or 128)");
  const dim3 grid(unsigned((tokens + kernels::kAttentionWarps - 1) / kernels::kAttentionWarps), unsigned(heads),
                  unsigned(batch));
  const dim3 block(kernels::kAttentionWarps * 32);
  const float scale = 1.0f / sqrtf(float(head_dim));
  detail::with_type(dtype, [&](auto tag) {
    using T = detail::Storage<decltype(tag)>;
    const T* in = static_cast<const T*>(qkv);
    T* result = static_cast<T*>(out);
    detail::with_head_dim(head_dim, [&](auto head_dim_constant) {
      VIT_CUDA_LAUNCH(grid, block, 0, detail::as_stream(stream),
                      kernels::attention_kernel<T, decltype(head_dim_constant)::value>)
      (in, result, probabilities, tokens, heads, scale);
    });
  });
  VIT_CUDA_CHECK_LAUNCH();
}

void softmax(DType dtype, const void* in, void* out, std::int64_t rows, int cols, void* stream) {
  VIT_CHECK(rows > 0 && rows < (1ll << 31) && cols > 0, "softmax: unsupported shape [", rows, ", ", cols, "]");
  detail::with_type(dtype, [&](auto tag) {
    using T = detail::Storage<decltype(tag)>;
    VIT_CUDA_LAUNCH(unsigned(rows), kernels::kSoftmaxThreads, 0, detail::as_stream(stream), kernels::softmax_kernel<T>)
    (static_cast<const T*>(in), static_cast<T*>(out), cols);
  });
  VIT_CUDA_CHECK_LAUNCH();
}

void residual_layer_norm(DType out_dtype, float* x, const float* delta, const float* delta_bias, const float* gamma,
                         const float* beta, void* out, std::int64_t rows, int dim, float eps, void* stream) {
  VIT_CHECK(rows > 0 && rows < (1ll << 31) && dim > 0, "residual_layer_norm: unsupported shape [", rows, ", ", dim,
            "]");
  VIT_CHECK((gamma == nullptr) == (beta == nullptr) && (gamma == nullptr || out != nullptr),
            "residual_layer_norm: gamma, beta and out go together");
  detail::with_type(out_dtype, [&](auto tag) {
    using T = detail::Storage<decltype(tag)>;
    VIT_CUDA_LAUNCH(unsigned(rows), kernels::kLayerNormThreads, 0, detail::as_stream(stream),
                    kernels::residual_layer_norm_kernel<T>)
    (x, delta, delta_bias, gamma, beta, static_cast<T*>(out), dim, eps);
  });
  VIT_CUDA_CHECK_LAUNCH();
}

void bias_activation(DType out_dtype, const float* acc, const float* bias, void* out, std::int64_t rows, int cols,
                     bool gelu, void* stream) {
  VIT_CHECK(rows > 0 && cols > 0, "bias_activation: unsupported shape [", rows, ", ", cols, "]");
  const unsigned blocks = kernels::grid_for(rows * cols, kernels::kElementwiseThreads);
  detail::with_type(out_dtype, [&](auto tag) {
    using T = detail::Storage<decltype(tag)>;
    if (gelu)
      VIT_CUDA_LAUNCH(blocks, kernels::kElementwiseThreads, 0, detail::as_stream(stream),
                      kernels::bias_activation_kernel<T, true>)
    (acc, bias, static_cast<T*>(out), rows, cols);
    else VIT_CUDA_LAUNCH(blocks, kernels::kElementwiseThreads, 0, detail::as_stream(stream),
                         kernels::bias_activation_kernel<T, false>)(acc, bias, static_cast<T*>(out), rows, cols);
  });
  VIT_CUDA_CHECK_LAUNCH();
}

void patch_unfold(DType dtype, const float* images, void* out, int batch, int channels, int height, int width,
                  int patch, void* stream) {
  VIT_CHECK(batch > 0 && channels > 0 && patch > 0 && height >= patch && width >= patch && height % patch == 0 &&
                width % patch == 0,
            "patch_unfold: unsupported images [", batch, ", ", channels, ", ", height, ", ", width, "], patch ", patch);
  const std::int64_t count = std::int64_t(batch) * channels * height * width;  // the unfolded size is the same
  detail::with_type(dtype, [&](auto tag) {
    using T = detail::Storage<decltype(tag)>;
    VIT_CUDA_LAUNCH(kernels::grid_for(count, 256), 256, 0, detail::as_stream(stream), kernels::patch_unfold_kernel<T>)
    (images, static_cast<T*>(out), batch, channels, height, width, patch);
  });
  VIT_CUDA_CHECK_LAUNCH();
}

void assemble_tokens(const float* prefix, const float* patch_acc, const float* patch_bias, const float* pos, float* x,
                     int batch, int prefix_tokens, int patches, int dim, void* stream) {
  VIT_CHECK(batch > 0 && prefix_tokens >= 0 && patches > 0 && dim > 0 && (prefix_tokens == 0 || prefix != nullptr),
            "assemble_tokens: unsupported sizes, or prefix tokens without their values");
  const std::int64_t count = std::int64_t(batch) * (prefix_tokens + patches) * dim;
  VIT_CUDA_LAUNCH(kernels::grid_for(count, 256), 256, 0, detail::as_stream(stream), kernels::assemble_tokens_kernel)
  (prefix, patch_acc, patch_bias, pos, x, batch, prefix_tokens, patches, dim);
  VIT_CUDA_CHECK_LAUNCH();
}

void mean_tokens(const float* x, float* pooled, int batch, int tokens, int dim, int first, int count, void* stream) {
  VIT_CHECK(batch > 0 && dim > 0 && count > 0 && first >= 0 && first + count <= tokens, "mean_tokens: tokens [", first,
            ", ", first + count, ") outside [0, ", tokens, ")");
  VIT_CUDA_LAUNCH(kernels::grid_for(std::int64_t(batch) * dim, 256), 256, 0, detail::as_stream(stream),
                  kernels::mean_tokens_kernel)
  (x, pooled, batch, tokens, dim, first, count);
  VIT_CUDA_CHECK_LAUNCH();
}

void convert(DType from, DType to, const void* in, void* out, std::int64_t count, void* stream) {
  VIT_CHECK(count > 0, "convert: nothing to convert");
  detail::with_type(from, [&](auto from_tag) {
    using In = detail::Storage<decltype(from_tag)>;
    detail::with_type(to, [&](auto to_tag) {
      using Out = detail::Storage<decltype(to_tag)>;
      VIT_CUDA_LAUNCH(kernels::grid_for(count, 256), 256, 0, detail::as_stream(stream),
                      kernels::convert_kernel<In, Out>)
      (static_cast<const In*>(in), static_cast<Out*>(out), count);
    });
  });
  VIT_CUDA_CHECK_LAUNCH();
}

}  // namespace vit::cuda::launch
