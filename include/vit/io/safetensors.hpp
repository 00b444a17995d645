// Reader (and a small writer) for the .safetensors format used by timm and Hugging Face.
//
// Format: an 8-byte little-endian header length N, N bytes of JSON, then the data section.
// The JSON maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative
// to the data section) plus an optional "__metadata__" map of strings.
//
// Everything read is validated before use, so a truncated or lying file gives a vit::Error naming
// the file and the tensor, never an out-of-bounds read: header length within the file (and at most
// 100 MB, the format's limit), the header a JSON object, known dtypes, integer shapes whose byte size
// matches the offsets, and offsets that tile the data section exactly — in order, no overlaps, no
// holes, nothing past the end (the same rule as the reference Rust implementation).
//
// The file is read from disk once into memory; tensors are then converted from there.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vit/core/dtype.hpp"
#include "vit/core/error.hpp"
#include "vit/core/shape.hpp"
#include "vit/core/tensor.hpp"
#include "vit/io/read_file.hpp"

namespace vit {

// One tensor as described by the header.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // as written: "F32", "F16", "BF16", "I64", ...
  Shape shape;
  std::uint64_t begin = 0;  // byte offsets into the data section, [begin, end)
  std::uint64_t end = 0;

  // The element type when it is one the library computes with (F32, F16, BF16).
  std::optional<DType> float_dtype() const {
    if (dtype == "F32") return DType::F32;
    if (dtype == "F16") return DType::F16;
    if (dtype == "BF16") return DType::BF16;
    return std::nullopt;
  }
};

namespace detail {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the safetensors reader assumes a little-endian host");

constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;  // the format's own limit

// Element sizes of every dtype in the safetensors specification; 0 for unknown names.
inline std::size_t safetensors_dtype_size(std::string_view dtype) {
  static const std::map<std::string_view, std::size_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
      {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"F64", 8},     {"I64", 8}, {"U64", 8}};
  auto found = sizes.find(dtype);
  return found == sizes.end() ? 0 : found->second;
}

inline bool multiply_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& product) {
  return __builtin_mul_overflow(a, b, &product);
}

// Parses and validates one header entry.
inline SafetensorsEntry parse_safetensors_entry(const std::string& source, const std::string& name,
                                                const nlohmann::json& value, std::uint64_t data_size) {
  const auto where = [&] { return concat(source, ": tensor '", name, "'"); };
  VIT_CHECK(value.is_object(), where(), ": header entry is not a JSON object");
  VIT_CHECK(value.contains("dtype") && value["dtype"].is_string(), where(), ": missing or non-string \"dtype\"");
  VIT_CHECK(value.contains("shape") && value["shape"].is_array(), where(), ": missing or non-array \"shape\"");
  VIT_CHECK(value.contains("data_offsets") && value["data_offsets"].is_array() && value["data_offsets"].size() == 2,
            where(), ": \"data_offsets\" must be an array [begin, end]");

  SafetensorsEntry entry;
  entry.name = name;
  entry.dtype = value["dtype"].get<std::string>();
  const std::size_t element_size = safetensors_dtype_size(entry.dtype);
  VIT_CHECK(element_size != 0, where(), ": unknown dtype \"", entry.dtype, "\"");

  const auto& shape = value["shape"];
  VIT_CHECK(shape.size() <= std::size_t(Shape::kMaxRank), where(), ": rank ", shape.size(), " exceeds the supported ",
            Shape::kMaxRank);
  std::uint64_t byte_size = element_size;
  for (const auto& extent : shape) {
    VIT_CHECK(extent.is_number_unsigned(), where(), ": shape ", shape.dump(), " must hold non-negative integers");
    const std::uint64_t n = extent.get<std::uint64_t>();
    VIT_CHECK(!multiply_overflows(byte_size, n, byte_size) && n <= std::uint64_t(INT64_MAX), where(), ": shape ",
              shape.dump(), " is too large");
    entry.shape.push_back(std::int64_t(n));
  }

  const auto& offsets = value["data_offsets"];
  VIT_CHECK(offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(), where(),
            ": data_offsets must be non-negative integers, got ", offsets.dump());
  entry.begin = offsets[0].get<std::uint64_t>();
  entry.end = offsets[1].get<std::uint64_t>();
  VIT_CHECK(entry.begin <= entry.end, where(), ": data_offsets ", offsets.dump(), " end before they begin");
  VIT_CHECK(entry.end <= data_size, where(), ": data_offsets ", offsets.dump(), " reach past the end of the data (",
            data_size, " bytes)");
  VIT_CHECK(entry.end - entry.begin == byte_size, where(), ": ", entry.dtype, " shape ", entry.shape, " needs ",
            byte_size, " bytes but data_offsets span ", entry.end - entry.begin);
  return entry;
}

}  // namespace detail

