// Explanations: attention maps and their gradients turned into per-patch relevance maps, one call for every
// method (explain.hpp), faithfulness by perturbation, and rendering.
#pragma once

#include "vit/explain/attention_gradcam.hpp"
#include "vit/explain/attention_maps.hpp"
#include "vit/explain/attention_rollout.hpp"
#include "vit/explain/colormap.hpp"
#include "vit/explain/explain.hpp"
#include "vit/explain/generic_attention.hpp"
#include "vit/explain/grad_rollout.hpp"
#include "vit/explain/heatmap.hpp"
#include "vit/explain/raw_attention.hpp"
#include "vit/explain/transformer_attribution.hpp"
