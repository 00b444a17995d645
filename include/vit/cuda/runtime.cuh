// Definitions of include/vit/cuda/runtime.hpp (compiled once, into vit::cuda, by kernels/vit_cuda.cu).
#pragma once

#include <string>
#include <utility>

#if !defined(VIT_CUDA_EMULATION)
#include <dlfcn.h>
#endif

#include "vit/cuda/check.cuh"
#include "vit/cuda/runtime.hpp"

namespace vit::cuda {

namespace detail {

#define VIT_CUBLAS_STRINGIFY_EXPANDED(name) VIT_CUBLAS_STRINGIFY(name)
#define VIT_CUBLAS_STRINGIFY(name) #name

#if defined(VIT_CUDA_EMULATION)
inline CublasLibrary load_cublas() {
  // The emulator defines the functions (tests/cuda_emu/emulator/cublas.cpp).
  return {&cublasCreate, &cublasDestroy, &cublasSetStream, &cublasSetMathMode, &cublasGemmEx, &cublasGetStatusName,
          &cublasGetStatusString};
}
#else
// The soname this build was compiled against; VIT_CUBLAS_LIBRARY_DIR (set by cmake/cuda.cmake) is where it was
// found, tried when the loader's own search (LD_LIBRARY_PATH, ld.so.cache) does not find it.
inline CublasLibrary load_cublas() {
  const std::string soname = "libcublas.so." VIT_CUBLAS_STRINGIFY_EXPANDED(CUBLAS_VER_MAJOR);
  void* library = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  std::string why = library == nullptr ? dlerror() : "";
#if defined(VIT_CUBLAS_LIBRARY_DIR)
  if (library == nullptr) {
    library = dlopen((std::string(VIT_CUBLAS_LIBRARY_DIR) + "/" + soname).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) why += std::string("; ") + dlerror();
  }
#endif
  VIT_CHECK(library != nullptr, "vit::cuda: cannot load cuBLAS (", soname, "), which the CUDA backend needs: ", why,
            ". Install the CUDA toolkit's cuBLAS or put its folder on LD_LIBRARY_PATH");
  // Never dlclose'd: the handles made from it live as long as their models, up to the program's end.
  const auto symbol = [&](const char* name) {
    void* address = dlsym(library, name);
    VIT_CHECK(address != nullptr, "vit::cuda: ", soname, " has no ", name, " (a cuBLAS older than the one this build ",
              "was compiled against?)");
    return address;
  };
  CublasLibrary functions;
#define VIT_CUBLAS_LOOK_UP(member, name) \
  functions.member = reinterpret_cast<decltype(functions.member)>(symbol(VIT_CUBLAS_STRINGIFY_EXPANDED(name)))
  VIT_CUBLAS_LOOK_UP(create, cublasCreate);
  VIT_CUBLAS_LOOK_UP(destroy, cublasDestroy);
  VIT_CUBLAS_LOOK_UP(set_stream, cublasSetStream);
  VIT_CUBLAS_LOOK_UP(set_math_mode, cublasSetMathMode);
  VIT_CUBLAS_LOOK_UP(gemm_ex, cublasGemmEx);
  VIT_CUBLAS_LOOK_UP(status_name, cublasGetStatusName);
  VIT_CUBLAS_LOOK_UP(status_string, cublasGetStatusString);
#undef VIT_CUBLAS_LOOK_UP
  return functions;
}
#endif

const CublasLibrary& cublas_library() {
  static const CublasLibrary library = load_cublas();  // a throw leaves it unset, to be tried again
  return library;
}

inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

inline cudaDataType_t cuda_type(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return CUDA_R_32F;
    case DType::F16:
      return CUDA_R_16F;
    case DType::BF16:
      return CUDA_R_16BF;
  }
  ::vit::detail::fail("unknown dtype");
}

}  // namespace detail

int device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the "no device / no driver" error
    return 0;
  }
  return count;
}

std::string device_status() noexcept {
  try {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      return ::vit::detail::concat(cudaGetErrorName(status), ": ", cudaGetErrorString(status));
    }
    return count > 0 ? std::string() : std::string("the CUDA runtime sees no device");
  } catch (...) {  // allocation failure building the text
    return "unknown";
  }
}

