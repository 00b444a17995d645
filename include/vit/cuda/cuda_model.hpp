// CudaModel: a VisionTransformer's forward pass on a CUDA device, with the same options and results as the
// CPU model (logits, per-layer attention maps, features). Host C++ only: it drives the kernels through
// vit/cuda/launch.hpp and cuBLAS through vit/cuda/runtime.hpp, and needs the vit::cuda library at link time.
//
// Numerics: GEMMs take `activations`-dtype inputs (fp32, fp16 or bf16) and accumulate and return fp32;
// biases, LayerNorm, GELU, softmax and the residual stream are fp32 whatever the activation dtype, so the
// only roundings to 16 bits are the GEMM inputs (unfolded patches, normalised tokens, q/k/v, attention
// output, GELU output, pooled features) and the weight matrices.
//
// Resources: the weights are uploaded once, at construction (matrices converted to the activation dtype,
// everything else fp32). Activations live in one workspace that grows only when a larger batch or image
// size arrives (growing frees the old one, which waits for the device). All work is queued on the
// caller's stream; forward() waits for that stream only to return its host results.
#pragma once

#include <cmath>
#include <cstring>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cuda/launch.hpp"
#include "vit/cuda/runtime.hpp"
#include "vit/cuda/workspace.hpp"
#include "vit/model/forward.hpp"
#include "vit/model/vision_transformer.hpp"

namespace vit::cuda {

class CudaModel {
 public:
  // Lives on the calling thread's current device: its weights and workspace are there, and forward() runs
  // there whatever device is current when it is called (and leaves the caller's current device as it was).
  // Throws vit::Error when no CUDA device is usable or the model's head dimension has no attention kernel,
  // before touching the device. stream: a cudaStream_t of that device, or nullptr for its legacy default
  // stream; it must outlive the model.
  CudaModel(const VisionTransformer<float>& model, DType activations = DType::F32, void* stream = nullptr)
      : host_(&model),
        config_(model.config()),
        activations_(activations),
        device_(checked_device(config_)),
        stream_(stream),
        blas_(stream) {
    upload_weights();
  }

  const ViTConfig& config() const { return config_; }
  DType activations() const { return activations_; }
  int device() const { return device_; }

