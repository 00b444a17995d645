// EXIF orientation: the tag (0x0112) a camera writes instead of rotating the pixels, read from a JPEG's
// "Exif" APP1 segment or a PNG's eXIf chunk, and applied the way PIL's ImageOps.exif_transpose does it
// (Hugging Face's load_image and pipeline() call it; PIL's Image.open, timm and torchvision do not).
//
// PIL semantics (Pillow 13.0, ImageOps.exif_transpose; tests/data/decode/manifest.json):
//   1 unchanged   2 mirror left-right   3 rotate 180   4 mirror top-bottom
//   5 transpose   6 rotate 90° clockwise   7 transverse   8 rotate 90° counter-clockwise
// Any other value, a missing tag or an EXIF block that cannot be parsed leaves the image as it is. Not read
// (PIL reads them, rarely written): orientation in XMP metadata and in PNG "Raw profile type exif" text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "vit/io/image_containers.hpp"
#include "vit/io/rgb_image.hpp"

namespace vit {

namespace detail {

// The orientation tag of a TIFF structure (the body of an EXIF block): 1 when absent or unreadable.
inline int tiff_orientation(const std::uint8_t* tiff, std::size_t size) {
  if (size < 8) return 1;
  const bool little = tiff[0] == 'I' && tiff[1] == 'I';
  if (!little && !(tiff[0] == 'M' && tiff[1] == 'M')) return 1;
  const auto u16 = [&](std::size_t at) {
    return little ? std::uint32_t(tiff[at]) | std::uint32_t(tiff[at + 1]) << 8
                  : std::uint32_t(tiff[at]) << 8 | std::uint32_t(tiff[at + 1]);
  };
  const auto u32 = [&](std::size_t at) {
    return little ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2);
  };
  if (u16(2) != 42) return 1;
  const std::size_t ifd = u32(4);
  if (ifd > size - 2) return 1;
  const std::size_t entries = u16(ifd);
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t entry = ifd + 2 + 12 * i;
    if (entry > size - 12) return 1;
    if (u16(entry) != 0x0112) continue;
    const std::uint32_t type = u16(entry + 2), count = u32(entry + 4);
    if (count != 1) return 1;
    if (type == 3) return int(u16(entry + 8));  // SHORT, as the standard says
    if (type == 4) return int(u32(entry + 8) > 8 ? 0 : u32(entry + 8));  // LONG, which PIL reads too
    return 1;
  }
  return 1;
}

// The orientation recorded in a JPEG (first "Exif" APP1 segment before the scan) or a PNG (eXIf chunk, which
// may come after the image data); 1 for other formats or when there is none.
inline int exif_orientation(const std::uint8_t* data, std::size_t size) {
  int orientation = 1;
  if (size >= 4 && data[0] == 0xff && data[1] == 0xd8) {
    visit_jpeg_segments(data, size, [&](std::uint8_t marker, const std::uint8_t* body, std::size_t length) {
      if (marker != 0xe1 || length < 6 || std::memcmp(body, "Exif\0\0", 6) != 0) return false;
      orientation = tiff_orientation(body + 6, length - 6);
      return true;
    });
  } else if (is_png(data, size)) {
    visit_png_chunks(data, size, [&](const char* type, const std::uint8_t* body, std::size_t length) {
      if (std::memcmp(type, "eXIf", 4) != 0) return false;
      // Some writers keep the "Exif\0\0" prefix of the JPEG segment; PIL strips it.
      const bool prefixed = length >= 6 && std::memcmp(body, "Exif\0\0", 6) == 0;
      orientation = prefixed ? tiff_orientation(body + 6, length - 6) : tiff_orientation(body, length);
      return true;
    });
  }
  return orientation;
}

}  // namespace detail

// The image turned upright as EXIF orientation `orientation` (1-8) asks; any other value returns it
// unchanged. Orientations 5-8 swap width and height.
inline Image apply_exif_orientation(const Image& image, int orientation) {
  if (orientation < 2 || orientation > 8) return image;
  const int w = image.width, h = image.height;
  const bool swaps = orientation >= 5;
  Image out;
  out.width = swaps ? h : w;
  out.height = swaps ? w : h;
  out.pixels.resize(image.pixels.size());
  for (int i = 0; i < out.height; ++i) {
    std::uint8_t* row = out.row(i);
    for (int j = 0; j < out.width; ++j) {
      int y = i, x = j;  // the source pixel of out[i][j]
      switch (orientation) {
        case 2: x = w - 1 - j; break;
        case 3: y = h - 1 - i; x = w - 1 - j; break;
        case 4: y = h - 1 - i; break;
        case 5: y = j; x = i; break;
        case 6: y = h - 1 - j; x = i; break;
        case 7: y = h - 1 - j; x = w - 1 - i; break;
        case 8: y = j; x = w - 1 - i; break;
      }
      std::memcpy(row + 3 * std::size_t(j), image.row(y) + 3 * std::size_t(x), 3);
    }
  }
  return out;
}

}  // namespace vit
