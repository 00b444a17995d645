// Input/output: safetensors checkpoints (read, and written atomically), images, preprocessing.
#pragma once

#include "vit/io/exif_orientation.hpp"
#include "vit/io/find_images.hpp"
#include "vit/io/image.hpp"
#include "vit/io/image_write.hpp"
#include "vit/io/npy.hpp"
#include "vit/io/pil_resize.hpp"
#include "vit/io/preprocess.hpp"
#include "vit/io/safetensors.hpp"
#include "vit/io/safetensors_write.hpp"
