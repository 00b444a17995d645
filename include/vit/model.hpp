// Models: configuration and presets, checkpoint naming, the ViT/DeiT model and its loaders.
#pragma once

#include "vit/model/backward.hpp"
#include "vit/model/checkpoint.hpp"
#include "vit/model/classification.hpp"
#include "vit/model/config.hpp"
#include "vit/model/forward.hpp"
#include "vit/model/hf_config.hpp"
#include "vit/model/preprocessing.hpp"
#include "vit/model/timm_config.hpp"
#include "vit/model/vision_transformer.hpp"
