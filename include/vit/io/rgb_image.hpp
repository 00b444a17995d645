// The decoded image every reader produces and every preprocessing step takes: 8-bit RGB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vit {

// An 8-bit RGB image, rows top to bottom, pixels interleaved: [height, width, 3].
struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;

  std::uint8_t* row(int y) { return pixels.data() + std::size_t(y) * std::size_t(width) * 3; }
  const std::uint8_t* row(int y) const { return pixels.data() + std::size_t(y) * std::size_t(width) * 3; }
};

// PIL's DecompressionBombError threshold (2 × Image.MAX_IMAGE_PIXELS): larger images are refused.
constexpr std::int64_t kMaxImagePixels = 178'956'970;

}  // namespace vit
