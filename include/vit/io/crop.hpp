// Cutting a window out of an image (CropBox, crop): the centre crop of evaluation, the random crops of
// training, and the window of a resize computed alone (resize_window_like_pil).
#pragma once

#include <algorithm>
#include <cstring>

#include "vit/core/error.hpp"
#include "vit/io/image.hpp"

namespace vit {

// A window of an image, in pixels; it may reach outside the image (those pixels read as zero).
struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
  friend bool operator==(const CropBox& a, const CropBox& b) {
    return a.top == b.top && a.left == b.left && a.height == b.height && a.width == b.width;
  }
};

// The pixels of `box`; where it reaches outside the image they are zero, as torchvision's padding with
// fill 0 (PIL's crop fills with zeros too).
inline Image crop(const Image& image, const CropBox& box) {
  VIT_CHECK(box.height > 0 && box.width > 0, "crop: an empty window (", box.width, "x", box.height, ")");
  Image out;
  out.width = box.width;
  out.height = box.height;
  out.pixels.assign(std::size_t(box.width) * std::size_t(box.height) * 3, 0);
  const int first_x = std::max(0, -box.left), last_x = std::min(box.width, image.width - box.left);
  if (first_x >= last_x) return out;
  for (int y = 0; y < box.height; ++y) {
    const int source_y = box.top + y;
    if (source_y < 0 || source_y >= image.height) continue;
    std::memcpy(out.row(y) + first_x * 3, image.row(source_y) + (box.left + first_x) * 3,
                std::size_t(last_x - first_x) * 3);
  }
  return out;
}

}  // namespace vit
