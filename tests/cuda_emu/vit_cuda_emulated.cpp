// vit::cuda for the emulated device: the one CUDA translation unit of the library (kernels/vit_cuda.cu: the
// runtime glue, the launchers and through them every kernel), compiled unchanged by the host compiler after
// the emulator's device header. Linked with the emulator instead of libcudart and cuBLAS.
#include "emulator/device.hpp"  // first: it must define __shared__ before the CUDA headers are read
//
#include "kernels/vit_cuda.cu"
