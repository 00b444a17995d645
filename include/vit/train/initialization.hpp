// A new model, initialised as timm initialises one (VisionTransformer.init_weights, mode '', and
// VisionTransformerDistilled for DeiT), so that training from scratch starts where timm's would:
//   Linear weights (attn.qkv, attn.proj, mlp.fc1, mlp.fc2, head, head_dist): normal, std 0.02, truncated at ±2
//     (timm's trunc_normal_(std=.02) bounds absolute values at a=-2, b=2); Linear biases: 0;
//   patch_embed.proj (a Conv2d, which timm leaves at PyTorch's default, kaiming_uniform_(a=√5)): weight and bias
//     uniform in ±1/√fan_in, fan_in = C·P·P;
//   pos_embed: truncated normal, std 0.02; cls_token: normal, std 1e-6; dist_token: truncated normal, std 0.02;
//   LayerNorm: weight 1, bias 0.
// The draws are ours (train/random.hpp), not PyTorch's: the same seed gives the same model on every machine
// and thread count, not the same numbers as torch.manual_seed. Each weight draws from its own stream
// (initialization_stream, by its index in expected_weights), so its values do not depend on the shapes before it.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "vit/core/tensor.hpp"
#include "vit/model/checkpoint.hpp"
#include "vit/model/config.hpp"
#include "vit/model/vision_transformer.hpp"
#include "vit/train/random.hpp"

namespace vit::train {

namespace detail {

inline bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Fills one weight (canonical name, shape) as timm initialises it, from generator `random`. patch_fan_in is
// C·P·P, the fan-in of the patch embedding's Conv2d (its bias uses the weight's bound, as PyTorch's does).
inline void initialize_weight(const std::string& name, const Shape& shape, double patch_fan_in, float* values,
                              SplitMix64& random) {
  const std::int64_t count = shape.numel();
  const auto fill = [&](auto draw) {
    for (std::int64_t i = 0; i < count; ++i) values[i] = float(draw());
  };
  const auto truncated = [&] { return random.truncated_normal(0.02, -2.0, 2.0); };
  if (name == "patch_embed.proj.weight" || name == "patch_embed.proj.bias") {
    const double bound = 1.0 / std::sqrt(patch_fan_in);  // kaiming_uniform_(a=√5): gain √(1/3) · √(3/fan_in)
    fill([&] { return (2.0 * random.uniform() - 1.0) * bound; });
  } else if (name == "cls_token") {
    fill([&] { return 1e-6 * random.normal(); });
  } else if (name == "pos_embed" || name == "dist_token") {
    fill(truncated);
  } else if (ends_with(name, "norm1.weight") || ends_with(name, "norm2.weight") || name == "norm.weight" ||
             name == "fc_norm.weight") {
    fill([] { return 1.0; });
  } else if (ends_with(name, ".bias")) {
    fill([] { return 0.0; });  // LayerNorm and Linear biases
  } else if (ends_with(name, ".weight")) {
    fill(truncated);  // the Linear layers
  } else {
    VIT_CHECK(false, "initialize_weight: no initialisation rule for '", name, "'");
  }
}

}  // namespace detail

// The parameters of a new model of `config`, initialised as timm does (see the top of this file), as one
// arena in the order of expected_weights(config): the layout VisionTransformer(config, arena) takes.
inline Tensor<float> initialize_parameters(const ViTConfig& config, std::uint64_t seed) {
  config.validate();
  const std::vector<ExpectedWeight> weights = expected_weights(config);
  std::int64_t total = 0;
  for (const ExpectedWeight& weight : weights) total += weight.shape.numel();
  Tensor<float> arena = Tensor<float>::uninitialized({total});
  float* cursor = arena.data();
  const double patch_fan_in = double(config.in_channels) * config.patch_size * config.patch_size;
  for (std::size_t index = 0; index < weights.size(); ++index) {
    const ExpectedWeight& weight = weights[index];
    SplitMix64 random = initialization_stream(seed, index);
    detail::initialize_weight(weight.name, weight.shape, patch_fan_in, cursor, random);
    cursor += weight.shape.numel();
  }
  return arena;
}

// A new model of `config` with timm's initialisation, reproducible from `seed`.
inline Model new_model(const ViTConfig& config, std::uint64_t seed) {
  return Model(config, initialize_parameters(config, seed));
}

}  // namespace vit::train
