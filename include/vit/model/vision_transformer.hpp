// VisionTransformer: a ViT/DeiT model with its weights, loaded strictly from a checkpoint, and its
// batched forward pass with attention maps and features as optional outputs.
#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/assemble_tokens.hpp"
#include "vit/io/safetensors.hpp"
#include "vit/model/checkpoint.hpp"
#include "vit/model/config.hpp"
#include "vit/model/forward.hpp"
#include "vit/model/hf_config.hpp"
#include "vit/nn/block.hpp"
#include "vit/nn/layer_norm.hpp"
#include "vit/nn/linear.hpp"
#include "vit/nn/patch_embedding.hpp"
#include "vit/nn/position_embedding.hpp"

namespace vit {

namespace detail {

// images: [B, C, H, W] on the host, C as configured, H and W positive multiples of the patch size.
template <typename T>
void check_images(const ViTConfig& config, TensorView<const T> images) {
  VIT_CHECK(images.rank() == 4, "images: expected shape [B, C, H, W], got ", images.shape());
  VIT_CHECK(images.size(0) > 0, "images: the batch is empty");
  VIT_CHECK(images.size(1) == config.in_channels, "images: expected ", config.in_channels, " channels, got shape ",
            images.shape());
  VIT_CHECK(images.size(2) >= config.patch_size && images.size(3) >= config.patch_size &&
                images.size(2) % config.patch_size == 0 && images.size(3) % config.patch_size == 0,
            "images: height and width must be positive multiples of the patch size ", config.patch_size, ", got ",
            images.shape());
  VIT_CHECK(images.device() == Device::CPU, "images: expected a host tensor");
}

}  // namespace detail

template <typename T>
class VisionTransformer {
 public:
  // Loads every tensor `config` needs from `file` (named as `naming` says), strictly: a missing,
  // unexpected or mis-shaped tensor is a vit::Error naming it.
  VisionTransformer(const SafetensorsFile& file, const ViTConfig& config, CheckpointNaming naming)
      : config_(config), naming_(naming) {
    config_.validate();
    load_weights(file);
    bind_layers();
  }

  const ViTConfig& config() const { return config_; }
  CheckpointNaming naming() const { return naming_; }

  // A weight by canonical (timm) name, e.g. "blocks.0.attn.qkv.weight".
  TensorView<const T> weight(const std::string& name) const {
    auto found = weights_.find(name);
    VIT_CHECK(found != weights_.end(), "model has no weight named '", name, "'");
    return found->second;
  }

  // The positional embedding for a grid_h × grid_w patch grid: [K + grid_h·grid_w, D] (resampled when
  // the grid is not the training one).
  Tensor<float> position_embedding(std::int64_t grid_h, std::int64_t grid_w) const {
    return pos_embed_.for_grid(grid_h, grid_w);
  }

