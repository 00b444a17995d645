// The container structure of JPEG and PNG files, walked without decoding: JPEG marker segments up to the
// first scan, PNG chunks up to IEND. The decoder reads the JPEG frame type through it, the EXIF reader the
// orientation tag. Every length is checked against the bytes there are; a walk ends at the first damage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vit::detail {

inline std::uint32_t read_big_endian_32(const std::uint8_t* bytes) {
  return std::uint32_t(bytes[0]) << 24 | std::uint32_t(bytes[1]) << 16 | std::uint32_t(bytes[2]) << 8 | bytes[3];
}

inline bool is_jpeg(const std::uint8_t* data, std::size_t size) {
  return size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff;
}

// What stb_image would take for a JPEG start of image: 0xFF, any fill bytes 0xFF, then 0xD8 — wider than
// is_jpeg (PIL's test). Such data is never handed to stb: its JPEG decoder is not the one vit matches
// (libjpeg-turbo is), and Debian's build asserts (aborts the process) on some corrupt Huffman streams.
inline bool stb_would_read_as_jpeg(const std::uint8_t* data, std::size_t size) {
  if (size < 2 || data[0] != 0xff) return false;
  std::size_t i = 1;
  while (i < size && data[i] == 0xff) ++i;
  return i < size && data[i] == 0xd8;
}

inline bool is_png(const std::uint8_t* data, std::size_t size) {
  static constexpr std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return size >= 8 && std::memcmp(data, signature, 8) == 0;
}

// Calls visit(marker, body, body_size) for each marker segment of a JPEG before its first scan, until visit
// returns true. Fill bytes (0xff runs) are skipped.
template <class Visit>
void visit_jpeg_segments(const std::uint8_t* data, std::size_t size, Visit visit) {
  std::size_t at = 2;  // after SOI
  while (at + 4 <= size && data[at] == 0xff) {
    const std::uint8_t marker = data[at + 1];
    if (marker == 0xff) {
      ++at;
      continue;
    }
    if (marker == 0xda || marker == 0xd9) return;  // start of scan / end of image
    const std::size_t length = std::size_t(data[at + 2]) << 8 | data[at + 3];  // counts its own 2 bytes
    if (length < 2 || at + 2 + length > size) return;
    if (visit(marker, data + at + 4, length - 2)) return;
    at += 2 + length;
  }
}

// Calls visit(type, body, body_size) for each chunk of a PNG (type: 4 characters, not terminated) until
// visit returns true or IEND.
template <class Visit>
void visit_png_chunks(const std::uint8_t* data, std::size_t size, Visit visit) {
  std::size_t at = 8;  // after the signature
  while (at + 12 <= size) {
    const std::size_t length = read_big_endian_32(data + at);
    if (length > size - at - 12) return;
    const char* type = reinterpret_cast<const char*>(data + at + 4);
    if (std::memcmp(type, "IEND", 4) == 0 || visit(type, data + at + 8, length)) return;
    at += 12 + length;
  }
}

}  // namespace vit::detail
