// Image decoding, its failure modes, crop arithmetic and preprocessing configuration.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <vit/io.hpp>

#include "support.hpp"

namespace {

vit::Image gradient(int width, int height) {
  vit::Image image{width, height, std::vector<std::uint8_t>(std::size_t(width) * std::size_t(height) * 3)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) image.row(y)[x * 3 + c] = std::uint8_t((x * 7 + y * 13 + c * 50) % 256);
  return image;
}

vit::Image decode(const std::vector<std::uint8_t>& bytes) { return vit::decode_image(bytes.data(), bytes.size(), "test.png"); }

// A PNG signature and an IHDR chunk claiming width × height (no pixel data follows).
std::vector<std::uint8_t> png_header(std::uint32_t width, std::uint32_t height) {
  std::vector<std::uint8_t> bytes = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (std::uint32_t value : {width, height})
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(std::uint8_t(value >> shift));
  for (int byte : {8, 2, 0, 0, 0, 0, 0, 0, 0}) bytes.push_back(std::uint8_t(byte));  // 8-bit RGB, then a (bad) CRC
  return bytes;
}

}  // namespace

TEST_CASE("images: PNG round trip through stb", "[image]") {
  const vit::Image image = gradient(37, 23);
  const vit::Image decoded = decode(vit::encode_png(image));
  CHECK(decoded.width == 37);
  CHECK(decoded.height == 23);
  CHECK(decoded.pixels == image.pixels);
  const vit::Image one = decode(vit::encode_png(gradient(1, 1)));
  CHECK(one.width == 1);
  CHECK(one.height == 1);
}

TEST_CASE("images: corrupt and hostile inputs give a clear error naming the file", "[image][errors]") {
  VIT_REQUIRE_ERROR(decode({}), Catch::Contains("test.png") && Catch::Contains("empty"));
  const std::string text = "this is a text file, not a JPEG\n";
  VIT_REQUIRE_ERROR(decode({text.begin(), text.end()}), Catch::Contains("test.png") && Catch::Contains("not a readable image"));
  std::vector<std::uint8_t> truncated = vit::encode_png(gradient(64, 64));
  truncated.resize(truncated.size() / 2);
  VIT_REQUIRE_ERROR(decode(truncated), Catch::Contains("test.png"));
  // A header claiming 60000×60000 is refused before any pixel memory is allocated.
  VIT_REQUIRE_ERROR(decode(png_header(60000, 60000)), Catch::Contains("60000x60000") && Catch::Contains("limit"));
  // Sides whose product overflows 64 bits (found by fuzz_image under UBSan) are refused the same way.
  VIT_REQUIRE_ERROR(decode(png_header(3217014719u, 3217014719u)), Catch::Contains("3217014719x3217014719") && Catch::Contains("limit"));
  // A JPEG with a fill byte before its start-of-image marker (FF FF D8 FF ...), or FF D8 not followed by a
  // marker: PIL refuses both; stb_image would decode them with its own JPEG decoder, whose Debian build
  // aborted the process on a corrupt one (found by fuzz_image). Refused before stb sees them.
  std::vector<std::uint8_t> jpeg = vit::detail::read_file(vit::test::data_path("images/baseline_120x90.jpg"));
  jpeg.insert(jpeg.begin(), 0xff);
  VIT_REQUIRE_ERROR(decode(jpeg), Catch::Contains("test.png") && Catch::Contains("not the FF D8 FF"));
  VIT_REQUIRE_ERROR(decode({0xff, 0xd8, 0x00, 0x01}), Catch::Contains("not the FF D8 FF"));
  VIT_REQUIRE_ERROR(vit::load_image("/nonexistent/cat.jpg"), Catch::Contains("/nonexistent/cat.jpg") && Catch::Contains("cannot open"));
  VIT_REQUIRE_ERROR(vit::load_image(VIT_TEST_DATA_DIR), Catch::Contains(VIT_TEST_DATA_DIR));
}