void require_device() {
  const std::string status = device_status();
  VIT_CHECK(status.empty(), "no CUDA device: ", status);
}

int current_device() {
  int device = 0;
  VIT_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

DeviceScope::DeviceScope(int device) : previous_(current_device()) {
  if (device != previous_) VIT_CUDA_CHECK(cudaSetDevice(device));
}

DeviceScope::~DeviceScope() {
  int device = previous_;
  if (cudaGetDevice(&device) == cudaSuccess && device != previous_)
    (void)cudaSetDevice(previous_);  // a destructor must not throw; the next CUDA call reports a failure
}

std::string describe_device() {
  require_device();
  int device = 0;
  VIT_CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp properties{};
  VIT_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  int driver = 0;
  VIT_CUDA_CHECK(cudaDriverGetVersion(&driver));
  return ::vit::detail::concat(properties.name, ", compute capability ", properties.major, ".", properties.minor, ", ",
                               properties.totalGlobalMem >> 30, " GiB, driver API ", driver / 1000, ".",
                               (driver % 1000) / 10);
}

DeviceBuffer::~DeviceBuffer() {
  if (data_ != nullptr) (void)cudaFree(data_);  // a destructor must not throw; nothing to do on failure
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(capacity_, other.capacity_);
  return *this;
}

void DeviceBuffer::reserve(std::size_t bytes) {
  if (bytes <= capacity_) return;
  if (data_ != nullptr) VIT_CUDA_CHECK(cudaFree(data_));
  data_ = nullptr;
  capacity_ = 0;
  VIT_CUDA_CHECK(cudaMalloc(&data_, bytes));
  capacity_ = bytes;
}

void copy_to_device(void* device, const void* host, std::size_t bytes, void* stream) {
  if (bytes == 0) return;
  VIT_CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, detail::as_stream(stream)));
}

void copy_to_host(void* host, const void* device, std::size_t bytes, void* stream) {
  if (bytes == 0) return;
  VIT_CUDA_CHECK(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, detail::as_stream(stream)));
}

void synchronize(void* stream) { VIT_CUDA_CHECK(cudaStreamSynchronize(detail::as_stream(stream))); }

struct Blas::Handle {
  cublasHandle_t blas = nullptr;
  ~Handle() {
    if (blas != nullptr) (void)detail::cublas_library().destroy(blas);
  }
};

Blas::Blas(void* stream) : handle_(std::make_unique<Handle>()) {
  const detail::CublasLibrary& cublas = detail::cublas_library();
  VIT_CUBLAS_CHECK(cublas.create(&handle_->blas));
  VIT_CUBLAS_CHECK(cublas.set_stream(handle_->blas, detail::as_stream(stream)));
  // Default math: tensor cores for fp16/bf16 inputs (fp32 accumulation, as CUBLAS_COMPUTE_32F requires),
  // and no TF32 for fp32 inputs (that needs CUBLAS_TF32_TENSOR_OP_MATH or CUBLAS_COMPUTE_32F_FAST_TF32).
  VIT_CUBLAS_CHECK(cublas.set_math_mode(handle_->blas, CUBLAS_DEFAULT_MATH));
}

Blas::~Blas() = default;
Blas::Blas(Blas&&) noexcept = default;
Blas& Blas::operator=(Blas&&) noexcept = default;

void Blas::linear(DType dtype, const void* x, const void* w, float* y, std::int64_t rows, std::int64_t out_features,
                  std::int64_t in_features) const {
  VIT_CHECK(rows > 0 && out_features > 0 && in_features > 0 && rows < (1ll << 31) && out_features < (1ll << 31) &&
                in_features < (1ll << 31),
            "Blas::linear: unsupported size [", rows, ", ", in_features, "] x [", out_features, ", ", in_features,
            "]ᵀ");
  // Row-major y [M, N] = x [M, K] · w [N, K]ᵀ is column-major yᵀ [N, M] = w (read as K×N, transposed) · xᵀ.
  const float alpha = 1.0f, beta = 0.0f;
  const int m = int(out_features), n = int(rows), k = int(in_features);
  const cudaDataType_t type = detail::cuda_type(dtype);
  VIT_CUBLAS_CHECK(detail::cublas_library().gemm_ex(handle_->blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w, type, k, x, type, k, &beta,
                                y, CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace vit::cuda
