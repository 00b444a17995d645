// The training data pipeline: datasets (IDX / Fashion-MNIST, image folders), per-sample transforms
// (evaluation preprocessing, RandomResizedCrop, RandomCrop, flip) and the threaded, reproducible loader.
#pragma once

#include "vit/train/data_loader.hpp"
#include "vit/train/dataset.hpp"
#include "vit/train/idx.hpp"
#include "vit/train/image_folder.hpp"
#include "vit/train/random.hpp"
#include "vit/train/transforms.hpp"
