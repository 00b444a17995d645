// NumPy .npy output for float32 tensors: format version 1.0, dtype '<f4', C order, the view's shape.
// The header is padded with spaces and ends in '\n' so that magic + header is a multiple of 64 bytes, as
// NumPy itself writes it (numpy.lib.format.ARRAY_ALIGN); numpy.load reads the file back unchanged.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"

namespace vit {

namespace detail {

// The header dictionary as numpy.lib.format writes it: "(14, 14)", "(5,)" for rank 1, "()" for a scalar.
inline std::string npy_header_dict(const Shape& shape) {
  std::string dims;
  for (int i = 0; i < shape.rank(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.rank() == 1) dims += ",";
  return "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
}

}  // namespace detail

inline std::vector<std::uint8_t> encode_npy(TensorView<const float> view) {
  VIT_CHECK(view.device() == Device::CPU, "encode_npy: expected a host tensor");
  VIT_CHECK(view.numel() == 0 || view.data() != nullptr, "encode_npy: the view has no data");
  static constexpr char magic[] = "\x93NUMPY";  // 6 bytes, then version 1.0 and a little-endian uint16 length
  constexpr std::size_t preamble = 10, align = 64;
  std::string header = detail::npy_header_dict(view.shape());
  const std::size_t total = (preamble + header.size() + 1 + align - 1) / align * align;  // + 1 for the '\n'
  header.append(total - preamble - header.size() - 1, ' ');
  header += '\n';
  VIT_CHECK(header.size() <= 65535, "encode_npy: shape ", view.shape(), " needs a header too long for .npy 1.0");

  std::vector<std::uint8_t> bytes(magic, magic + 6);
  bytes.push_back(1);
  bytes.push_back(0);
  bytes.push_back(std::uint8_t(header.size() & 0xff));
  bytes.push_back(std::uint8_t(header.size() >> 8));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.reserve(bytes.size() + std::size_t(view.numel()) * 4);
  for (std::int64_t i = 0; i < view.numel(); ++i) {
    std::uint32_t word = 0;
    std::memcpy(&word, view.data() + i, 4);
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(std::uint8_t(word >> shift));  // little-endian
  }
  return bytes;
}

inline void save_npy(const std::string& path, TensorView<const float> view) {
  const std::vector<std::uint8_t> bytes = encode_npy(view);
  std::ofstream stream(path, std::ios::binary);
  VIT_CHECK(stream, path, ": cannot create (", std::strerror(errno), ")");
  VIT_CHECK(stream.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size())), path,
            ": write failed");
}

}  // namespace vit
