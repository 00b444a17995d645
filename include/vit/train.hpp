// Training, a layer above the model like explain/ (the model does not know it is trained; README.md,
// Training): the data pipeline (train/data.hpp: datasets, transforms, the threaded loader), new models with
// timm's initialisation, new heads for transfer learning, cross-entropy, AdamW and SGD over parameter groups
// (weight decay as timm, frozen parameters, per-group learning rates), the cosine schedule with warm-up,
// gradient clipping, one optimizer step on a batch, evaluation, and checkpoint folders timm and Hugging Face
// load.
#pragma once

#include "vit/train/adamw.hpp"
#include "vit/train/checkpoint.hpp"
#include "vit/train/clip_grad_norm.hpp"
#include "vit/train/cross_entropy.hpp"
#include "vit/train/data.hpp"
#include "vit/train/evaluate.hpp"
#include "vit/train/head_step.hpp"
#include "vit/train/initialization.hpp"
#include "vit/train/lr_schedule.hpp"
#include "vit/train/new_head.hpp"
#include "vit/train/optimizer.hpp"
#include "vit/train/parameter_groups.hpp"
#include "vit/train/random.hpp"
#include "vit/train/sgd.hpp"
#include "vit/train/train_step.hpp"