TEST_CASE("preprocessing: output sizes and crop offsets follow torchvision and Hugging Face", "[preprocess]") {
  vit::Preprocessing timm = vit::timm_preprocessing(224, 0.875, {0, 0, 0}, {1, 1, 1});
  CHECK(timm.resize_short == 256);
  CHECK(timm.resized_size(612, 408) == std::pair{384, 256});  // int(256 · 612 / 408) = 384
  CHECK(timm.resized_size(500, 470) == std::pair{272, 256});  // int(272.34)
  CHECK(timm.resized_size(1, 1000) == std::pair{256, 256000});
  CHECK(vit::timm_preprocessing(224, 0.9, {0, 0, 0}, {1, 1, 1}).resize_short == 248);
  VIT_REQUIRE_ERROR(timm.resized_size(1, 1'000'000), Catch::Contains("1x1000000") && Catch::Contains("elongated"));

  using vit::detail::center_crop_offset;
  using Rounding = vit::CropRounding;
  CHECK(center_crop_offset(256, 224, Rounding::Torchvision) == 16);
  CHECK(center_crop_offset(341, 224, Rounding::Torchvision) == 58);  // round(58.5) = 58: ties to even
  CHECK(center_crop_offset(343, 224, Rounding::Torchvision) == 60);  // round(59.5) = 60
  CHECK(center_crop_offset(341, 224, Rounding::HuggingFace) == 58);  // floor
  CHECK(center_crop_offset(343, 224, Rounding::HuggingFace) == 59);
  CHECK(center_crop_offset(221, 224, Rounding::Torchvision) == -1);  // pads (224 - 221) // 2 = 1 on the left
  CHECK(center_crop_offset(221, 224, Rounding::HuggingFace) == -2);  // floor(-1.5)

  // A crop larger than the image pads with zeros around it.
  vit::Preprocessing pad;
  pad.resize = vit::ResizeMode::Exact;
  pad.resize_height = pad.resize_width = 2;
  pad.crop_height = pad.crop_width = 4;
  const vit::Image image = gradient(2, 2);
  const vit::Image padded = vit::resize_and_crop(image, pad);
  REQUIRE(padded.width == 4);
  CHECK(padded.row(0)[0] == 0);
  CHECK(padded.row(1)[3] == image.row(0)[0]);  // torchvision: offset -1 in both directions
  CHECK(padded.row(3)[11] == 0);
}

TEST_CASE("preprocessing: normalisation is (x / 255 - mean) / std, planar", "[preprocess]") {
  vit::Preprocessing preprocessing;
  preprocessing.resize = vit::ResizeMode::Exact;
  preprocessing.resize_height = preprocessing.resize_width = 3;
  preprocessing.center_crop = false;
  const vit::Image image = gradient(3, 3);
  const vit::Tensor<float> batch = vit::preprocess({image, image}, preprocessing);
  REQUIRE(batch.shape() == vit::Shape{2, 3, 3, 3});
  for (int c = 0; c < 3; ++c) {
    const float expected = (float(image.row(1)[2 * 3 + c]) / 255.0f - preprocessing.mean[std::size_t(c)]) /
                           preprocessing.stddev[std::size_t(c)];
    CHECK(batch[27 + c * 9 + 1 * 3 + 2] == Approx(expected).margin(1e-6));
  }
}

TEST_CASE("preprocessing: Hugging Face preprocessor_config.json", "[preprocess][config]") {
  const nlohmann::json vit_json = {{"do_normalize", true}, {"do_rescale", true}, {"do_resize", true},
                                   {"image_mean", {0.5, 0.5, 0.5}}, {"image_std", {0.5, 0.5, 0.5}},
                                   {"image_processor_type", "ViTImageProcessor"}, {"resample", 2},
                                   {"rescale_factor", 0.00392156862745098}, {"size", {{"height", 224}, {"width", 224}}}};
  const vit::Preprocessing vit_preprocessing = vit::preprocessing_from_hf_json(vit_json, "preprocessor_config.json");
  CHECK(vit_preprocessing.resize == vit::ResizeMode::Exact);
  CHECK(vit_preprocessing.interpolation == vit::Interpolation::Bilinear);
  CHECK_FALSE(vit_preprocessing.center_crop);
  CHECK(vit_preprocessing.mean[0] == 0.5f);

  // DeiT processors default to 256×256 bicubic + a 224 crop with ImageNet statistics.
  const vit::Preprocessing deit = vit::preprocessing_from_hf_json({{"image_processor_type", "DeiTImageProcessor"}}, "p.json");
  CHECK(deit.resize_height == 256);
  CHECK(deit.center_crop);
  CHECK(deit.crop_height == 224);
  CHECK(deit.crop_rounding == vit::CropRounding::HuggingFace);
  CHECK(deit.interpolation == vit::Interpolation::Bicubic);
  CHECK(deit.mean[0] == 0.485f);

  const vit::Preprocessing shortest = vit::preprocessing_from_hf_json({{"size", {{"shortest_edge", 256}}}}, "p.json");
  CHECK(shortest.resize == vit::ResizeMode::ShortSide);
  CHECK(shortest.resize_short == 256);

  VIT_REQUIRE_ERROR(vit::preprocessing_from_hf_json({{"resample", 1}}, "p.json"), Catch::Contains("resample"));
  VIT_REQUIRE_ERROR(vit::preprocessing_from_hf_json({{"size", {{"height", -3}, {"width", 2}}}}, "p.json"),
                    Catch::Contains("size"));
  VIT_REQUIRE_ERROR(vit::preprocessing_from_hf_json({{"image_mean", {0.5, 0.5}}}, "p.json"), Catch::Contains("image_mean"));
  VIT_REQUIRE_ERROR(vit::preprocessing_from_hf_json({{"image_std", {0.5, 0.0, 0.5}}}, "p.json"), Catch::Contains("zero"));
}
