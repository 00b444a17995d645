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
  if (size >= 4 && data[0] == 0xff && data[1] == 0xd8) {
    std::size_t at = 2;
    while (at + 4 <= size && data[at] == 0xff) {
      const std::uint8_t marker = data[at + 1];
      if (marker == 0xff) {  // fill byte
        ++at;
        continue;
      }
      if (marker == 0xda || marker == 0xd9) break;  // start of scan / end of image: no more metadata
      const std::size_t length = std::size_t(data[at + 2]) << 8 | data[at + 3];
      if (length < 2 || at + 2 + length > size) break;
      const std::uint8_t* body = data + at + 4;
      if (marker == 0xe1 && length >= 8 && std::memcmp(body, "Exif\0\0", 6) == 0)
        return tiff_orientation(body + 6, length - 8);
      at += 2 + length;
    }
    return 1;
  }
  static constexpr std::uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 8 && std::memcmp(data, png_signature, 8) == 0) {
    std::size_t at = 8;
    while (at + 12 <= size) {
      const std::size_t length =
          std::size_t(data[at]) << 24 | std::size_t(data[at + 1]) << 16 | std::size_t(data[at + 2]) << 8 | data[at + 3];
      if (length > size - at - 12) break;
      if (std::memcmp(data + at + 4, "eXIf", 4) == 0) {
        const std::uint8_t* body = data + at + 8;
        // Some writers keep the "Exif\0\0" prefix of the JPEG segment; PIL strips it.
        if (length >= 6 && std::memcmp(body, "Exif\0\0", 6) == 0) return tiff_orientation(body + 6, length - 6);
        return tiff_orientation(body, length);
      }
      if (std::memcmp(data + at + 4, "IEND", 4) == 0) break;
      at += 12 + length;
    }
  }
  return 1;
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
