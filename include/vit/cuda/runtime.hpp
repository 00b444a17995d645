// The CUDA runtime as the rest of vit sees it: device discovery, device memory, copies, the stream and
// cuBLAS, all behind plain C++ declarations (no CUDA headers), so that code using the CUDA backend
// compiles with the host compiler alone. Definitions: include/vit/cuda/runtime.cuh, compiled into vit::cuda.
//
// A `stream` is a cudaStream_t passed as void*; nullptr is the legacy default stream. Every failing CUDA
// or cuBLAS call throws vit::Error naming the call, the error and file:line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "vit/core/dtype.hpp"

namespace vit::cuda {

// Devices the CUDA runtime can see; 0 when there is none or no usable driver (never throws). device_status()
// says which: a driver too old for this runtime also reads as 0 devices here.
int device_count() noexcept;

// Empty when a device is usable; otherwise why not, with the CUDA error when there is one
// ("cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version") or
// "the CUDA runtime sees no device". Never throws.
std::string device_status() noexcept;

// A one-line description of the current device ("NVIDIA H200, compute capability 9.0, 139 GiB"), or
// throws vit::Error saying why there is no usable device.
std::string describe_device();

// Throws vit::Error ("no CUDA device: " + device_status()) unless a device is usable.
void require_device();

// The calling thread's current device (cudaGetDevice).
int current_device();

// Makes `device` the calling thread's current device until the scope ends, then restores the previous one.
class DeviceScope {
 public:
  explicit DeviceScope(int device);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_;
};

// Device memory that only grows: reserve() keeps the allocation when it is big enough (contents kept) and
// otherwise replaces it (contents lost). Freeing waits for the device (cudaFree), which happens only when
// a buffer grows or dies.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void reserve(std::size_t bytes);
  void* data() const { return data_; }
  std::size_t capacity() const { return capacity_; }

 private:
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

// Stream-ordered copies. From pageable host memory they return once the source has been read; to pageable
// host memory once the data has arrived (CUDA's rules), so the host buffers may be reused right after.
void copy_to_device(void* device, const void* host, std::size_t bytes, void* stream);
void copy_to_host(void* host, const void* device, std::size_t bytes, void* stream);
void synchronize(void* stream);

// A cuBLAS handle bound to one stream, for the linear layers.
class Blas {
 public:
  explicit Blas(void* stream);
  ~Blas();
  Blas(Blas&&) noexcept;
  Blas& operator=(Blas&&) noexcept;

  // y = x · wᵀ in fp32: x [M, K] and w [N, K] of `dtype` (row-major), y [M, N] fp32. Computed with fp32
  // accumulation (CUBLAS_COMPUTE_32F; no TF32 for fp32 inputs, so fp32 matches the CPU path).
  void linear(DType dtype, const void* x, const void* w, float* y, std::int64_t rows, std::int64_t out_features,
              std::int64_t in_features) const;

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
};

}  // namespace vit::cuda
