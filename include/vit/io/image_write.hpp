// PNG encoding with stb_image_write (implementations come from Debian's libstb).
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include "vit/core/error.hpp"
#include "vit/io/image.hpp"

namespace vit {

inline std::vector<std::uint8_t> encode_png(const Image& image) {
  VIT_CHECK(image.width > 0 && image.height > 0 &&
                image.pixels.size() == std::size_t(image.width) * std::size_t(image.height) * 3,
            "encode_png: the image is empty or its pixel buffer does not match ", image.width, "x", image.height);
  std::vector<std::uint8_t> bytes;
  const auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(context);
    out->insert(out->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
  };
  VIT_CHECK(stbi_write_png_to_func(append, &bytes, image.width, image.height, 3, image.pixels.data(), image.width * 3),
            "encode_png: stb_image_write failed for a ", image.width, "x", image.height, " image");
  return bytes;
}

inline void save_png(const std::string& path, const Image& image) {
  const std::vector<std::uint8_t> bytes = encode_png(image);
  std::ofstream stream(path, std::ios::binary);
  VIT_CHECK(stream, path, ": cannot create (", std::strerror(errno), ")");
  VIT_CHECK(stream.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size())), path,
            ": write failed");
}

}  // namespace vit