class SafetensorsFile {
 public:
  // Reads and validates a file; throws vit::Error naming the path on any problem.
  static SafetensorsFile open(const std::string& path) { return parse(detail::read_file(path), path); }

  // Validates an in-memory file; `source` names it in error messages.
  static SafetensorsFile parse(std::vector<std::uint8_t> bytes, std::string source = "<memory>") {
    SafetensorsFile file;
    file.source_ = std::move(source);
    file.bytes_ = std::move(bytes);
    file.index();
    return file;
  }

  const std::string& source() const { return source_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }  // in data order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  const SafetensorsEntry* find(std::string_view name) const {
    auto found = by_name_.find(std::string(name));
    return found == by_name_.end() ? nullptr : &entries_[found->second];
  }

  const SafetensorsEntry& at(std::string_view name) const {
    const SafetensorsEntry* entry = find(name);
    VIT_CHECK(entry != nullptr, source_, ": no tensor named '", name, "'");
    return *entry;
  }

  // Raw little-endian bytes of a tensor.
  const std::uint8_t* bytes(const SafetensorsEntry& entry) const { return bytes_.data() + data_start_ + entry.begin; }

  // Converts an F32/F16/BF16 tensor to float into `out` (entry.shape.numel() elements).
  void read_float_into(const SafetensorsEntry& entry, float* out) const {
    const std::optional<DType> dtype = entry.float_dtype();
    VIT_CHECK(dtype.has_value(), source_, ": tensor '", entry.name, "' has dtype ", entry.dtype,
              "; only F32, F16 and BF16 can be loaded");
    const std::uint8_t* source = bytes(entry);
    const std::int64_t count = entry.shape.numel();
    if (*dtype == DType::F32) {
      std::memcpy(out, source, std::size_t(count) * 4);
      return;
    }
    for (std::int64_t i = 0; i < count; ++i) {
      std::uint16_t bits;
      std::memcpy(&bits, source + 2 * i, 2);  // the data section gives no alignment guarantee
      out[i] = *dtype == DType::F16 ? to_float(Half{bits}) : to_float(BFloat16{bits});
    }
  }

  Tensor<float> read_float(const SafetensorsEntry& entry) const {
    Tensor<float> tensor = Tensor<float>::uninitialized(entry.shape);
    read_float_into(entry, tensor.data());
    return tensor;
  }

  Tensor<float> read_float(std::string_view name) const { return read_float(at(name)); }

  // An F64 tensor as double (reference data, e.g. the float64 fixtures of tests/data/lrp), or any tensor
  // read_float_into accepts, widened.
  Tensor<double> read_double(std::string_view name) const {
    const SafetensorsEntry& entry = at(name);
    Tensor<double> tensor = Tensor<double>::uninitialized(entry.shape);
    if (entry.dtype == "F64") {
      std::memcpy(tensor.data(), bytes(entry), std::size_t(entry.shape.numel()) * 8);
      return tensor;
    }
    VIT_CHECK(entry.float_dtype().has_value(), source_, ": tensor '", entry.name, "' has dtype ", entry.dtype,
              "; only F64, F32, F16 and BF16 can be read as double");
    const Tensor<float> values = read_float(entry);
    std::copy_n(values.data(), values.numel(), tensor.data());
    return tensor;
  }

 private:
  void index() {
    const std::uint64_t file_size = bytes_.size();
    VIT_CHECK(file_size >= 8, source_, ": file is ", file_size, " bytes, too short for a safetensors header");
    std::uint64_t header_size = 0;
    std::memcpy(&header_size, bytes_.data(), 8);
    VIT_CHECK(header_size <= detail::kSafetensorsMaxHeaderBytes, source_, ": header length ", header_size,
              " exceeds the format's 100 MB limit");
    VIT_CHECK(header_size <= file_size - 8, source_, ": header length ", header_size, " runs past the end of the ",
              file_size, "-byte file (truncated?)");
    data_start_ = 8 + header_size;
    const std::uint64_t data_size = file_size - data_start_;

    const auto* header_begin = reinterpret_cast<const char*>(bytes_.data() + 8);
    // nlohmann::json keeps the last of duplicate keys silently; a header naming a tensor twice is a lie,
    // so the parser callback records top-level keys and reports the first repeat.
    std::vector<std::string> top_level_keys;
    const auto record_keys = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (depth == 1 && event == nlohmann::json::parse_event_t::key) top_level_keys.push_back(parsed.get<std::string>());
      return true;
    };
    const nlohmann::json header = nlohmann::json::parse(header_begin, header_begin + header_size, record_keys, false);
    VIT_CHECK(!header.is_discarded(), source_, ": header is not valid JSON");
    std::sort(top_level_keys.begin(), top_level_keys.end());
    const auto repeated = std::adjacent_find(top_level_keys.begin(), top_level_keys.end());
    VIT_CHECK(repeated == top_level_keys.end(), source_, ": header names '", *repeated, "' more than once");
    VIT_CHECK(header.is_object(), source_, ": header is not a JSON object");

    for (const auto& [name, value] : header.items()) {
      if (name == "__metadata__") {
        VIT_CHECK(value.is_object(), source_, ": __metadata__ is not a JSON object");
        for (const auto& [key, text] : value.items()) {
          VIT_CHECK(text.is_string(), source_, ": __metadata__ value for '", key, "' is not a string");
          metadata_[key] = text.get<std::string>();
        }
        continue;
      }
      entries_.push_back(detail::parse_safetensors_entry(source_, name, value, data_size));
    }

    // The tensors must tile the data section exactly: sorted by offset, each starts where the last ended.
    std::sort(entries_.begin(), entries_.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t expected_begin = 0;
    const SafetensorsEntry* previous = nullptr;
    for (const SafetensorsEntry& entry : entries_) {
      VIT_CHECK(entry.begin >= expected_begin, source_, ": tensor '", entry.name, "' [", entry.begin, ", ", entry.end,
                ") overlaps tensor '", previous ? previous->name : "", "' ending at ", expected_begin);
      VIT_CHECK(entry.begin == expected_begin, source_, ": gap in the data section before tensor '", entry.name,
                "' (bytes ", expected_begin, " to ", entry.begin, " belong to no tensor)");
      expected_begin = entry.end;
      previous = &entry;
    }
    VIT_CHECK(expected_begin == data_size, source_, ": the data section has ", data_size,
              " bytes but the tensors cover ", expected_begin, " (trailing bytes or a lying header)");

    for (std::size_t i = 0; i < entries_.size(); ++i) by_name_.emplace(entries_[i].name, i);
  }

  std::string source_;
  std::vector<std::uint8_t> bytes_;
  std::uint64_t data_start_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::size_t> by_name_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: float values stored as `dtype` (rounded to nearest even for F16/BF16).
