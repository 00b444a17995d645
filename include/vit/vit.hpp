// vit — Vision Transformers (ViT, DeiT) in header-only C++. The umbrella header.
#pragma once

#include "vit/core.hpp"
#include "vit/explain.hpp"
#include "vit/io.hpp"
#include "vit/model.hpp"
#include "vit/nn.hpp"
#include "vit/pipeline.hpp"
