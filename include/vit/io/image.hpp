// Image decoding into 8-bit RGB, the way PIL's Image.open(...).convert("RGB") sees it: grey is
// replicated, alpha dropped (no compositing), palettes expanded, 16-bit RGB reduced to its high byte,
// 16-bit grey clamped to 255, CMYK converted by PIL's formula.
//
// JPEG goes through libjpeg-turbo (TurboJPEG API, accurate integer IDCT, fancy upsampling): the decoder
// PIL itself uses, so decoded pixels are bit-identical to PIL's — stb_image's own JPEG decoder differs by
// up to a few steps. CMYK and YCCK JPEGs are read as PIL reads them: libjpeg's CMYK bytes, taken as
// Adobe-inverted whatever the markers say, then PIL's CMYK→RGB. Everything else goes through stb_image:
// PNG (1-16 bit, grey, palette, alpha), BMP, GIF (first frame), TGA, PSD, PNM, HDR (tone-mapped by stb).
// Truncated or damaged JPEGs are errors, as in PIL (which raises unless ImageFile.LOAD_TRUNCATED_IMAGES is
// set).
//
// Memory: the header is read first, and an image above PIL's decompression-bomb limit, or larger than its
// file could encode at the format's best compression ratio, is refused before any pixel memory is
// allocated; pixel buffers are allocated only when the decoder fills them. So a 69-byte PNG claiming
// 13000×13000 costs nothing before its error.
//
// EXIF orientation is applied only when asked (DecodeOptions::exif_orientation): PIL's open() and timm's
// transforms leave it; Hugging Face's load_image applies it.
#pragma once

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <stb/stb_image.h>
#include <turbojpeg.h>

#include "vit/core/error.hpp"
#include "vit/io/exif_orientation.hpp"
#include "vit/io/image_containers.hpp"
#include "vit/io/read_file.hpp"
#include "vit/io/rgb_image.hpp"

namespace vit {

// How images are decoded.
struct DecodeOptions {
  // Turn the image upright as its EXIF orientation tag says (PIL's ImageOps.exif_transpose), as Hugging
  // Face's load_image and pipeline() do. Off by default, as in PIL's Image.open, timm and torchvision.
  bool exif_orientation = false;
};

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

// "What the bytes can hold": no format compresses better than its best ratio, so a header that claims more
// pixels than its file could encode is corrupt or truncated, and is refused before anything is allocated.
inline void check_file_can_hold(const std::string& source, const char* format, std::size_t file_size,
                                double bytes_needed, std::int64_t width, std::int64_t height) {
  VIT_CHECK(double(file_size) >= bytes_needed, source, ": a ", format, " of ", width, "x", height,
            " pixels needs at least ", std::int64_t(std::ceil(bytes_needed)), " bytes, the file has ", file_size,
            " (truncated or corrupt)");
}

// Whether a JPEG's frame is Huffman-coded (SOF0-3, SOF5-7), as nearly all are; false for arithmetic coding
// (SOF9-11, SOF13-15), which has no useful bound on its compression ratio.
inline bool jpeg_is_huffman_coded(const std::uint8_t* data, std::size_t size) {
  bool huffman = true;
  visit_jpeg_segments(data, size, [&](std::uint8_t marker, const std::uint8_t*, std::size_t) {
    const bool frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (frame) huffman = marker < 0xc8;
    return frame;
  });
  return huffman;
}

// PIL's CMYK→RGB (libImaging cmyk2rgb) on the bytes libjpeg returns for a CMYK or YCCK JPEG, which PIL
// takes as Adobe-inverted (rawmode "CMYK;I") whatever the file's markers say: with C = 255 - c and
// K = 255 - k, R = (255 - K) - round(C·(255 - K)/255) = round(c·k/255), exactly (PIL's MULDIV255).
inline std::uint8_t cmyk_channel_like_pil(std::uint32_t inverted_ink, std::uint32_t inverted_black) {
  const std::uint32_t t = inverted_ink * inverted_black + 128;
  return std::uint8_t(((t >> 8) + t) >> 8);
}

inline Image decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& source) {
  TurboJpegHandle jpeg;
  VIT_CHECK(jpeg.handle != nullptr, source, ": cannot start the JPEG decoder");
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  VIT_CHECK(tjDecompressHeader3(jpeg.handle, data, static_cast<unsigned long>(size), &width, &height, &subsampling,
                                &colorspace) == 0,
            source, ": not a readable JPEG (", jpeg.error(), ")");
  VIT_CHECK(width > 0 && height > 0, source, ": not a readable JPEG (truncated before the frame header?)");
  check_image_size(source, width, height);
  // Every 8×8 block of the full-resolution component carries at least one Huffman code of at least 1 bit.
  if (jpeg_is_huffman_coded(data, size))
    check_file_can_hold(source, "JPEG", size, std::ceil(width / 8.0) * std::ceil(height / 8.0) / 8.0, width, height);
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const std::size_t pixels = std::size_t(width) * std::size_t(height);
  std::vector<std::uint8_t> decoded(pixels * (cmyk ? 4 : 3));
  // Warnings (such as a premature end of data) are errors too: the pixels would be partly invented.
  VIT_CHECK(tjDecompress2(jpeg.handle, data, static_cast<unsigned long>(size), decoded.data(), width, 0, height,
                          cmyk ? TJPF_CMYK : TJPF_RGB, TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING) == 0,
            source, ": cannot decode JPEG (", jpeg.error(), ")");
  Image image;
  image.width = width;
  image.height = height;
  if (!cmyk) {
    image.pixels = std::move(decoded);
    return image;
  }
  image.pixels.resize(pixels * 3);
  for (std::size_t i = 0; i < pixels; ++i)
    for (std::size_t c = 0; c < 3; ++c)
      image.pixels[3 * i + c] = cmyk_channel_like_pil(decoded[4 * i + c], decoded[4 * i + 3]);
  return image;
}