  // images: [B, 3, H, W] host fp32, as for VisionTransformer::forward. Results are host tensors.
  ForwardResult<float> forward(TensorView<const float> images, const ForwardOptions& options = {}) {
    ::vit::detail::check_images(config_, images);
    VIT_CHECK(!options.cache,
              "CudaModel::forward: the activation cache (for the backward pass and the class-specific explanations) "
              "is kept by the CPU model only; run vit::Model::forward with ForwardOptions::cache");
    const DeviceScope on_model_device(device_);
    VIT_CHECK(images.size(0) <= 65535, "images: at most 65535 per batch on CUDA, got ", images.size(0));
    const std::int64_t batch = images.size(0), patch = config_.patch_size;
    const std::int64_t grid_h = images.size(2) / patch, grid_w = images.size(3) / patch;
    const WorkspacePlan plan = plan_workspace(config_, activations_, batch, grid_h, grid_w, options.attentions);
    workspace_.reserve(plan.total);
    upload_position_embedding(grid_h, grid_w);
    copy_to_device(at(plan.images), images.data(), std::size_t(images.numel()) * sizeof(float), stream_);

    const DType act = activations_;
    const int b = int(batch), dim = config_.embed_dim, prefix = config_.num_prefix_tokens();
    const int patches = int(grid_h * grid_w), tokens = int(plan.tokens), heads = config_.num_heads;
    const std::int64_t rows = batch * tokens;
    const float eps = float(config_.layer_norm_eps);
    float* acc = f32(plan.acc);
    float* x = f32(plan.x);

    // Patch embedding and token assembly: x = [prefix tokens | patches · W + b] + pos.
    launch::patch_unfold(act, f32(plan.images), at(plan.unfolded), b, config_.in_channels, int(images.size(2)),
                         int(images.size(3)), int(patch), stream_);
    linear(patch_embed_, at(plan.unfolded), acc, batch * patches, std::int64_t(config_.in_channels) * patch * patch,
           dim);
    launch::assemble_tokens(prefix > 0 ? params(prefix_offset_) : nullptr, acc, patch_embed_.bias,
                            static_cast<const float*>(positions_.data()), x, b, prefix, patches, dim, stream_);

    // Blocks: x += proj(attention(norm1(x))); x += fc2(GELU(fc1(norm2(x)))). Each residual add is fused
    // with the LayerNorm that follows it (the next block's norm1, or none after the last block).
    launch::residual_layer_norm(act, x, nullptr, nullptr, blocks_[0].norm1.gamma, blocks_[0].norm1.beta,
                                at(plan.normed), rows, dim, eps, stream_);
    for (std::size_t layer = 0; layer < blocks_.size(); ++layer) {
      const DeviceBlock& block = blocks_[layer];
      linear(block.qkv, at(plan.normed), acc, rows, dim, 3 * dim);
      launch::bias_activation(act, acc, block.qkv.bias, at(plan.qkv), rows, 3 * dim, false, stream_);
      float* maps = options.attentions ? f32(plan.maps) + std::int64_t(layer) * plan.map_elements_per_layer : nullptr;
      launch::attention(act, at(plan.qkv), at(plan.heads), maps, b, tokens, heads, config_.head_dim(), stream_);
      linear(block.proj, at(plan.heads), acc, rows, dim, dim);
      launch::residual_layer_norm(act, x, acc, block.proj.bias, block.norm2.gamma, block.norm2.beta, at(plan.normed),
                                  rows, dim, eps, stream_);
      linear(block.fc1, at(plan.normed), acc, rows, dim, config_.mlp_dim);
      launch::bias_activation(act, acc, block.fc1.bias, at(plan.hidden), rows, config_.mlp_dim, true, stream_);
      linear(block.fc2, at(plan.hidden), acc, rows, config_.mlp_dim, dim);
      const bool last = layer + 1 == blocks_.size();
      const DeviceNorm* next = last ? nullptr : &blocks_[layer + 1].norm1;
      launch::residual_layer_norm(act, x, acc, block.fc2.bias, next ? next->gamma : nullptr,
                                  next ? next->beta : nullptr, next ? at(plan.normed) : nullptr, rows, dim, eps,
                                  stream_);
    }

    pool(plan, b, tokens, prefix, patches, eps);
    ForwardResult<float> result;
    const std::int64_t classes = config_.num_classes;
    if (classes > 0) {
      const void* head_in = at(plan.features);
      if (act != DType::F32) {
        launch::convert(DType::F32, act, at(plan.features), at(plan.head_in), plan.pooled_rows * dim, stream_);
        head_in = at(plan.head_in);
      }
      const std::size_t head_in_row = std::size_t(dim) * dtype_size(act);
      linear(head_, head_in, acc, batch, dim, classes);
      launch::bias_activation(DType::F32, acc, head_.bias, f32(plan.logits), batch, int(classes), false, stream_);
      if (config_.has_distillation_head()) {
        linear(head_dist_, static_cast<const char*>(head_in) + std::size_t(batch) * head_in_row, acc, batch, dim,
               classes);
        launch::bias_activation(DType::F32, acc, head_dist_.bias, f32(plan.logits) + batch * classes, batch,
                                int(classes), false, stream_);
      }
    }
    // Results to the host, then the one wait for the stream.
    Tensor<float> logits = Tensor<float>::uninitialized({plan.pooled_rows, classes});
    if (classes > 0) copy_to_host(logits.data(), at(plan.logits), std::size_t(logits.numel()) * sizeof(float), stream_);
    if (options.features) {
      result.features = Tensor<float>::uninitialized({batch, dim});
      copy_to_host(result.features.data(), at(plan.features), std::size_t(batch) * dim * sizeof(float), stream_);
    }
    if (options.attentions)
      for (std::size_t layer = 0; layer < blocks_.size(); ++layer) {
        result.attentions.push_back(Tensor<float>::uninitialized({batch, heads, tokens, tokens}));
        copy_to_host(result.attentions.back().data(),
                     f32(plan.maps) + std::int64_t(layer) * plan.map_elements_per_layer,
                     std::size_t(plan.map_elements_per_layer) * sizeof(float), stream_);
      }
    synchronize(stream_);
    if (classes > 0) {
      result.logits = Tensor<float>::uninitialized({batch, classes});
      for (std::int64_t i = 0; i < batch * classes; ++i) {
        // DeiT at inference: the mean of the class-token head and the distillation-token head (as on the CPU).
        result.logits[i] =
            config_.has_distillation_head() ? (logits[i] + logits[batch * classes + i]) * 0.5f : logits[i];
      }
    }
    return result;
  }

