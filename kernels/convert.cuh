// Dtype conversion: out[i] = In → Out, through fp32, rounding to nearest even (as vit::from_float).
// Used for the pooled features before the classifier head and by the tests.
//
// Shapes: in, out [count]. Scheme: elementwise, grid-stride loop, 256 threads per block.
//
// Measured numbers: not yet measured on a GPU.
#pragma once

#include "kernels/common.cuh"

namespace vit::kernels {

template <typename In, typename Out>
__global__ void __launch_bounds__(256) convert_kernel(const In* in, Out* out, std::int64_t count) {
  for (std::int64_t i = grid_first(); i < count; i += grid_stride()) out[i] = from_f32<Out>(to_f32(in[i]));
}

}  // namespace vit::kernels
