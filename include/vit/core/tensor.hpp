// Tensor<T> owns dense row-major memory; TensorView<T> is a cheap, non-owning {pointer, shape, device}.
//
// Views are always dense and row-major: slicing keeps that (first-dimension slices and row ranges),
// which is all the model needs and keeps every kernel's indexing trivial. Inputs are passed as
// TensorView<const T>. Shapes are checked at API boundaries with expect_shape, never in inner loops.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>

#include "vit/core/dtype.hpp"
#include "vit/core/error.hpp"
#include "vit/core/shape.hpp"

namespace vit {

// Whether an op overwrites its output or adds to it (a fused residual add).
enum class Output { Overwrite, Accumulate };

template <typename T>
class TensorView {
 public:
  using value_type = T;

  TensorView() = default;
  TensorView(T* data, Shape shape, Device device = Device::CPU) : data_(data), shape_(shape), device_(device) {}

  // A view of non-const data converts to a view of const data.
  template <typename U, typename = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  TensorView(const TensorView<U>& other) : data_(other.data()), shape_(other.shape()), device_(other.device()) {}

  T* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  Device device() const { return device_; }
  int rank() const { return shape_.rank(); }
  std::int64_t size(int dim) const { return shape_[dim]; }
  std::int64_t numel() const { return shape_.numel(); }
  // True for a default-constructed view (no tensor at all, e.g. an absent bias) and for zero elements.
  bool empty() const { return data_ == nullptr || numel() == 0; }

  // Flat element access (host memory only).
  T& operator[](std::int64_t index) const { return data_[index]; }

  // Element `index` of the first dimension, as a view of rank - 1.
  TensorView slice(std::int64_t index) const {
    return TensorView(data_ + index * shape_.stride(0), shape_.drop_front(), device_);
  }

  // Rows [begin, end) of the first dimension.
  TensorView rows(std::int64_t begin, std::int64_t end) const {
    Shape shape = shape_;
    shape[0] = end - begin;
    return TensorView(data_ + begin * shape_.stride(0), shape, device_);
  }

  // The same elements under another shape with the same element count.
  TensorView reshape(Shape shape) const {
    VIT_CHECK(shape.numel() == numel(), "cannot reshape ", shape_, " to ", shape);
    return TensorView(data_, shape, device_);
  }

  // Throws vit::Error naming `what` when the shape differs from `expected`.
  void expect_shape(const Shape& expected, std::string_view what) const {
    VIT_CHECK(shape_ == expected, what, ": expected shape ", expected, ", got ", shape_);
  }

 private:
  T* data_ = nullptr;
  Shape shape_;
  Device device_ = Device::CPU;
};

namespace detail {

// 64-byte aligned host allocation: full cache lines and aligned SIMD loads for every tensor.
struct AlignedFree {
  void operator()(void* pointer) const { ::operator delete(pointer, std::align_val_t(64)); }
};

inline void* allocate_host(std::size_t bytes) { return ::operator new(std::max<std::size_t>(bytes, 1), std::align_val_t(64)); }

}  // namespace detail

template <typename T>
class Tensor {
 public:
  Tensor() = default;

  // Zero-initialised host tensor.
  explicit Tensor(Shape shape) : Tensor(uninitialized(shape)) { std::fill_n(data(), numel(), T{}); }

  // Host tensor whose contents are unspecified: for outputs that are about to be overwritten.
  static Tensor uninitialized(Shape shape) {
    Tensor tensor;
    tensor.shape_ = shape;
    tensor.storage_.reset(detail::allocate_host(sizeof(T) * std::size_t(shape.numel())));
    return tensor;
  }

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  Tensor clone() const {
    Tensor copy = uninitialized(shape_);
    std::copy_n(data(), numel(), copy.data());
    return copy;
  }

  T* data() { return static_cast<T*>(storage_.get()); }
  const T* data() const { return static_cast<const T*>(storage_.get()); }
  const Shape& shape() const { return shape_; }
  Device device() const { return Device::CPU; }
  int rank() const { return shape_.rank(); }
  std::int64_t size(int dim) const { return shape_[dim]; }
  std::int64_t numel() const { return shape_.numel(); }
  bool empty() const { return storage_ == nullptr || numel() == 0; }

  T& operator[](std::int64_t index) { return data()[index]; }
  const T& operator[](std::int64_t index) const { return data()[index]; }

  TensorView<T> view() { return TensorView<T>(data(), shape_, device()); }
  TensorView<const T> view() const { return TensorView<const T>(data(), shape_, device()); }
  operator TensorView<T>() { return view(); }
  operator TensorView<const T>() const { return view(); }

 private:
  std::unique_ptr<void, detail::AlignedFree> storage_;
  Shape shape_;
};

}  // namespace vit