  // images: [B, C, H, W], normalised as the checkpoint expects, H and W multiples of the patch size
  // (another size than the training one resamples the positional embedding).
  ForwardResult<T> forward(TensorView<const T> images, const ForwardOptions& options = {},
                           const Context& context = {}) const {
    nn::detail::require_cpu_float<T>(context, "VisionTransformer::forward");
    detail::check_images(config_, images);
    const std::int64_t batch = images.size(0), patch = config_.patch_size, dim = config_.embed_dim;
    const std::int64_t grid_h = images.size(2) / patch, grid_w = images.size(3) / patch;
    const std::int64_t patches = grid_h * grid_w, prefix = config_.num_prefix_tokens(), tokens = prefix + patches;
    const std::int64_t rows = batch * tokens;

    ForwardResult<T> result;
    Tensor<T> x = Tensor<T>::uninitialized({batch, tokens, dim});  // the residual stream
    {
      Tensor<T> unfolded = Tensor<T>::uninitialized({batch * patches, config_.in_channels * patch * patch});
      Tensor<T> patch_tokens = Tensor<T>::uninitialized({batch, patches, dim});
      patch_embed_.forward(context, images, unfolded, patch_tokens);
      const Tensor<float> position = pos_embed_.for_grid(grid_h, grid_w);
      cpu::assemble_tokens(context, patch_tokens, prefix_tokens_, position, x);
    }

    Tensor<T> normed = Tensor<T>::uninitialized({batch, tokens, dim});
    Tensor<T> qkv = Tensor<T>::uninitialized({batch, tokens, 3 * dim});
    Tensor<T> heads = Tensor<T>::uninitialized({batch, tokens, dim});
    Tensor<T> hidden = Tensor<T>::uninitialized({rows, config_.mlp_dim});
    const nn::BlockScratch<T> scratch{normed, qkv, heads, hidden};
    for (const nn::Block<T>& block : blocks_) {
      TensorView<T> probabilities;
      if (options.attentions) {
        result.attentions.push_back(Tensor<T>::uninitialized({batch, config_.num_heads, tokens, tokens}));
        probabilities = result.attentions.back();
      }
      block.forward(context, x, scratch, probabilities);
    }

    // Pooling: one feature row per image (plus the distillation token's row for distilled heads).
    const bool distilled = config_.has_distillation_head();
    Tensor<T> pooled = Tensor<T>::uninitialized({batch, dim});
    Tensor<T> pooled_dist = Tensor<T>::uninitialized({distilled ? batch : 0, dim});
    if (config_.pooling == Pooling::Mean) {
      if (!config_.fc_norm) final_norm_.forward(context, x.view().reshape({rows, dim}), x.view().reshape({rows, dim}));
      mean_patch_tokens(x, prefix, pooled);
      if (config_.fc_norm) final_norm_.forward(context, pooled, pooled);
    } else {
      for (std::int64_t image = 0; image < batch; ++image) {
        std::copy_n(x.data() + image * tokens * dim, dim, pooled.data() + image * dim);
        if (distilled) std::copy_n(x.data() + (image * tokens + 1) * dim, dim, pooled_dist.data() + image * dim);
      }
      final_norm_.forward(context, pooled, pooled);
      if (distilled) final_norm_.forward(context, pooled_dist, pooled_dist);
    }

    if (config_.num_classes > 0) {
      result.logits = Tensor<T>::uninitialized({batch, config_.num_classes});
      head_.forward(context, pooled, result.logits);
      if (distilled) {
        // DeiT at inference: the mean of the class-token head and the distillation-token head.
        Tensor<T> logits_dist = Tensor<T>::uninitialized({batch, config_.num_classes});
        head_dist_.forward(context, pooled_dist, logits_dist);
        for (std::int64_t i = 0; i < result.logits.numel(); ++i)
          result.logits[i] = (result.logits[i] + logits_dist[i]) * 0.5f;
      }
    }
    if (options.features) result.features = std::move(pooled);
    return result;
  }

 private:
  // pooled[b] = mean of x[b, prefix:, :].
  static void mean_patch_tokens(const Tensor<T>& x, std::int64_t prefix, Tensor<T>& pooled) {
    const std::int64_t batch = x.size(0), tokens = x.size(1), dim = x.size(2);
    for (std::int64_t image = 0; image < batch; ++image) {
      T* out = pooled.data() + image * dim;
      std::fill_n(out, dim, T{});
      for (std::int64_t token = prefix; token < tokens; ++token)
        for (std::int64_t i = 0; i < dim; ++i) out[i] += x[(image * tokens + token) * dim + i];
      for (std::int64_t i = 0; i < dim; ++i) out[i] /= T(tokens - prefix);
    }
  }

  // Copies every expected tensor into one arena and records a view per canonical name.
  void load_weights(const SafetensorsFile& file) {
    std::map<std::string, detail::WeightSource> sources = detail::canonical_weights(file, naming_);
    const std::vector<ExpectedWeight> expected = expected_weights(config_);
    const auto hint = [&] {
      return detail::concat(" (config '", config_.name, "', ", naming_name(naming_), " naming)");
    };

    std::int64_t total = 0;
    for (const ExpectedWeight& weight : expected) {
      auto found = sources.find(weight.name);
      VIT_CHECK(found != sources.end(), file.source(), ": missing tensor '", weight.name, "'", hint());
      for (const SafetensorsEntry* part : found->second.parts)
        VIT_CHECK(part->float_dtype().has_value(), file.source(), ": tensor '", part->name, "' has dtype ", part->dtype,
                  "; weights must be F32, F16 or BF16");
      const Shape actual = detail::source_shape(found->second);
      VIT_CHECK(actual == weight.shape, file.source(), ": tensor '", found->second.parts[0]->name, "' has shape ",
                found->second.parts.size() > 1 ? detail::concat(found->second.parts[0]->shape, " per part, stacked ")
                                               : std::string(),
                actual, ", expected ", weight.shape, hint());
      total += weight.shape.numel();
    }
    std::set<std::string> expected_names;
    for (const ExpectedWeight& weight : expected) expected_names.insert(weight.name);
    for (const auto& [name, source] : sources)
      VIT_CHECK(expected_names.count(name), file.source(), ": unexpected tensor '", source.parts[0]->name, "'", hint());

    arena_ = Tensor<T>::uninitialized({total});
    std::vector<float> staging;
    T* cursor = arena_.data();
    for (const ExpectedWeight& weight : expected) {
      T* start = cursor;
      for (const SafetensorsEntry* part : sources.at(weight.name).parts) {
        const std::int64_t count = part->shape.numel();
        if constexpr (std::is_same_v<T, float>) {
          file.read_float_into(*part, cursor);
        } else {
          staging.resize(std::size_t(count));
          file.read_float_into(*part, staging.data());
          std::transform(staging.begin(), staging.end(), cursor, [](float value) { return from_float<T>(value); });
        }
        cursor += count;
      }
      weights_.emplace(weight.name, TensorView<const T>(start, weight.shape));
    }
  }

