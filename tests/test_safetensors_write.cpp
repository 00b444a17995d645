// The safetensors writer: the format's exact layout, round trips through the reader, errors, and writes that
// never destroy the previous file.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>
#include <vit/io/safetensors.hpp>
#include <vit/io/safetensors_write.hpp>

#include "support.hpp"
#include "temp_files.hpp"

namespace {

std::string header_of(const std::vector<std::uint8_t>& bytes) {
  std::uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  return std::string(bytes.begin() + 8, bytes.begin() + 8 + std::ptrdiff_t(length));
}

}  // namespace

TEST_CASE("safetensors writer: the exact bytes the format specifies", "[safetensors][write]") {
  const float values[2] = {1.0f, -2.0f};
  const auto bytes = vit::serialize_safetensors({{"a", vit::SafetensorsView("F32", {2}, values)}});
  // 8-byte little-endian length, compact JSON with __metadata__ first, spaces up to a multiple of 8, the data.
  const std::string json = R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string padded = json + std::string((8 - json.size() % 8) % 8, ' ');
  std::string expected;
  const std::uint64_t length = padded.size();
  for (int i = 0; i < 8; ++i) expected += char(std::uint8_t(length >> (8 * i)));
  expected += padded;
  expected += std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);  // 1.0f, -2.0f little-endian
  CHECK(std::string(bytes.begin(), bytes.end()) == expected);
}

TEST_CASE("safetensors writer: F32, I64 and U8 round-trip through the reader, aligned and in a fixed order",
          "[safetensors][write]") {
  const vit::Tensor<float> weights = vit::test::random_tensor({3, 5}, 7);
  const std::vector<std::int64_t> steps = {12345678901234, -1, 0};
  const std::vector<std::uint8_t> flags = {1, 0, 1};  // three bytes: whatever follows them starts unaligned
  const vit::Tensor<float> empty({0, 4});
  std::map<std::string, vit::SafetensorsView> tensors{
      {"flags", vit::TensorView<const std::uint8_t>(flags.data(), {3})},
      {"z.steps", vit::TensorView<const std::int64_t>(steps.data(), {3})},
      {"weights", weights},
      {"empty", empty}};
  const auto bytes = vit::serialize_safetensors(tensors, {{"epoch", "3"}, {"note", "ünïcode ✓"}});
  CHECK(bytes == vit::serialize_safetensors(tensors, {{"note", "ünïcode ✓"}, {"epoch", "3"}}));  // deterministic

  const auto file = vit::SafetensorsFile::parse(bytes, "written");
  CHECK(file.metadata() == std::map<std::string, std::string>{{"format", "pt"}, {"epoch", "3"}, {"note", "ünïcode ✓"}});
  CHECK(file.at("weights").dtype == "F32");
  CHECK(file.at("z.steps").dtype == "I64");
  CHECK(file.at("flags").dtype == "U8");
  CHECK(file.at("empty").shape == vit::Shape{0, 4});
  VIT_REQUIRE_CLOSE(file.read_float("weights"), weights, 0.0);
  CHECK(std::memcmp(file.bytes(file.at("z.steps")), steps.data(), 24) == 0);
  CHECK(std::memcmp(file.bytes(file.at("flags")), flags.data(), 3) == 0);

  // Largest elements first, then by name: every tensor starts aligned to its own element size.
  const std::string header = header_of(bytes);
  CHECK((8 + header.size()) % 8 == 0);
  CHECK(header.rfind(R"({"__metadata__":{"epoch":"3","format":"pt","note":)", 0) == 0);
  CHECK(header.find("\"z.steps\"") < header.find("\"empty\""));
  CHECK(header.find("\"empty\"") < header.find("\"weights\""));
  CHECK(header.find("\"weights\"") < header.find("\"flags\""));
  CHECK(file.at("z.steps").begin == 0);
  CHECK(file.at("weights").begin == 24);
  CHECK(file.at("flags").begin == 24 + 60);
  CHECK(header.find_last_not_of(' ') == header.find_last_of('}'));  // only spaces pad
}

TEST_CASE("safetensors writer: a caller's format is kept", "[safetensors][write]") {
  const float value = 1;
  const auto file = vit::SafetensorsFile::parse(
      vit::serialize_safetensors({{"x", vit::SafetensorsView("F32", {1}, &value)}}, {{"format", "np"}}));
  CHECK(file.metadata() == std::map<std::string, std::string>{{"format", "np"}});
}

