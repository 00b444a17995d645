// The pipelines: a checkpoint with its preprocessing, labels and device, from image files to classes
// (vit::Classifier) and to explanation maps (vit::Explainer).
#pragma once

#include "vit/pipeline/classifier.hpp"
#include "vit/pipeline/explainer.hpp"