struct SafetensorsTensor {
  std::string name;
  TensorView<const float> values;
  DType dtype = DType::F32;
};

// Encodes tensors as a safetensors file, data in the given order. Used by tests and tools that write
// fixtures, checkpoints in other dtypes, or corrupt variants of them.
inline std::vector<std::uint8_t> encode_safetensors(const std::vector<SafetensorsTensor>& tensors,
                                                    const std::map<std::string, std::string>& metadata = {}) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const SafetensorsTensor& tensor : tensors) {
    std::vector<std::int64_t> shape;
    for (int d = 0; d < tensor.values.rank(); ++d) shape.push_back(tensor.values.size(d));
    const std::uint64_t bytes = std::uint64_t(tensor.values.numel()) * dtype_size(tensor.dtype);
    header[tensor.name] = {
        {"dtype", dtype_name(tensor.dtype)}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data section starts 8-byte aligned
  std::vector<std::uint8_t> out(8 + text.size() + offset);
  const std::uint64_t header_size = text.size();
  std::memcpy(out.data(), &header_size, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::uint8_t* data = out.data() + 8 + text.size();
  for (const SafetensorsTensor& tensor : tensors) {
    for (std::int64_t i = 0; i < tensor.values.numel(); ++i) {
      const float value = tensor.values[i];
      const std::uint16_t bits = tensor.dtype == DType::F16 ? to_half(value).bits : to_bfloat16(value).bits;
      if (tensor.dtype == DType::F32) std::memcpy(data, &value, 4);
      else std::memcpy(data, &bits, 2);
      data += dtype_size(tensor.dtype);
    }
  }
  return out;
}

}  // namespace vit
