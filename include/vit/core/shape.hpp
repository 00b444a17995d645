// Shape: the extents of a dense, row-major tensor (at most 6 dimensions; ViT needs 4).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>

#include "vit/core/error.hpp"

namespace vit {

class Shape {
 public:
  static constexpr int kMaxRank = 6;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> extents) {
    VIT_CHECK(extents.size() <= kMaxRank, "shape of rank ", extents.size(), " exceeds the maximum ", kMaxRank);
    for (std::int64_t extent : extents) push_back(extent);
  }

  void push_back(std::int64_t extent) {
    VIT_CHECK(rank_ < kMaxRank, "shape rank exceeds the maximum ", kMaxRank);
    VIT_CHECK(extent >= 0, "negative extent ", extent, " in a shape");
    extents_[rank_++] = extent;
  }

  int rank() const { return rank_; }
  std::int64_t operator[](int dim) const { return extents_[dim]; }
  std::int64_t& operator[](int dim) { return extents_[dim]; }

  std::int64_t numel() const {
    std::int64_t count = 1;
    for (int d = 0; d < rank_; ++d) count *= extents_[d];
    return count;
  }

  // Extents of the dimensions after `dim`, multiplied: the stride of `dim` in a dense row-major layout.
  std::int64_t stride(int dim) const {
    std::int64_t count = 1;
    for (int d = dim + 1; d < rank_; ++d) count *= extents_[d];
    return count;
  }

  // The shape without its first dimension.
  Shape drop_front() const {
    Shape rest;
    for (int d = 1; d < rank_; ++d) rest.push_back(extents_[d]);
    return rest;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int d = 0; d < a.rank_; ++d)
      if (a.extents_[d] != b.extents_[d]) return false;
    return true;
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

  friend std::ostream& operator<<(std::ostream& out, const Shape& shape) {
    out << '[';
    for (int d = 0; d < shape.rank_; ++d) out << (d ? ", " : "") << shape.extents_[d];
    return out << ']';
  }

  std::string to_string() const { return detail::concat(*this); }

 private:
  std::array<std::int64_t, kMaxRank> extents_{};
  int rank_ = 0;
};

}  // namespace vit
