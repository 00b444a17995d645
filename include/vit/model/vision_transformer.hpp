// VisionTransformer: a ViT/DeiT model with its weights, loaded strictly from a checkpoint, its batched
// forward pass with attention maps and features as optional outputs, and its backward pass (from the
// activation cache a forward keeps when asked; see model/backward.hpp).
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
#include "vit/model/backward.hpp"
#include "vit/model/checkpoint.hpp"
#include "vit/model/config.hpp"
#include "vit/model/forward.hpp"
#include "vit/model/hf_config.hpp"
#include "vit/model/timm_config.hpp"
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

  // A model with the given parameters: one arena holding every weight of `config` in the order of
  // expected_weights(config), each with its own shape, contiguous (as parameters() exposes it). This is
  // how a model is made without a checkpoint (train/initialization.hpp) or with a replaced head.
  VisionTransformer(const ViTConfig& config, Tensor<T> parameters, CheckpointNaming naming = CheckpointNaming::Timm)
      : config_(config), naming_(naming) {
    config_.validate();
    std::int64_t total = 0;
    for (const ExpectedWeight& weight : expected_weights(config_)) total += weight.shape.numel();
    VIT_CHECK(parameters.rank() == 1 && parameters.numel() == total, "VisionTransformer: config '", config_.name,
              "' has ", total, " parameters, got an arena of shape ", parameters.shape());
    arena_ = std::move(parameters);
    index_weights();
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

  // Every parameter in one contiguous arena, in the order of expected_weights(config()); weight(name) views
  // into it. Writing through the mutable view changes the model (the optimizer updates it in place): every
  // layer reads its weights from the arena.
  TensorView<T> parameters() { return arena_.view(); }
  TensorView<const T> parameters() const { return arena_.view(); }

  // Where weight `name` starts in parameters().
  std::int64_t parameter_offset(const std::string& name) const { return weight(name).data() - arena_.data(); }

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
    ActivationCache& cache = result.cache;
    const bool caching = options.cache;
    VIT_CHECK(!caching || (std::is_same_v<T, float>), "VisionTransformer::forward: the activation cache is float");
    Tensor<T> x = Tensor<T>::uninitialized({batch, tokens, dim});  // the residual stream
    {
      Tensor<T> unfolded = Tensor<T>::uninitialized({batch * patches, config_.in_channels * patch * patch});
      Tensor<T> patch_tokens = Tensor<T>::uninitialized({batch, patches, dim});
      patch_embed_.forward(context, images, unfolded, patch_tokens);
      const Tensor<float> position = pos_embed_.for_grid(grid_h, grid_w);
      cpu::assemble_tokens(context, patch_tokens, prefix_tokens_, position, x);
      if constexpr (std::is_same_v<T, float>)
        if (caching) {
          cache.grid_h = grid_h;
          cache.grid_w = grid_w;
          cache.patches = std::move(unfolded);
        }
    }

    if (caching) {
      if constexpr (std::is_same_v<T, float>) {
        cache.blocks.resize(blocks_.size());
        for (std::size_t l = 0; l < blocks_.size(); ++l) {
          blocks_[l].forward(context, x, cache.blocks[l]);
          if (options.attentions) result.attentions.push_back(cache.blocks[l].attention.clone());
        }
        cache.output = x.clone();
      }
    } else {
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
    }

    // Pooling: one feature row per image (plus the distillation token's row for distilled heads).
    const bool distilled = config_.has_distillation_head();
    Tensor<T> pooled = Tensor<T>::uninitialized({batch, dim});
    Tensor<T> pooled_dist = Tensor<T>::uninitialized({distilled ? batch : 0, dim});
    if (config_.pooling == Pooling::Mean) {
      if (!config_.fc_norm) final_norm_.forward(context, x.view().reshape({rows, dim}), x.view().reshape({rows, dim}));
      mean_patch_tokens(x, prefix, pooled);
      if constexpr (std::is_same_v<T, float>)
        if (caching && config_.fc_norm) cache.pooled = pooled.clone();
      if (config_.fc_norm) final_norm_.forward(context, pooled, pooled);
    } else {
      for (std::int64_t image = 0; image < batch; ++image) {
        std::copy_n(x.data() + image * tokens * dim, dim, pooled.data() + image * dim);
        if (distilled) std::copy_n(x.data() + (image * tokens + 1) * dim, dim, pooled_dist.data() + image * dim);
      }
      if constexpr (std::is_same_v<T, float>)
        if (caching) {
          cache.pooled = pooled.clone();
          if (distilled) cache.pooled_dist = pooled_dist.clone();
        }
      final_norm_.forward(context, pooled, pooled);
      if (distilled) final_norm_.forward(context, pooled_dist, pooled_dist);
    }
    if constexpr (std::is_same_v<T, float>)
      if (caching) {
        cache.features = pooled.clone();
        if (distilled) cache.features_dist = pooled_dist.clone();
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

  // The backward pass of a loss L from the activations a forward kept (ForwardOptions::cache) and
  // d_logits = ∂L/∂logits: [B, num_classes]. The blocks are walked in reverse; each op's backward sits beside
  // its forward in cpu/. Parameter gradients (options.parameters) come under canonical names, shaped as the
  // weights; options.attentions and options.scores add ∂L/∂A and ∂L/∂S of every layer.
  BackwardResult<T> backward(const ActivationCache& cache, TensorView<const T> d_logits,
                             const BackwardOptions& options = {}, const Context& context = {}) const {
    nn::detail::require_cpu_float<T>(context, "VisionTransformer::backward");
    VIT_CHECK(!cache.empty(),
              "backward: the activation cache is empty (run forward with ForwardOptions::cache = true)");
    VIT_CHECK(config_.num_classes > 0,
              "backward: the model has no classification head, so there are no logits to take the gradient of");
    const std::int64_t batch = cache.batch(), tokens = cache.output.size(1), dim = config_.embed_dim;
    const std::int64_t prefix = config_.num_prefix_tokens(), patches = tokens - prefix, rows = batch * tokens;
    VIT_CHECK(
        cache.blocks.size() == blocks_.size() && cache.output.size(2) == dim && patches == cache.grid_h * cache.grid_w,
        "backward: the activation cache does not come from this model (", cache.blocks.size(), " blocks, shape ",
        cache.output.shape(), "; the model has ", blocks_.size(), " blocks of width ", dim, ")");
    d_logits.expect_shape({batch, config_.num_classes}, "backward: d_logits");
    const std::size_t first_block = std::size_t(options.first_block);
    VIT_CHECK(options.first_block >= 0 && options.first_block <= config_.depth, "backward: first_block ",
              options.first_block, " is not a block of a ", config_.depth, "-block model");
    VIT_CHECK(first_block == 0 || (!options.images && !options.attentions && !options.scores),
              "backward: first_block > 0 gives parameter gradients only (images, attentions and scores need them all)");

    BackwardResult<T> result;
    if (options.parameters) result.parameters = zero_parameter_gradients();
    const auto grad = [&](const std::string& name) {
      return options.parameters ? result.parameters.at(name) : TensorView<float>();
    };
    const auto linear_grads = [&](const std::string& stem) {
      return nn::LinearGradients{grad(stem + ".weight"), grad(stem + ".bias")};
    };
    const auto norm_grads = [&](const std::string& stem) {
      return nn::LayerNormGradients{grad(stem + ".weight"), grad(stem + ".bias")};
    };

    // Heads: logits = head(features), or the mean of both heads for distilled DeiT.
    const bool distilled = config_.has_distillation_head();
    Tensor<T> d_features({batch, dim}), d_features_dist({distilled ? batch : 0, dim});
    if (distilled) {
      Tensor<T> half = Tensor<T>::uninitialized(d_logits.shape());
      for (std::int64_t i = 0; i < half.numel(); ++i) half[i] = d_logits[i] * 0.5f;
      head_.backward(context, cache.features, half, d_features, linear_grads("head"));
      head_dist_.backward(context, cache.features_dist, half, d_features_dist, linear_grads("head_dist"));
    } else {
      head_.backward(context, cache.features, d_logits, d_features, linear_grads("head"));
    }

    // Pooling and the final norm, into dx = ∂L/∂(the last block's output).
    Tensor<T> dx({batch, tokens, dim});
    const nn::LayerNormGradients final_norm_grads = norm_grads(config_.fc_norm ? "fc_norm" : "norm");
    const auto scatter_rows = [&](const Tensor<T>& d_rows, std::int64_t token) {
      for (std::int64_t image = 0; image < batch; ++image)
        std::copy_n(d_rows.data() + image * dim, dim, dx.data() + (image * tokens + token) * dim);
    };
    if (config_.pooling == Pooling::Mean) {
      // pooled = mean of the patch tokens (of the normed stream without fc_norm): each gets 1/P of d_pooled.
      Tensor<T> d_pooled({batch, dim});
      if (config_.fc_norm)
        final_norm_.backward(context, cache.pooled, d_features, d_pooled, final_norm_grads);
      else
        std::copy_n(d_features.data(), d_features.numel(), d_pooled.data());
      Tensor<T> d_tokens({batch, tokens, dim});
      for (std::int64_t image = 0; image < batch; ++image)
        for (std::int64_t token = prefix; token < tokens; ++token)
          for (std::int64_t i = 0; i < dim; ++i)
            d_tokens[(image * tokens + token) * dim + i] = d_pooled[image * dim + i] / T(patches);
      if (config_.fc_norm)
        std::copy_n(d_tokens.data(), d_tokens.numel(), dx.data());
      else
        final_norm_.backward(context, cache.output.view().reshape({rows, dim}), d_tokens.view().reshape({rows, dim}),
                             dx.view().reshape({rows, dim}), final_norm_grads);
    } else {
      Tensor<T> d_pooled({batch, dim});
      final_norm_.backward(context, cache.pooled, d_features, d_pooled, final_norm_grads);
      scatter_rows(d_pooled, 0);
      if (distilled) {
        final_norm_.backward(context, cache.pooled_dist, d_features_dist, d_pooled, final_norm_grads);
        scatter_rows(d_pooled, 1);
      }
    }

    // The blocks, last first.
    const std::int64_t heads = config_.num_heads;
    Tensor<T> d_normed = Tensor<T>::uninitialized({batch, tokens, dim});
    Tensor<T> d_qkv = Tensor<T>::uninitialized({batch, tokens, 3 * dim});
    Tensor<T> d_heads = Tensor<T>::uninitialized({batch, tokens, dim});
    Tensor<T> d_hidden = Tensor<T>::uninitialized({rows, config_.mlp_dim});
    const nn::BlockGradientScratch<T> scratch{d_normed, d_qkv, d_heads, d_hidden};
    for (std::size_t l = 0; l < blocks_.size(); ++l) {
      if (options.attentions) result.attentions.push_back(Tensor<T>::uninitialized({batch, heads, tokens, tokens}));
      if (options.scores) result.scores.push_back(Tensor<T>::uninitialized({batch, heads, tokens, tokens}));
    }
    for (std::size_t l = blocks_.size(); l-- > first_block;) {
      const std::string stem = detail::concat("blocks.", l, ".");
      const nn::BlockGradients block_grads{norm_grads(stem + "norm1"),
                                           {linear_grads(stem + "attn.qkv"), linear_grads(stem + "attn.proj")},
                                           norm_grads(stem + "norm2"),
                                           {linear_grads(stem + "mlp.fc1"), linear_grads(stem + "mlp.fc2")}};
      blocks_[l].backward(context, cache.blocks[l], dx, block_grads, scratch,
                          options.attentions ? result.attentions[l].view() : TensorView<T>(),
                          options.scores ? result.scores[l].view() : TensorView<T>(),
                          l > first_block || options.images || options.parameters);
    }
    if ((!options.images && !options.parameters) || first_block > 0) return result;

    // Token assembly: prefix tokens, positional embedding, patch tokens.
    Tensor<T> d_patch_tokens = Tensor<T>::uninitialized({batch, patches, dim});
    Tensor<T> d_prefix({prefix, dim}), d_position({tokens, dim});
    cpu::assemble_tokens_backward(context, dx, d_patch_tokens, d_prefix, d_position);
    if (options.parameters) {
      if (config_.class_token) add_to(d_prefix.data(), dim, grad("cls_token"));
      if (config_.distillation_token) add_to(d_prefix.data() + dim, dim, grad("dist_token"));
      pos_embed_.backward(d_position, cache.grid_h, cache.grid_w,
                          grad("pos_embed").reshape({config_.num_tokens(), dim}));
    }

    // Patch embedding, and the images.
    const std::int64_t patch = config_.patch_size;
    if (options.images)
      result.images =
          Tensor<T>::uninitialized({batch, config_.in_channels, cache.grid_h * patch, cache.grid_w * patch});
    Tensor<T> d_patches = Tensor<T>::uninitialized(options.images ? cache.patches.shape() : Shape{0});
    nn::LinearGradients patch_grads;
    if (options.parameters)
      patch_grads = {grad("patch_embed.proj.weight").reshape({dim, config_.in_channels * patch * patch}),
                     grad("patch_embed.proj.bias")};
    patch_embed_.backward(context, cache.patches, d_patch_tokens, result.images, d_patches, patch_grads);
    return result;
  }

 private:
  static void add_to(const float* from, std::int64_t count, TensorView<float> to) {
    for (std::int64_t i = 0; i < count; ++i) to[i] += from[i];
  }

  // Zeros laid out like arena_, viewed by the weights' names and shapes.
  ParameterGradients zero_parameter_gradients() const {
    ParameterGradients gradients;
    gradients.arena = Tensor<float>({arena_.numel()});
    for (const auto& [name, view] : weights_)
      gradients.by_name.emplace(
          name, TensorView<float>(gradients.arena.data() + (view.data() - arena_.data()), view.shape()));
    return gradients;
  }

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
    }
    index_weights();
  }

  // Records a view per canonical name into arena_, laid out in the order of expected_weights(config_).
  void index_weights() {
    weights_.clear();
    const T* cursor = arena_.data();
    for (const ExpectedWeight& weight : expected_weights(config_)) {
      weights_.emplace(weight.name, TensorView<const T>(cursor, weight.shape));
      cursor += weight.shape.numel();
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

    // The class and distillation tokens are the first weights of the arena, one after the other: [K, D].
    prefix_tokens_ = TensorView<const T>(arena_.data(), {config_.num_prefix_tokens(), dim});
    if (config_.num_prefix_tokens() > 0)
      VIT_CHECK(weight(config_.class_token ? "cls_token" : "dist_token").data() == arena_.data(),
                "VisionTransformer: the prefix tokens must start the parameter arena");

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

// path: a .safetensors file, or a checkpoint folder holding model.safetensors.
inline Model load_model(const std::string& path, const ViTConfig& config) {
  return load_model(SafetensorsFile::open(checkpoint_weights_file(path).string()), config);
}

// Loads a checkpoint (a .safetensors file, or a folder holding model.safetensors) and works out its
// architecture: from the config.json beside the weights when there is one that fits their naming (Hugging
// Face's for HF names; timm's, as timm's save_for_hf and vit::train::save_checkpoint write it, for timm
// names), otherwise from the tensor shapes.
inline Model load_model(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(checkpoint_weights_file(path).string());
  const std::filesystem::path config_path = checkpoint_folder(path) / "config.json";
  if (std::filesystem::exists(config_path)) {
    if (detail::detect_naming(file) == CheckpointNaming::HuggingFace)
      return load_model(file, load_hf_config(config_path.string()));
    const nlohmann::json json = detail::read_json_file(config_path.string());
    if (is_timm_config(json)) return load_model(file, config_from_timm_json(json, config_path.string()));
  }
  return load_model(file);
}

}  // namespace vit
