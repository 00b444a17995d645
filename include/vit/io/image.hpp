// Image decoding into 8-bit RGB, the way PIL's Image.open(...).convert("RGB") sees it: grey is
// replicated, alpha dropped (no compositing), palettes expanded, 16-bit RGB reduced to its high byte,
// 16-bit grey clamped to 255.
//
// JPEG goes through libjpeg-turbo (TurboJPEG API, accurate integer IDCT, fancy upsampling): the decoder
// PIL itself uses, so decoded pixels are bit-identical to PIL's — stb_image's own JPEG decoder differs by
// up to a few steps. Everything else goes through stb_image: PNG (1-16 bit, grey, palette, alpha), BMP,
// GIF (first frame), TGA, PSD, PNM, HDR (tone-mapped by stb). Truncated or damaged JPEGs are errors, as
// in PIL (which raises unless ImageFile.LOAD_TRUNCATED_IMAGES is set).
//
// The header is read first and images above PIL's decompression-bomb limit are refused before any pixel
// memory is allocated. EXIF orientation is not applied — neither does PIL's open() nor timm's transforms
// (Hugging Face's load_image does; rotate beforehand to match it).
#pragma once

#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <stb/stb_image.h>
#include <turbojpeg.h>

#include "vit/core/error.hpp"
#include "vit/io/read_file.hpp"

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

namespace detail {

struct StbFree {
  void operator()(void* pixels) const { stbi_image_free(pixels); }
};

inline std::string stb_reason() {
  const char* reason = stbi_failure_reason();
  return reason ? reason : "unknown reason";
}

inline void check_image_size(const std::string& source, std::int64_t width, std::int64_t height) {
  VIT_CHECK(width > 0 && height > 0, source, ": image has no pixels (", width, "x", height, ")");
  // Each side alone first: a header may claim sides near 2^32 whose product overflows.
  VIT_CHECK(width <= kMaxImagePixels && height <= kMaxImagePixels && width * height <= kMaxImagePixels, source, ": image is ", width, "x", height,
            " pixels, more than the limit of ", kMaxImagePixels);
}

struct TurboJpegHandle {
  tjhandle handle = tjInitDecompress();
  ~TurboJpegHandle() {
    if (handle) tjDestroy(handle);
  }
  std::string error() { return tjGetErrorStr2(handle); }
};

inline Image decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& source) {
  TurboJpegHandle jpeg;
  VIT_CHECK(jpeg.handle != nullptr, source, ": cannot start the JPEG decoder");
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  VIT_CHECK(tjDecompressHeader3(jpeg.handle, data, static_cast<unsigned long>(size), &width, &height, &subsampling,
                                &colorspace) == 0,
            source, ": not a readable JPEG (", jpeg.error(), ")");
  VIT_CHECK(width > 0 && height > 0, source, ": not a readable JPEG (truncated before the frame header?)");
  check_image_size(source, width, height);
  VIT_CHECK(colorspace != TJCS_CMYK && colorspace != TJCS_YCCK, source, ": CMYK JPEGs are not supported");
  Image image;
  image.width = width;
  image.height = height;
  image.pixels.resize(std::size_t(width) * std::size_t(height) * 3);
  // Warnings (such as a premature end of data) are errors too: the pixels would be partly invented.
  VIT_CHECK(tjDecompress2(jpeg.handle, data, static_cast<unsigned long>(size), image.pixels.data(), width, 0, height,
                          TJPF_RGB, TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING) == 0,
            source, ": cannot decode JPEG (", jpeg.error(), ")");
  return image;
}

}  // namespace detail

// Decodes an image held in memory; `source` names it in error messages.
inline Image decode_image(const std::uint8_t* data, std::size_t size, const std::string& source) {
  VIT_CHECK(size > 0, source, ": empty file");
  VIT_CHECK(size <= std::size_t(INT_MAX), source, ": file too large to decode (", size, " bytes)");
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return detail::decode_jpeg(data, size, source);
  // PNG: read the size from IHDR ourselves, because stb refuses huge images with only a generic reason.
  static constexpr std::uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 24 && std::memcmp(data, png_signature, 8) == 0 && std::memcmp(data + 12, "IHDR", 4) == 0) {
    const auto big_endian = [&](std::size_t at) {
      return std::int64_t(data[at]) << 24 | std::int64_t(data[at + 1]) << 16 | std::int64_t(data[at + 2]) << 8 | data[at + 3];
    };
    detail::check_image_size(source, big_endian(16), big_endian(20));
  }
  const int length = int(size);
  int width = 0, height = 0, channels = 0;
  VIT_CHECK(stbi_info_from_memory(data, length, &width, &height, &channels), source,
            ": not a readable image (", detail::stb_reason(), ")");
  detail::check_image_size(source, width, height);

  Image image;
  image.width = width;
  image.height = height;
  image.pixels.resize(std::size_t(width) * std::size_t(height) * 3);
  int got_width = 0, got_height = 0, got_channels = 0;
  if (stbi_is_16_bit_from_memory(data, length) && (channels == 1 || channels == 2)) {
    // 16-bit grey: PIL opens it as mode "I;16" and convert("RGB") clamps each value to 255 (it does
    // not scale by 1/256), so bright images saturate. Matched here for parity.
    std::unique_ptr<stbi_us, detail::StbFree> grey(
        stbi_load_16_from_memory(data, length, &got_width, &got_height, &got_channels, 1));
    VIT_CHECK(grey != nullptr, source, ": cannot decode (", detail::stb_reason(), ")");
    VIT_CHECK(got_width == width && got_height == height, source, ": decoded size differs from the header");
    for (std::size_t i = 0; i < std::size_t(width) * std::size_t(height); ++i) {
      const auto value = std::uint8_t(grey.get()[i] > 255 ? 255 : grey.get()[i]);
      image.pixels[3 * i] = image.pixels[3 * i + 1] = image.pixels[3 * i + 2] = value;
    }
    return image;
  }
  std::unique_ptr<stbi_uc, detail::StbFree> rgb(stbi_load_from_memory(data, length, &got_width, &got_height, &got_channels, 3));
  VIT_CHECK(rgb != nullptr, source, ": cannot decode (", detail::stb_reason(), ")");
  VIT_CHECK(got_width == width && got_height == height, source, ": decoded size differs from the header");
  std::memcpy(image.pixels.data(), rgb.get(), image.pixels.size());
  return image;
}

inline Image load_image(const std::string& path) {
  const std::vector<std::uint8_t> bytes = detail::read_file(path);
  return decode_image(bytes.data(), bytes.size(), path);
}

}  // namespace vit