 private:
  struct DeviceLinear {
    const void* weight = nullptr;  // [out, in] of the activation dtype
    const float* bias = nullptr;   // [out] fp32, or null
  };
  struct DeviceNorm {
    const float* gamma = nullptr;  // [D] fp32
    const float* beta = nullptr;   // [D] fp32
  };
  struct DeviceBlock {
    DeviceNorm norm1, norm2;
    DeviceLinear qkv, proj, fc1, fc2;
  };

  // The device the model is built on, after the checks that need no device work: a usable device, and an
  // attention kernel for the head dimension.
  static int checked_device(const ViTConfig& config) {
    require_device();
    VIT_CHECK(launch::attention_supports_head_dim(config.head_dim()), "CudaModel: head dimension ", config.head_dim(),
              " (", config.embed_dim, " / ", config.num_heads,
              " heads) has no attention kernel (16, 32, 64, 80 or 128)");
    return current_device();
  }

  // Pooling and the final norm, into plan.features ([pooled_rows, D] fp32), as VisionTransformer::forward.
  void pool(const WorkspacePlan& plan, int batch, int tokens, int prefix, int patches, float eps) {
    const int dim = config_.embed_dim;
    float* x = f32(plan.x);
    float* pooled = f32(plan.pooled);
    float* features = f32(plan.features);
    if (config_.pooling == Pooling::Mean) {
      if (config_.fc_norm) {  // timm: mean of the patch tokens, then fc_norm
        launch::mean_tokens(x, pooled, batch, tokens, dim, prefix, patches, stream_);
        launch::residual_layer_norm(DType::F32, pooled, nullptr, nullptr, final_norm_.gamma, final_norm_.beta, features,
                                    batch, dim, eps, stream_);
      } else {  // norm every token, then the mean of the patch tokens
        float* normed = f32(plan.acc);
        launch::residual_layer_norm(DType::F32, x, nullptr, nullptr, final_norm_.gamma, final_norm_.beta, normed,
                                    std::int64_t(batch) * tokens, dim, eps, stream_);
        launch::mean_tokens(normed, features, batch, tokens, dim, prefix, patches, stream_);
      }
      return;
    }
    launch::mean_tokens(x, pooled, batch, tokens, dim, 0, 1, stream_);  // the class token
    if (config_.has_distillation_head())
      launch::mean_tokens(x, pooled + std::int64_t(batch) * dim, batch, tokens, dim, 1, 1, stream_);
    launch::residual_layer_norm(DType::F32, pooled, nullptr, nullptr, final_norm_.gamma, final_norm_.beta, features,
                                plan.pooled_rows, dim, eps, stream_);
  }

  // acc = input · weightᵀ: input [rows, in] of the activation dtype → acc [rows, out] fp32 (bias not added).
  void linear(const DeviceLinear& layer, const void* input, float* acc, std::int64_t rows, std::int64_t in,
              std::int64_t out) const {
    blas_.linear(activations_, input, layer.weight, acc, rows, out, in);
  }

  void* at(std::size_t offset) const { return static_cast<char*>(workspace_.data()) + offset; }
  float* f32(std::size_t offset) const { return static_cast<float*>(at(offset)); }
  const float* params(std::size_t offset) const {
    return reinterpret_cast<const float*>(static_cast<const char*>(params_.data()) + offset);
  }

