// Deterministic random tensors and a small test architecture, shared by the tests and the benchmarks
// (bench/ includes this file too, so it must not depend on Catch2).
#pragma once

#include <cstdint>
#include <random>
#include <vit/core.hpp>
#include <vit/model/config.hpp>

namespace vit::test {

// Values ~N(0, scale²) from a fixed seed.
inline Tensor<float> random_tensor(Shape shape, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  Tensor<float> tensor = Tensor<float>::uninitialized(shape);
  for (std::int64_t i = 0; i < tensor.numel(); ++i) tensor[i] = normal(generator);
  return tensor;
}

// A two-block ViT small enough that a forward pass takes well under a millisecond.
inline ViTConfig small_config() {
  ViTConfig config;
  config.name = "small test model";
  config.image_size = 32;
  config.patch_size = 8;
  config.embed_dim = 48;
  config.depth = 2;
  config.num_heads = 3;
  config.mlp_dim = 96;
  config.num_classes = 5;
  return config;
}

}  // namespace vit::test
