// same_t<T>: T itself, in a form template argument deduction does not look through, so that
// reference::linear(x, w, b) called with Tensor<float> arguments takes the default T = float (and the
// Tensor → TensorView conversions apply), while reference::linear<double>(...) runs in double.
#pragma once

namespace vit::cpu::reference {

template <typename T>
struct same_type {
  using type = T;
};

template <typename T>
using same_t = typename same_type<T>::type;

}  // namespace vit::cpu::reference
