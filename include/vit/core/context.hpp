// Context: where and how work runs — device and CPU thread count. Passed explicitly to every
// forward call so that the library keeps no mutable global state.
#pragma once

#include <algorithm>
#include <thread>

#include "vit/core/dtype.hpp"

namespace vit {

struct Context {
  Device device = Device::CPU;
  // CPU threads used by GEMMs, attention and elementwise passes; defaults to all hardware threads.
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
};

}  // namespace vit
