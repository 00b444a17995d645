// The one CUDA translation unit: the CUDA runtime glue and the kernel launchers (and through them every
// kernel in kernels/), compiled once into the static library vit::cuda. Everything else that uses the
// backend (vit/cuda/cuda_model.hpp, the tools, the tests) is host C++ against the .hpp declarations.
#include "vit/cuda/launch.cuh"
#include "vit/cuda/runtime.cuh"
