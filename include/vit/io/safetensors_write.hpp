// Writing .safetensors files: named tensors and a string→string __metadata__ map, to the format's
// specification (https://github.com/huggingface/safetensors#format), atomically.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON, then the data section, each tensor's
// elements little-endian and dense, the tensors back to back. The JSON holds "__metadata__" first, then one
// entry {"dtype", "shape", "data_offsets": [begin, end]} per tensor; it is padded with spaces to a multiple
// of 8 bytes, so the data section starts 8-byte aligned.
//
// The bytes depend only on the input: tensors are laid out by element size, largest first (so every
// tensor starts aligned to its own element size, as the reference Rust writer arranges it), then by name;
// the header lists them in the same order. The metadata carries "format": "pt" unless the caller gives a
// "format": transformers refuses to load a file without it, and timm and PyTorch files carry "pt".
//
// write_safetensors never leaves a half-written file: it writes a temporary file beside the target, flushes
// it to disk and renames it over the target (see atomic_file.hpp). Everything written reads back with
// SafetensorsFile (safetensors.hpp), and with the official Python and Rust readers.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vit/core/error.hpp"
#include "vit/core/shape.hpp"
#include "vit/core/tensor.hpp"
#include "vit/io/atomic_file.hpp"
#include "vit/io/safetensors.hpp"

namespace vit {

// One tensor to write, borrowed from the caller: shape.numel() dense little-endian elements of `dtype`.
// Built from a float, int64 or uint8 view; any other dtype of the format can be given by hand.
struct SafetensorsView {
  std::string dtype;  // "F32", "I64", "U8", ... (see detail::safetensors_dtype_size)
  Shape shape;
  const void* data = nullptr;

  SafetensorsView() = default;
  SafetensorsView(std::string dtype_, Shape shape_, const void* data_)
      : dtype(std::move(dtype_)), shape(shape_), data(data_) {}
  SafetensorsView(TensorView<const float> view) : SafetensorsView("F32", view.shape(), view.data()) {}
  SafetensorsView(TensorView<const std::int64_t> view) : SafetensorsView("I64", view.shape(), view.data()) {}
  SafetensorsView(TensorView<const std::uint8_t> view) : SafetensorsView("U8", view.shape(), view.data()) {}
  SafetensorsView(const Tensor<float>& tensor) : SafetensorsView(tensor.view()) {}
};

namespace detail {

// CRC-32 (IEEE 802.3, zlib's crc32: reflected polynomial 0xEDB88320), continued from `crc`. Detects any
// corruption of a file's bytes that the format's structure alone would let through (a flipped data bit).
inline std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> entries{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t value = i;
      for (int bit = 0; bit < 8; ++bit) value = (value & 1) ? 0xEDB88320u ^ (value >> 1) : value >> 1;
      entries[i] = value;
    }
    return entries;
  }();
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ bytes[i]) & 0xffu] ^ (crc >> 8);
  return ~crc;
}

struct SafetensorsPlan {
  std::string prefix;  // the 8-byte header length and the padded JSON header
  std::vector<std::pair<const std::string*, const SafetensorsView*>> order;  // data order
  std::vector<std::uint64_t> sizes;                                          // bytes of each, in data order
};

// Validates the tensors and builds the header. `target` names the file in error messages.
inline SafetensorsPlan plan_safetensors(const std::map<std::string, SafetensorsView>& tensors,
                                        const std::map<std::string, std::string>& metadata, const std::string& target) {
  SafetensorsPlan plan;
  for (const auto& [name, tensor] : tensors) {
    VIT_CHECK(!name.empty() && name != "__metadata__", target, ": '", name, "' cannot name a tensor");
    VIT_CHECK(safetensors_dtype_size(tensor.dtype) != 0, target, ": tensor '", name, "' has unknown dtype \"",
              tensor.dtype, "\"");
    VIT_CHECK(tensor.shape.numel() == 0 || tensor.data != nullptr, target, ": tensor '", name, "' has no data");
    plan.order.emplace_back(&name, &tensor);
  }
  // Largest elements first keeps each tensor aligned to its element size; names break ties (already sorted).
  std::stable_sort(plan.order.begin(), plan.order.end(), [](const auto& a, const auto& b) {
    return safetensors_dtype_size(a.second->dtype) > safetensors_dtype_size(b.second->dtype);
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  std::map<std::string, std::string> all_metadata = metadata;
  all_metadata.emplace("format", "pt");  // unless the caller gave one
  header["__metadata__"] = all_metadata;  // sorted by key
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : plan.order) {
    const std::uint64_t bytes = std::uint64_t(tensor->shape.numel()) * safetensors_dtype_size(tensor->dtype);
    std::vector<std::int64_t> shape;
    for (int d = 0; d < tensor->shape.rank(); ++d) shape.push_back(tensor->shape[d]);
    header[*name] = {{"dtype", tensor->dtype}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    plan.sizes.push_back(bytes);
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();  // compact, as the reference writer
  } catch (const nlohmann::json::exception& error) {  // names and metadata must be valid UTF-8
    fail(target, ": a tensor name or metadata entry is not valid UTF-8 (", error.what(), ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  VIT_CHECK(text.size() <= kSafetensorsMaxHeaderBytes, target, ": the header would be ", text.size(),
            " bytes, over the format's 100 MB limit");
  const std::uint64_t length = text.size();
  plan.prefix.resize(8);
  std::memcpy(plan.prefix.data(), &length, 8);  // little-endian host (asserted in safetensors.hpp)
  plan.prefix += text;
  return plan;
}

// The file as pieces: the prefix, then each tensor's bytes straight from the caller's memory.
inline std::vector<ByteSpan> safetensors_chunks(const SafetensorsPlan& plan) {
  std::vector<ByteSpan> chunks{{plan.prefix.data(), plan.prefix.size()}};
  for (std::size_t i = 0; i < plan.order.size(); ++i)
    if (plan.sizes[i] > 0) chunks.push_back({plan.order[i].second->data, std::size_t(plan.sizes[i])});
  return chunks;
}

}  // namespace detail

// The bytes of a safetensors file holding `tensors` and `metadata`.
inline std::vector<std::uint8_t> serialize_safetensors(const std::map<std::string, SafetensorsView>& tensors,
                                                       const std::map<std::string, std::string>& metadata = {}) {
  const detail::SafetensorsPlan plan = detail::plan_safetensors(tensors, metadata, "serialize_safetensors");
  std::vector<std::uint8_t> bytes;
  for (const ByteSpan& chunk : detail::safetensors_chunks(plan)) {
    const auto* begin = static_cast<const std::uint8_t*>(chunk.data);
    bytes.insert(bytes.end(), begin, begin + chunk.size);
  }
  return bytes;
}

// Adds a safetensors file to a set of files written all-or-nothing (a checkpoint folder).
inline void stage_safetensors(StagedFiles& files, const std::string& path,
                              const std::map<std::string, SafetensorsView>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  const detail::SafetensorsPlan plan = detail::plan_safetensors(tensors, metadata, path);
  files.stage(path, detail::safetensors_chunks(plan));
}

// Writes `path` atomically: the previous file stays intact until the new one is complete on disk.
inline void write_safetensors(const std::string& path, const std::map<std::string, SafetensorsView>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  StagedFiles files;
  stage_safetensors(files, path, tensors, metadata);
  files.commit();
}

}  // namespace vit
