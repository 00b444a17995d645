// Helpers of the CUDA tests: skipping visibly without a device, and device copies of host tensors in an
// activation dtype (rounded on the host exactly as the device rounds, to nearest even).
#pragma once

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <vit/cuda.hpp>

#include "../support.hpp"
#include "../tolerances.hpp"

// Returns from the test case, passing, with a visible "SKIPPED: no CUDA device: WHY" warning when no CUDA device
// is usable. With VIT_REQUIRE_GPU=1 in the environment (tools/gpu_check.sh sets it) that is a failure instead, so
// a GPU host whose driver the runtime cannot use fails rather than passing by skipping.
#define VIT_REQUIRE_CUDA_DEVICE()                                                                     \
  do {                                                                                                \
    const std::string vit_device_status = ::vit::cuda::device_status();                               \
    if (!vit_device_status.empty()) {                                                                 \
      if (::vit::test::gpu_required())                                                                \
        FAIL("no CUDA device: " << vit_device_status << " (VIT_REQUIRE_GPU=1 makes this a failure)"); \
      WARN("SKIPPED: no CUDA device: " << vit_device_status);                                         \
      return;                                                                                         \
    }                                                                                                 \
  } while (false)

namespace vit::test {

// VIT_REQUIRE_GPU set (and not "0"): the CUDA tests must run, not skip.
inline bool gpu_required() {
  const char* value = std::getenv("VIT_REQUIRE_GPU");
  return value != nullptr && std::string(value) != "0";
}

// Whether these tests run on the CUDA emulator (tests/cuda_emu), which runs a kernel some 10^4 times slower
// than a GPU: the largest shapes are cut there, each test says which (the README lists them).
#if defined(VIT_CUDA_EMULATED_TESTS)
constexpr bool kEmulated = true;
#else
constexpr bool kEmulated = false;
#endif

inline double roundoff(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return 0.0;
    case DType::F16:
      return tolerance::cuda::kRoundoffF16;
    case DType::BF16:
      return tolerance::cuda::kRoundoffBF16;
  }
  return 1.0;
}

// The tolerance for outputs stored in `dtype`: the fp32 `bound` plus one rounding of the largest value.
inline double output_tolerance(DType dtype, double bound, TensorView<const float> expected) {
  double magnitude = 0;
  for (std::int64_t i = 0; i < expected.numel(); ++i) magnitude = std::max(magnitude, double(std::abs(expected[i])));
  return bound + roundoff(dtype) * magnitude;
}

// values rounded to `dtype` and back: what the device holds after an upload.
inline Tensor<float> rounded(TensorView<const float> values, DType dtype) {
  Tensor<float> out = Tensor<float>::uninitialized(values.shape());
  for (std::int64_t i = 0; i < values.numel(); ++i) {
    unsigned char bytes[4];
    store_as(dtype, values[i], bytes);
    out[i] = load_as(dtype, bytes);
  }
  return out;
}

// A device tensor of `dtype` elements, synchronised with the host on every upload and download (tests only).
class DeviceTensor {
 public:
  DeviceTensor(Shape shape, DType dtype) : shape_(shape), dtype_(dtype) {
    buffer_.reserve(std::max<std::size_t>(1, std::size_t(shape.numel()) * dtype_size(dtype)));
  }
  static DeviceTensor upload(TensorView<const float> values, DType dtype) {
    DeviceTensor tensor(values.shape(), dtype);
    std::vector<unsigned char> bytes(std::size_t(values.numel()) * dtype_size(dtype));
    for (std::int64_t i = 0; i < values.numel(); ++i)
      store_as(dtype, values[i], bytes.data() + std::size_t(i) * dtype_size(dtype));
    cuda::copy_to_device(tensor.data(), bytes.data(), bytes.size(), nullptr);
    cuda::synchronize(nullptr);
    return tensor;
  }
  Tensor<float> download() const {
    cuda::synchronize(nullptr);  // the kernels before ran on the default stream; surface their errors here
    std::vector<unsigned char> bytes(std::size_t(shape_.numel()) * dtype_size(dtype_));
    cuda::copy_to_host(bytes.data(), data(), bytes.size(), nullptr);
    cuda::synchronize(nullptr);
    Tensor<float> out = Tensor<float>::uninitialized(shape_);
    for (std::int64_t i = 0; i < out.numel(); ++i)
      out[i] = load_as(dtype_, bytes.data() + std::size_t(i) * dtype_size(dtype_));
    return out;
  }
  void* data() const { return buffer_.data(); }
  float* f32() const { return static_cast<float*>(buffer_.data()); }

 private:
  cuda::DeviceBuffer buffer_;
  Shape shape_;
  DType dtype_;
};

inline const char* dtype_label(DType dtype) {
  return dtype == DType::F32 ? "fp32" : dtype == DType::F16 ? "fp16" : "bf16";
}

}  // namespace vit::test