TEST_CASE("safetensors writer: bad tensors are errors naming them", "[safetensors][write]") {
  const float value = 1;
  const vit::SafetensorsView good("F32", {1}, &value);
  VIT_REQUIRE_ERROR(vit::serialize_safetensors({{"x", vit::SafetensorsView("F33", {1}, &value)}}),
                    Catch::Contains("'x'") && Catch::Contains("unknown dtype \"F33\""));
  VIT_REQUIRE_ERROR(vit::serialize_safetensors({{"x", vit::SafetensorsView("F32", {2}, nullptr)}}),
                    Catch::Contains("'x' has no data"));
  VIT_REQUIRE_ERROR(vit::serialize_safetensors({{"__metadata__", good}}), Catch::Contains("cannot name a tensor"));
  VIT_REQUIRE_ERROR(vit::serialize_safetensors({{"", good}}), Catch::Contains("cannot name a tensor"));
  VIT_REQUIRE_ERROR(vit::serialize_safetensors({{"x", good}}, {{"bad", "\xff\xfe"}}), Catch::Contains("not valid UTF-8"));
}

TEST_CASE("safetensors writer: write_safetensors replaces the file only when the new one is complete",
          "[safetensors][write]") {
  vit::test::TempDir folder;
  const std::string path = folder / "state.safetensors";
  const vit::Tensor<float> first = vit::test::random_tensor({64}, 1), second = vit::test::random_tensor({100000}, 2);
  vit::write_safetensors(path, {{"x", first}});
  const auto saved = vit::test::file_bytes(path);
  VIT_REQUIRE_CLOSE(vit::SafetensorsFile::open(path).read_float("x"), first, 0.0);

  {
    // The disk "fills up" after 64 KiB: the 400 kB write fails half way.
    vit::test::FileSizeLimit limit(64 * 1024);
    VIT_REQUIRE_ERROR(vit::write_safetensors(path, {{"x", second}}),
                      Catch::Contains(path) && Catch::Contains("writing failed") &&
                          Catch::Contains("previous file, if any, is unchanged"));
  }
  CHECK(vit::test::file_bytes(path) == saved);
  CHECK(vit::test::list_folder(folder.str()) == std::set<std::string>{"state.safetensors"});  // no temporary left

  vit::write_safetensors(path, {{"x", second}});
  VIT_REQUIRE_CLOSE(vit::SafetensorsFile::open(path).read_float("x"), second, 0.0);
  CHECK(vit::test::list_folder(folder.str()) == std::set<std::string>{"state.safetensors"});
}

TEST_CASE("safetensors writer: a folder that does not exist is an error naming the path", "[safetensors][write]") {
  vit::test::TempDir folder;
  const float value = 1;
  const std::string path = folder / "missing/x.safetensors";
  VIT_REQUIRE_ERROR(vit::write_safetensors(path, {{"x", vit::SafetensorsView("F32", {1}, &value)}}),
                    Catch::Contains(path) && Catch::Contains("cannot create the temporary file"));
}

TEST_CASE("staged files: a failure in any file leaves every target as it was", "[safetensors][write]") {
  vit::test::TempDir folder;
  vit::write_file_atomically(folder / "a.txt", std::string("old a"));
  vit::write_file_atomically(folder / "b.txt", std::string("old b"));
  const std::string big(200000, 'x');
  {
    vit::StagedFiles files;
    files.stage(folder / "a.txt", std::string("new a"));  // written under a temporary name
    vit::test::FileSizeLimit limit(1000);
    CHECK_THROWS_AS(files.stage(folder / "b.txt", big), vit::Error);
  }  // destroyed without commit(): the staged temporary of a.txt is removed
  CHECK(vit::test::list_folder(folder.str()) == std::set<std::string>{"a.txt", "b.txt"});
  CHECK(vit::test::file_bytes(folder / "a.txt") == std::vector<std::uint8_t>{'o', 'l', 'd', ' ', 'a'});

  vit::StagedFiles files;
  files.stage(folder / "a.txt", std::string("new a"));
  files.stage(folder / "b.txt", std::string("new b"));
  CHECK(vit::test::file_bytes(folder / "a.txt") == std::vector<std::uint8_t>{'o', 'l', 'd', ' ', 'a'});  // not yet
  files.commit();
  CHECK(vit::test::file_bytes(folder / "a.txt") == std::vector<std::uint8_t>{'n', 'e', 'w', ' ', 'a'});
  CHECK(vit::test::file_bytes(folder / "b.txt") == std::vector<std::uint8_t>{'n', 'e', 'w', ' ', 'b'});
  CHECK(vit::test::list_folder(folder.str()) == std::set<std::string>{"a.txt", "b.txt"});
}

TEST_CASE("crc32 is zlib's", "[safetensors][write]") {
  CHECK(vit::detail::crc32("", 0) == 0u);
  CHECK(vit::detail::crc32("123456789", 9) == 0xCBF43926u);  // the standard check value
  CHECK(vit::detail::crc32("6789", 4, vit::detail::crc32("12345", 5)) == 0xCBF43926u);
}
