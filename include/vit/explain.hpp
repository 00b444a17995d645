// Explanations built on the forward pass's attention maps.
#pragma once

#include "vit/explain/attention_rollout.hpp"
#include "vit/explain/colormap.hpp"
#include "vit/explain/heatmap.hpp"
