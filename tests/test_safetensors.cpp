#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <vit/io/safetensors.hpp>

#include "support.hpp"

namespace {

// A safetensors file from a header text and a data section, with an honest header length.
std::vector<std::uint8_t> make_file(const std::string& header, std::size_t data_bytes, std::uint8_t fill = 0) {
  std::vector<std::uint8_t> bytes(8 + header.size() + data_bytes, fill);
  const std::uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  return bytes;
}

void require_error(std::vector<std::uint8_t> bytes, const std::string& fragment) {
  INFO("expected an error containing: " << fragment);
  VIT_REQUIRE_ERROR(vit::SafetensorsFile::parse(std::move(bytes), "test.safetensors"),
                    Catch::Contains("test.safetensors") && Catch::Contains(fragment));
}

}  // namespace

TEST_CASE("safetensors: round trip through the encoder", "[safetensors]") {
  const vit::Tensor<float> a = vit::test::random_tensor({2, 3}, 1), b = vit::test::random_tensor({5}, 2);
  const auto bytes = vit::encode_safetensors({{"a", a}, {"b", b, vit::DType::F32}}, {{"format", "pt"}});
  const auto file = vit::SafetensorsFile::parse(bytes);
  REQUIRE(file.entries().size() == 2);
  CHECK(file.metadata().at("format") == "pt");
  CHECK(file.at("a").shape == vit::Shape{2, 3});
  VIT_REQUIRE_CLOSE(file.read_float("a"), a, 0.0);
  VIT_REQUIRE_CLOSE(file.read_float("b"), b, 0.0);
  CHECK(file.find("c") == nullptr);
  CHECK_THROWS_WITH(file.at("c"), Catch::Contains("no tensor named 'c'"));
}

TEST_CASE("safetensors: F16 and BF16 tensors convert to float exactly", "[safetensors]") {
  // 1.0, -2.0, 0.5 in half; 1.0, -2.0, 0.5 in bfloat16; and one unaligned start (offset 6).
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[6,12]}})";
  auto bytes = make_file(header, 12);
  const std::uint16_t values[6] = {0x3c00, 0xc000, 0x3800, 0x3f80, 0xc000, 0x3f00};
  std::memcpy(bytes.data() + 8 + header.size(), values, sizeof values);
  const auto file = vit::SafetensorsFile::parse(bytes);
  for (const char* name : {"h", "b"}) {
    const vit::Tensor<float> tensor = file.read_float(name);
    CHECK(tensor[0] == 1.0f);
    CHECK(tensor[1] == -2.0f);
    CHECK(tensor[2] == 0.5f);
  }
}

TEST_CASE("safetensors: reading from disk, and a missing file", "[safetensors]") {
  const vit::Tensor<float> a = vit::test::random_tensor({4, 4}, 3);
  const auto bytes = vit::encode_safetensors({{"a", a}});
  const auto path = std::filesystem::temp_directory_path() / "vit_test_roundtrip.safetensors";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  const auto file = vit::SafetensorsFile::open(path.string());
  VIT_REQUIRE_CLOSE(file.read_float("a"), a, 0.0);
  std::filesystem::remove(path);
  CHECK_THROWS_WITH(vit::SafetensorsFile::open("/nonexistent/model.safetensors"),
                    Catch::Contains("/nonexistent/model.safetensors") && Catch::Contains("cannot open"));
  CHECK_THROWS_WITH(vit::SafetensorsFile::open(VIT_TEST_DATA_DIR), Catch::Contains("not a regular file"));
}

TEST_CASE("safetensors: truncated and lying files give clear errors", "[safetensors][errors]") {
  const vit::Tensor<float> a = vit::test::random_tensor({8, 8}, 4);
  const auto valid = vit::encode_safetensors({{"weight", a}});

  SECTION("empty and too short") {
    require_error({}, "too short");
    require_error({1, 2, 3}, "too short");
  }
  SECTION("truncated in the data section") {
    auto truncated = valid;
    truncated.resize(valid.size() - 10);
    require_error(truncated, "reach past the end of the data");
  }
  SECTION("truncated in the header") {
    auto truncated = valid;
    truncated.resize(20);
    require_error(truncated, "runs past the end");
  }
  SECTION("header length larger than the file") {
    auto lying = valid;
    const std::uint64_t length = valid.size();
    std::memcpy(lying.data(), &length, 8);
    require_error(lying, "runs past the end");
  }
  SECTION("header length beyond the format's limit") {
    auto lying = valid;
    const std::uint64_t length = ~std::uint64_t(0);
    std::memcpy(lying.data(), &length, 8);
    require_error(lying, "100 MB");
  }
  SECTION("trailing bytes no tensor owns") {
    auto padded = valid;
    padded.insert(padded.end(), 16, 0);
    require_error(padded, "cover");
  }
}

TEST_CASE("safetensors: malformed headers give clear errors", "[safetensors][errors]") {
  const auto entry = [](const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return R"("t":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
  };
  require_error(make_file("{not json", 0), "not valid JSON");
  require_error(make_file("[1, 2]", 0), "not a JSON object");
  require_error(make_file("{" + entry("F17", "[2]", "[0,8]") + "}", 8), "unknown dtype \"F17\"");
  require_error(make_file("{" + entry("F32", "[3]", "[0,8]") + "}", 8), "needs 12 bytes but data_offsets span 8");
  require_error(make_file("{" + entry("F32", "[2]", "[0,800]") + "}", 8), "past the end of the data");
  require_error(make_file("{" + entry("F32", "[2]", "[8,0]") + "}", 8), "end before they begin");
  require_error(make_file("{" + entry("F32", "[-2]", "[0,8]") + "}", 8), "non-negative integers");
  require_error(make_file("{" + entry("F32", "[2.5]", "[0,8]") + "}", 8), "non-negative integers");
  require_error(make_file("{" + entry("F32", "[4294967296,4294967296,4294967296]", "[0,8]") + "}", 8), "too large");
  require_error(make_file("{" + entry("F32", "[1,1,1,1,1,1,1]", "[0,4]") + "}", 4), "rank 7");
  require_error(make_file(R"({"t":{"dtype":"F32","shape":[2]}})", 8), "data_offsets");
  require_error(make_file(R"({"t":[1,2]})", 8), "not a JSON object");
  require_error(make_file(R"({"__metadata__":{"k":1}})", 0), "not a string");
  require_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          12),
                "overlaps");
  require_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                          12),
                "gap");
  require_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                          8),
                "more than once");
}

TEST_CASE("safetensors: tensors of other dtypes are indexed but not loadable as weights", "[safetensors][errors]") {
  const auto file = vit::SafetensorsFile::parse(make_file(R"({"step":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8));
  CHECK(file.at("step").dtype == "I64");
  CHECK_THROWS_WITH(file.read_float("step"), Catch::Contains("'step'") && Catch::Contains("I64"));
}
