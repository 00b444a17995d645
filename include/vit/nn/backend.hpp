// The one place layers decide where their math runs. The CPU backend computes in float; layers over
// Half/BFloat16 run on the CUDA backend (see the CUDA issue) and are rejected here with a clear error.
#pragma once

#include <string_view>
#include <type_traits>

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"

namespace vit::nn::detail {

template <typename T>
void require_cpu_float(const Context& context, std::string_view layer) {
  VIT_CHECK(context.device == Device::CPU, layer, ": the ", device_name(context.device),
            " backend is not available in this build");
  VIT_CHECK((std::is_same_v<T, float>), layer, ": the CPU backend computes in float, not ", dtype_name(dtype_of<T>()));
}

}  // namespace vit::nn::detail
