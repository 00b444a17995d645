// Input/output: safetensors checkpoints, images, preprocessing.
#pragma once

#include "vit/io/image.hpp"
#include "vit/io/image_write.hpp"
#include "vit/io/npy.hpp"
#include "vit/io/pil_resize.hpp"
#include "vit/io/preprocess.hpp"
#include "vit/io/safetensors.hpp"