  // Matrices go to matrices_ in the activation dtype, everything else to params_ in fp32: one upload each.
  void upload_weights() {
    std::vector<unsigned char> matrix_bytes, param_bytes;
    std::vector<std::pair<std::size_t, const void**>> matrix_slots;
    std::vector<std::pair<std::size_t, const float**>> param_slots;
    const auto add_matrix = [&](const std::string& name, const void** slot) {
      const TensorView<const float> weight = host_->weight(name);
      const std::size_t offset = matrix_bytes.size(), size = dtype_size(activations_);
      matrix_bytes.resize(offset + detail::align_up(std::size_t(weight.numel()) * size));
      for (std::int64_t i = 0; i < weight.numel(); ++i)
        store_as(activations_, weight[i], matrix_bytes.data() + offset + std::size_t(i) * size);
      matrix_slots.emplace_back(offset, slot);
    };
    const auto add_params = [&](const float* data, std::int64_t count, const float** slot) {
      const std::size_t offset = param_bytes.size();
      param_bytes.resize(offset + detail::align_up(std::size_t(count) * sizeof(float)));
      if (count > 0) std::memcpy(param_bytes.data() + offset, data, std::size_t(count) * sizeof(float));
      if (slot != nullptr) param_slots.emplace_back(offset, slot);
      return offset;
    };
    const auto add_param = [&](const std::string& name, const float** slot) {
      const TensorView<const float> weight = host_->weight(name);
      add_params(weight.data(), weight.numel(), slot);
    };
    const auto add_linear = [&](const std::string& stem, DeviceLinear& layer, bool bias = true) {
      add_matrix(stem + ".weight", &layer.weight);
      if (bias) add_param(stem + ".bias", &layer.bias);
    };
    const auto add_norm = [&](const std::string& stem, DeviceNorm& norm) {
      add_param(stem + ".weight", &norm.gamma);
      add_param(stem + ".bias", &norm.beta);
    };

    add_linear("patch_embed.proj", patch_embed_);
    const std::int64_t dim = config_.embed_dim;
    std::vector<float> prefix;
    if (config_.class_token)
      prefix.insert(prefix.end(), host_->weight("cls_token").data(), host_->weight("cls_token").data() + dim);
    if (config_.distillation_token)
      prefix.insert(prefix.end(), host_->weight("dist_token").data(), host_->weight("dist_token").data() + dim);
    prefix_offset_ = add_params(prefix.data(), std::int64_t(prefix.size()), nullptr);
    blocks_.resize(std::size_t(config_.depth));
    for (int i = 0; i < config_.depth; ++i) {
      const std::string stem = ::vit::detail::concat("blocks.", i, ".");
      DeviceBlock& block = blocks_[std::size_t(i)];
      add_norm(stem + "norm1", block.norm1);
      add_linear(stem + "attn.qkv", block.qkv, config_.qkv_bias);
      add_linear(stem + "attn.proj", block.proj);
      add_norm(stem + "norm2", block.norm2);
      add_linear(stem + "mlp.fc1", block.fc1);
      add_linear(stem + "mlp.fc2", block.fc2);
    }
    add_norm(config_.fc_norm ? "fc_norm" : "norm", final_norm_);
    if (config_.num_classes > 0) add_linear("head", head_);
    if (config_.has_distillation_head()) add_linear("head_dist", head_dist_);

    matrices_.reserve(matrix_bytes.size());
    params_.reserve(param_bytes.size());
    copy_to_device(matrices_.data(), matrix_bytes.data(), matrix_bytes.size(), stream_);
    copy_to_device(params_.data(), param_bytes.data(), param_bytes.size(), stream_);
    for (auto& [offset, slot] : matrix_slots) *slot = static_cast<const char*>(matrices_.data()) + offset;
    for (auto& [offset, slot] : param_slots) *slot = params(offset);
    synchronize(stream_);  // the staging vectors die here
  }

  // The positional embedding for this grid, fp32 [K + P, D], kept until the grid changes.
  void upload_position_embedding(std::int64_t grid_h, std::int64_t grid_w) {
    if (grid_h == pos_grid_h_ && grid_w == pos_grid_w_) return;
    const Tensor<float> table = host_->position_embedding(grid_h, grid_w);
    positions_.reserve(std::size_t(table.numel()) * sizeof(float));
    copy_to_device(positions_.data(), table.data(), std::size_t(table.numel()) * sizeof(float), stream_);
    pos_grid_h_ = grid_h;
    pos_grid_w_ = grid_w;
  }

  const VisionTransformer<float>* host_;  // for the positional embedding of other grids; must outlive this
  ViTConfig config_;
  DType activations_;
  int device_;
  void* stream_;
  Blas blas_;
  DeviceBuffer matrices_, params_, positions_, workspace_;
  std::size_t prefix_offset_ = 0;  // [K, D] fp32 in params_
  std::int64_t pos_grid_h_ = -1, pos_grid_w_ = -1;
  DeviceLinear patch_embed_, head_, head_dist_;
  std::vector<DeviceBlock> blocks_;
  DeviceNorm final_norm_;
};

}  // namespace vit::cuda