  void bind_layers() {
    const std::int64_t dim = config_.embed_dim, patch = config_.patch_size;
    const auto linear = [&](const std::string& stem, bool bias = true) {
      return nn::Linear<T>{weight(stem + ".weight"), bias ? weight(stem + ".bias") : TensorView<const T>()};
    };
    const auto norm = [&](const std::string& stem) {
      return nn::LayerNorm<T>{weight(stem + ".weight"), weight(stem + ".bias"), config_.layer_norm_eps};
    };
    patch_embed_.proj = {weight("patch_embed.proj.weight").reshape({dim, config_.in_channels * patch * patch}),
                         weight("patch_embed.proj.bias")};
    patch_embed_.patch_size = config_.patch_size;
    patch_embed_.in_channels = config_.in_channels;
    pos_embed_.table = weight("pos_embed").reshape({config_.num_tokens(), dim});
    pos_embed_.prefix_tokens = config_.num_prefix_tokens();
    pos_embed_.grid_size = config_.grid_size();
    pos_embed_.antialias = config_.pos_embed_resampling == PosEmbedResampling::BicubicAntialias;

    prefix_storage_ = Tensor<T>({config_.num_prefix_tokens(), dim});
    if (config_.class_token) std::copy_n(weight("cls_token").data(), dim, prefix_storage_.data());
    if (config_.distillation_token) std::copy_n(weight("dist_token").data(), dim, prefix_storage_.data() + dim);
    prefix_tokens_ = prefix_storage_.view();

    blocks_.clear();
    for (int i = 0; i < config_.depth; ++i) {
      const std::string stem = detail::concat("blocks.", i, ".");
      nn::Block<T> block;
      block.norm1 = norm(stem + "norm1");
      block.attn = {linear(stem + "attn.qkv", config_.qkv_bias), linear(stem + "attn.proj"), config_.num_heads};
      block.norm2 = norm(stem + "norm2");
      block.mlp = {linear(stem + "mlp.fc1"), linear(stem + "mlp.fc2")};
      blocks_.push_back(block);
    }
    final_norm_ = norm(config_.fc_norm ? "fc_norm" : "norm");
    if (config_.num_classes > 0) head_ = linear("head");
    if (config_.has_distillation_head()) head_dist_ = linear("head_dist");
  }

  ViTConfig config_;
  CheckpointNaming naming_;
  Tensor<T> arena_;                                     // every weight, contiguous
  std::map<std::string, TensorView<const T>> weights_;  // canonical name → view into arena_
  Tensor<T> prefix_storage_;                            // [K, D]: class (and distillation) token
  TensorView<const T> prefix_tokens_;
  nn::PatchEmbedding<T> patch_embed_;
  nn::PositionEmbedding<T> pos_embed_;
  std::vector<nn::Block<T>> blocks_;
  nn::LayerNorm<T> final_norm_;  // "norm" before pooling, or timm's "fc_norm" after mean pooling
  nn::Linear<T> head_;
  nn::Linear<T> head_dist_;
};

using Model = VisionTransformer<float>;

// Loads a checkpoint with `config` (from a preset, an HF config.json or built by hand), strictly.
inline Model load_model(const SafetensorsFile& file, const ViTConfig& config) {
  return Model(file, config, detail::detect_naming(file));
}

// Loads a checkpoint whose architecture is read off its tensor shapes (see detail::infer_config).
inline Model load_model(const SafetensorsFile& file) {
  const CheckpointNaming naming = detail::detect_naming(file);
  return Model(file, detail::infer_config(detail::canonical_weights(file, naming), naming, file.source()), naming);
}

inline Model load_model(const std::string& path, const ViTConfig& config) {
  return load_model(SafetensorsFile::open(path), config);
}

// Loads a checkpoint file and works out its architecture: from the Hugging Face config.json beside it
// when the file uses HF naming and one is there, otherwise from the tensor shapes.
inline Model load_model(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const std::filesystem::path config_path = std::filesystem::path(path).parent_path() / "config.json";
  if (detail::detect_naming(file) == CheckpointNaming::HuggingFace && std::filesystem::exists(config_path))
    return load_model(file, load_hf_config(config_path.string()));
  return load_model(file);
}

}  // namespace vit