// PNG's IHDR: the size, checked against the file's length, read ourselves because stb refuses huge images
// with only a generic reason. Deflate encodes at most 1032 bytes in one byte; each row is one filter byte
// and its packed pixels.
inline void check_png_header(const std::uint8_t* data, std::size_t size, const std::string& source) {
  const std::int64_t width = read_big_endian_32(data + 16), height = read_big_endian_32(data + 20);
  check_image_size(source, width, height);
  if (size < 26) return;  // stb reports the truncated header
  const int bit_depth = data[24];
  int channels = 1;  // grey, palette
  if (data[25] == 2) channels = 3;
  if (data[25] == 4) channels = 2;
  if (data[25] == 6) channels = 4;
  const double row_bytes = 1.0 + std::ceil(double(width) * channels * bit_depth / 8.0);
  check_file_can_hold(source, "PNG", size, double(height) * row_bytes / 1032.0, width, height);
}

// Of the other formats stb decodes, GIF compresses best: its LZW emits at most 4096 pixels per code (a byte
// or more); BMP (1 bit per pixel at best), PNM, TGA, PSD and HDR (run lengths of at most 128) far less.
inline void check_stb_file_can_hold(const std::string& source, std::size_t size, int width, int height) {
  check_file_can_hold(source, "image", size, double(width) * double(height) / 4096.0, width, height);
}

inline Image decode_without_orientation(const std::uint8_t* data, std::size_t size, const std::string& source) {
  VIT_CHECK(size > 0, source, ": empty file");
  VIT_CHECK(size <= std::size_t(INT_MAX), source, ": file too large to decode (", size, " bytes)");
  if (is_jpeg(data, size)) return decode_jpeg(data, size, source);
  VIT_CHECK(!stb_would_read_as_jpeg(data, size), source,
            ": not a readable image (a JPEG start-of-image marker, but not the FF D8 FF that starts a JPEG file)");
  const bool png = is_png(data, size) && size >= 24 && std::memcmp(data + 12, "IHDR", 4) == 0;
  if (png) check_png_header(data, size, source);
  const int length = int(size);
  int width = 0, height = 0, channels = 0;
  VIT_CHECK(stbi_info_from_memory(data, length, &width, &height, &channels), source,
            ": not a readable image (", stb_reason(), ")");
  check_image_size(source, width, height);
  if (!png) check_stb_file_can_hold(source, size, width, height);

  // stb decodes into its own buffer; ours is allocated only once that has succeeded.
  Image image;
  image.width = width;
  image.height = height;
  const std::size_t pixels = std::size_t(width) * std::size_t(height);
  int got_width = 0, got_height = 0, got_channels = 0;
  if (stbi_is_16_bit_from_memory(data, length) && (channels == 1 || channels == 2)) {
    // 16-bit grey: PIL opens it as mode "I;16" and convert("RGB") clamps each value to 255 (it does
    // not scale by 1/256), so bright images saturate. Matched here for parity.
    std::unique_ptr<stbi_us, StbFree> grey(stbi_load_16_from_memory(data, length, &got_width, &got_height, &got_channels, 1));
    VIT_CHECK(grey != nullptr, source, ": cannot decode (", stb_reason(), ")");
    VIT_CHECK(got_width == width && got_height == height, source, ": decoded size differs from the header");
    image.pixels.resize(pixels * 3);
    for (std::size_t i = 0; i < pixels; ++i) {
      const auto value = std::uint8_t(grey.get()[i] > 255 ? 255 : grey.get()[i]);
      image.pixels[3 * i] = image.pixels[3 * i + 1] = image.pixels[3 * i + 2] = value;
    }
    return image;
  }
  std::unique_ptr<stbi_uc, StbFree> rgb(stbi_load_from_memory(data, length, &got_width, &got_height, &got_channels, 3));
  VIT_CHECK(rgb != nullptr, source, ": cannot decode (", stb_reason(), ")");
  VIT_CHECK(got_width == width && got_height == height, source, ": decoded size differs from the header");
  image.pixels.assign(rgb.get(), rgb.get() + pixels * 3);
  return image;
}

}  // namespace detail

// Decodes an image held in memory; `source` names it in error messages.
inline Image decode_image(const std::uint8_t* data, std::size_t size, const std::string& source,
                          const DecodeOptions& options = {}) {
  Image image = detail::decode_without_orientation(data, size, source);
  if (!options.exif_orientation) return image;
  const int orientation = detail::exif_orientation(data, size);
  return orientation == 1 ? image : apply_exif_orientation(image, orientation);
}

inline Image load_image(const std::string& path, const DecodeOptions& options = {}) {
  const std::vector<std::uint8_t> bytes = detail::read_file(path);
  return decode_image(bytes.data(), bytes.size(), path, options);
}

}  // namespace vit
