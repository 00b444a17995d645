// Reading a whole file into memory (or as JSON), with errors that name the path. Shared by every loader.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vit/core/error.hpp"

namespace vit::detail {

inline std::vector<std::uint8_t> read_file(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  VIT_CHECK(!error && std::filesystem::exists(status), path, ": cannot open (",
            error ? error.message() : std::string("no such file"), ")");
  VIT_CHECK(std::filesystem::is_regular_file(status), path, ": not a regular file");
  std::ifstream stream(path, std::ios::binary | std::ios::ate);
  VIT_CHECK(stream, path, ": cannot open (", std::strerror(errno), ")");
  const std::streamoff size = stream.tellg();
  VIT_CHECK(size >= 0, path, ": cannot determine the file size");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  stream.seekg(0);
  VIT_CHECK(stream.read(reinterpret_cast<char*>(bytes.data()), size), path, ": read failed");
  return bytes;
}

// A whole file parsed as JSON; invalid JSON is a vit::Error naming the path.
inline nlohmann::json read_json_file(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  nlohmann::json json = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  VIT_CHECK(!json.is_discarded(), path, ": not valid JSON");
  return json;
}

}  // namespace vit::detail
