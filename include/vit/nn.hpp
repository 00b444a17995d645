// Layers: patch embedding, positional embedding, LayerNorm, attention, MLP, transformer block.
#pragma once

#include "vit/nn/attention.hpp"
#include "vit/nn/block.hpp"
#include "vit/nn/layer_norm.hpp"
#include "vit/nn/linear.hpp"
#include "vit/nn/mlp.hpp"
#include "vit/nn/patch_embedding.hpp"
#include "vit/nn/position_embedding.hpp"
