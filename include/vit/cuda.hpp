// The CUDA backend (link vit::cuda): CudaModel, the device runtime and the kernel launchers.
// Not part of vit/vit.hpp, which stays usable without CUDA.
#pragma once

#include "vit/cuda/cuda_model.hpp"
#include "vit/cuda/launch.hpp"
#include "vit/cuda/runtime.hpp"
#include "vit/cuda/workspace.hpp"
