// Colour maps, heat-map drawing (upsampling, colouring, blending, undoing the crop) and .npy output.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <vit/explain.hpp>
#include <vit/io.hpp>

#include "support.hpp"

using Catch::Matchers::Contains;
using Rgb = std::array<std::uint8_t, 3>;

namespace Catch {
template <>
struct StringMaker<Rgb> {  // "(r, g, b)" rather than three raw bytes
  static std::string convert(const Rgb& rgb) {
    return "(" + std::to_string(rgb[0]) + ", " + std::to_string(rgb[1]) + ", " + std::to_string(rgb[2]) + ")";
  }
};
}  // namespace Catch

namespace {

vit::Image solid(int width, int height, std::uint8_t value) {
  return vit::Image{width, height, std::vector<std::uint8_t>(std::size_t(width) * std::size_t(height) * 3, value)};
}

vit::Image gradient(int width, int height) {
  vit::Image image = solid(width, height, 0);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) image.row(y)[x * 3 + c] = std::uint8_t((x * 5 + y * 3 + c * 70) % 256);
  return image;
}

Rgb pixel(const vit::Image& image, int x, int y) {
  const std::uint8_t* p = image.row(y) + x * 3;
  return {p[0], p[1], p[2]};
}

vit::Tensor<float> tensor(vit::Shape shape, std::vector<float> values) {
  vit::Tensor<float> out(shape);
  REQUIRE(std::int64_t(values.size()) == out.numel());
  std::copy(values.begin(), values.end(), out.data());
  return out;
}

// A [14, 14] map that is 1 in its top-left patch and 0 elsewhere.
vit::Tensor<float> corner_map() {
  vit::Tensor<float> map({14, 14});
  map[0] = 1.0f;
  return map;
}

}  // namespace

TEST_CASE("colormaps: endpoints and known values", "[heatmap]") {
  using vit::Colormap;
  // Jet as OpenCV's COLORMAP_JET (what vit-explain shows): dark blue, green-ish middle, dark red.
  CHECK(vit::colormap_rgb(Colormap::Jet, 0.0f) == Rgb{0, 0, 128});
  CHECK(vit::colormap_rgb(Colormap::Jet, 0.5f) == Rgb{130, 255, 126});
  CHECK(vit::colormap_rgb(Colormap::Jet, 1.0f) == Rgb{128, 0, 0});
  // Entries of cv2.applyColorMap(k, COLORMAP_JET) (converted to RGB) at k = 32, 64, 96, 192, 224.
  CHECK(vit::colormap_rgb(Colormap::Jet, 32 / 255.0f) == Rgb{0, 0, 255});
  CHECK(vit::colormap_rgb(Colormap::Jet, 64 / 255.0f) == Rgb{0, 128, 255});
  CHECK(vit::colormap_rgb(Colormap::Jet, 96 / 255.0f) == Rgb{2, 255, 254});
  CHECK(vit::colormap_rgb(Colormap::Jet, 192 / 255.0f) == Rgb{255, 124, 0});
  CHECK(vit::colormap_rgb(Colormap::Jet, 224 / 255.0f) == Rgb{252, 0, 0});

  CHECK(vit::colormap_rgb(Colormap::Viridis, 0.0f) == Rgb{68, 1, 84});
  CHECK(vit::colormap_rgb(Colormap::Viridis, 0.5f) == Rgb{33, 145, 140});
  CHECK(vit::colormap_rgb(Colormap::Viridis, 1.0f) == Rgb{253, 231, 37});
  CHECK(vit::colormap_rgb(Colormap::Viridis, 192 / 255.0f) == Rgb{94, 201, 98});

  CHECK(vit::colormap_rgb(Colormap::Turbo, 0.0f) == Rgb{48, 18, 59});
  CHECK(vit::colormap_rgb(Colormap::Turbo, 0.5f) == Rgb{164, 252, 60});
  CHECK(vit::colormap_rgb(Colormap::Turbo, 1.0f) == Rgb{122, 4, 3});
  CHECK(vit::colormap_rgb(Colormap::Turbo, 64 / 255.0f) == Rgb{40, 188, 235});

  for (Colormap map : {Colormap::Jet, Colormap::Viridis, Colormap::Turbo}) {
    INFO(vit::colormap_name(map));
    CHECK(vit::colormap_rgb(map, -3.0f) == vit::colormap_rgb(map, 0.0f));
    CHECK(vit::colormap_rgb(map, 7.0f) == vit::colormap_rgb(map, 1.0f));
    CHECK(vit::colormap_rgb(map, std::numeric_limits<float>::quiet_NaN()) == vit::colormap_rgb(map, 0.0f));
    CHECK(vit::colormap_rgb(map, std::numeric_limits<float>::infinity()) == vit::colormap_rgb(map, 1.0f));
  }
}

TEST_CASE("colormaps: names", "[heatmap]") {
  CHECK(vit::parse_colormap("jet") == vit::Colormap::Jet);
  CHECK(vit::parse_colormap("viridis") == vit::Colormap::Viridis);
  CHECK(vit::parse_colormap("turbo") == vit::Colormap::Turbo);
  VIT_REQUIRE_ERROR(vit::parse_colormap("hot"), Contains("unknown colormap 'hot'") && Contains("jet, viridis or turbo"));
  VIT_REQUIRE_ERROR(vit::parse_colormap("Jet"), Contains("unknown colormap"));
}

TEST_CASE("upsample_bilinear: align_corners=False, as F.interpolate and cv2.resize", "[heatmap]") {
  // 1-D: source x = (i + 0.5) / 2 - 0.5 → -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to the last sample):
  // weights a, 0.75a + 0.25b, 0.25a + 0.75b, b.
  const vit::Tensor<float> map = tensor({2, 2}, {0, 1, 2, 3});
  const vit::Tensor<float> expected = tensor({4, 4}, {0.0f, 0.25f, 0.75f, 1.0f,  //
                                                      0.5f, 0.75f, 1.25f, 1.5f,  //
                                                      1.5f, 1.75f, 2.25f, 2.5f,  //
                                                      2.0f, 2.25f, 2.75f, 3.0f});
  VIT_REQUIRE_CLOSE(vit::upsample_bilinear(map, 4, 4), expected, 1e-6);

  // Non-square and non-integer factors: 1 × 3 → 1 × 4, source x = (i + 0.5) · 0.75 - 0.5.
  const vit::Tensor<float> row = tensor({1, 3}, {0, 10, 20});
  VIT_REQUIRE_CLOSE(vit::upsample_bilinear(row, 1, 4), tensor({1, 4}, {0.0f, 6.25f, 13.75f, 20.0f}), 1e-5);

  // Same size: unchanged.
  const vit::Tensor<float> random = vit::test::random_tensor({5, 7}, 3);
  VIT_REQUIRE_CLOSE(vit::upsample_bilinear(random, 5, 7), random, 1e-6);

  // A constant map stays constant at any size.
  vit::Tensor<float> constant({3, 5});
  std::fill_n(constant.data(), constant.numel(), 0.625f);
  const vit::Tensor<float> big = vit::upsample_bilinear(constant, 17, 9);
  REQUIRE(big.shape() == vit::Shape({17, 9}));
  for (std::int64_t i = 0; i < big.numel(); ++i) REQUIRE(big[i] == 0.625f);

  VIT_REQUIRE_ERROR(vit::upsample_bilinear(random, 0, 4), Contains("must be positive"));
  VIT_REQUIRE_ERROR(vit::upsample_bilinear(vit::Tensor<float>({2, 2, 2}), 4, 4), Contains("[grid_h, grid_w]"));
}

TEST_CASE("colorize: the colour of each value, and a constant map is one colour", "[heatmap]") {
  const vit::Image image = vit::colorize(tensor({2, 3}, {0.0f, 0.5f, 1.0f, 0.25f, 0.25f, 0.25f}), vit::Colormap::Viridis);
  REQUIRE(image.width == 3);
  REQUIRE(image.height == 2);
  CHECK(pixel(image, 0, 0) == Rgb{68, 1, 84});
  CHECK(pixel(image, 1, 0) == vit::colormap_rgb(vit::Colormap::Viridis, 0.5f));
  CHECK(pixel(image, 2, 0) == Rgb{253, 231, 37});

  vit::Tensor<float> constant({4, 4});
  std::fill_n(constant.data(), constant.numel(), 0.3f);
  const vit::Image flat = vit::colorize(constant, vit::Colormap::Jet);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) REQUIRE(pixel(flat, x, y) == vit::colormap_rgb(vit::Colormap::Jet, 0.3f));
}

TEST_CASE("overlay: base · (1 - alpha) + heat · alpha, rounded", "[heatmap]") {
  const vit::Image base = solid(3, 2, 100), heat = solid(3, 2, 200);
  CHECK(pixel(vit::overlay(base, heat, 0.25f), 1, 1) == Rgb{125, 125, 125});
  CHECK(vit::overlay(base, heat, 0.0f).pixels == base.pixels);
  CHECK(vit::overlay(base, heat, 1.0f).pixels == heat.pixels);
  CHECK(pixel(vit::overlay(solid(1, 1, 0), solid(1, 1, 1), 0.5f), 0, 0) == Rgb{1, 1, 1});  // 0.5 rounds up

  VIT_REQUIRE_ERROR(vit::overlay(base, solid(2, 3, 0), 0.5f), Contains("3x2") && Contains("2x3"));
  VIT_REQUIRE_ERROR(vit::overlay(base, heat, 1.5f), Contains("alpha"));
  VIT_REQUIRE_ERROR(vit::overlay(vit::Image{}, heat, 0.5f), Contains("empty"));
}

TEST_CASE("render_on_crop: the map covers the crop exactly", "[heatmap]") {
  const vit::Image crop = gradient(224, 224);
  const vit::Image out = vit::render_on_crop(crop, corner_map(), vit::Colormap::Jet, 1.0f);
  REQUIRE(out.width == 224);
  REQUIRE(out.height == 224);
  CHECK(pixel(out, 7, 7) == vit::colormap_rgb(vit::Colormap::Jet, 1.0f));  // patch (0, 0)'s centre is at 8.0
  CHECK(pixel(out, 0, 0) == vit::colormap_rgb(vit::Colormap::Jet, 1.0f));
  CHECK(pixel(out, 40, 8) == vit::colormap_rgb(vit::Colormap::Jet, 0.0f));
  CHECK(pixel(out, 223, 223) == vit::colormap_rgb(vit::Colormap::Jet, 0.0f));
  // alpha 0 leaves the crop untouched.
  CHECK(vit::render_on_crop(crop, corner_map(), vit::Colormap::Jet, 0.0f).pixels == crop.pixels);
  // A non-square crop with a grid of the same aspect.
  CHECK(vit::render_on_crop(gradient(320, 224), vit::Tensor<float>({14, 20}), vit::Colormap::Turbo, 0.5f).width == 320);

  VIT_REQUIRE_ERROR(vit::render_on_crop(gradient(256, 224), corner_map(), vit::Colormap::Jet, 0.5f),
                    Contains("[14, 14]") && Contains("256x224"));
  VIT_REQUIRE_ERROR(vit::render_on_crop(crop, vit::Tensor<float>({14, 20}), vit::Colormap::Jet, 0.5f),
                    Contains("[14, 20]") && Contains("224x224"));
}

TEST_CASE("render_on_original: the heat lands in the crop window, the rest is untouched", "[heatmap]") {
  // 640 × 512 → timm's Resize(256) gives 320 × 256 (scale 1/2), CenterCrop(224) starts at (48, 16) there:
  // in the original the window is x ∈ [96, 544), y ∈ [32, 480).
  const vit::Preprocessing preprocessing =
      vit::timm_preprocessing(224, 0.875, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f});
  const vit::CropWindow window = vit::crop_window(640, 512, preprocessing);
  CHECK(window.left == 96);
  CHECK(window.top == 32);
  CHECK(window.width == 448);
  CHECK(window.height == 448);

  const vit::Image original = solid(640, 512, 90);
  const vit::Image out = vit::render_on_original(original, corner_map(), preprocessing, vit::Colormap::Jet, 1.0f);
  REQUIRE(out.width == 640);
  REQUIRE(out.height == 512);
  const Rgb hot = vit::colormap_rgb(vit::Colormap::Jet, 1.0f), cold = vit::colormap_rgb(vit::Colormap::Jet, 0.0f);
  const Rgb untouched{90, 90, 90};
  CHECK(pixel(out, 96, 32) == hot);     // the window's top-left corner
  CHECK(pixel(out, 111, 47) == hot);    // by patch (0, 0)'s centre: 16 × 16 crop pixels are 32 × 32 here
  CHECK(pixel(out, 95, 32) == untouched);
  CHECK(pixel(out, 96, 31) == untouched);
  CHECK(pixel(out, 300, 300) == cold);
  CHECK(pixel(out, 543, 479) == cold);  // the window's last pixel
  CHECK(pixel(out, 544, 479) == untouched);
  CHECK(pixel(out, 543, 480) == untouched);
  int hot_pixels = 0, changed_outside = 0;
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const bool inside = x >= 96 && x < 544 && y >= 32 && y < 480;
      if (!inside && pixel(out, x, y) != untouched) ++changed_outside;
      if (pixel(out, x, y) == hot) {
        ++hot_pixels;
        CHECK((x < 96 + 32 && y < 32 + 32));  // only in the corner patch
      }
    }
  CHECK(changed_outside == 0);
  CHECK(hot_pixels > 0);

  // With a resize that changes nothing (a 256 × 256 original), the window is the crop itself and both
  // renderings agree pixel for pixel.
  const vit::Image square = gradient(256, 256);
  const vit::Image crop = vit::resize_and_crop(square, preprocessing);
  const vit::Tensor<float> map = vit::test::random_tensor({14, 14}, 11, 0.4f);
  const vit::Image on_crop = vit::render_on_crop(crop, map, vit::Colormap::Turbo, 0.6f);
  const vit::Image on_original = vit::render_on_original(square, map, preprocessing, vit::Colormap::Turbo, 0.6f);
  for (int y = 0; y < 224; ++y)  // resizing a 256² image to 256² changes nothing: the crop is a plain cut-out
    REQUIRE(std::memcmp(crop.row(y), square.row(y + 16) + 16 * 3, 224 * 3) == 0);
  for (int y = 0; y < 224; ++y)
    REQUIRE(std::memcmp(on_crop.row(y), on_original.row(y + 16) + 16 * 3, 224 * 3) == 0);

  VIT_REQUIRE_ERROR(vit::render_on_original(original, vit::Tensor<float>({14, 20}), preprocessing, vit::Colormap::Jet, 0.5f),
                    Contains("[14, 20]") && Contains("224x224"));
}

TEST_CASE("crop_window: Hugging Face resizes, no crop, and crops larger than the image", "[heatmap]") {
  // DeiTImageProcessor: an exact 256 × 256 resize (per-axis scales 2.5 and 1.875), then a 224 crop at 16.
  const vit::Preprocessing deit = vit::preprocessing_from_hf_json({{"image_processor_type", "DeiTImageProcessor"}}, "t");
  const vit::CropWindow hf = vit::crop_window(640, 480, deit);
  CHECK(hf.left == Approx(40));
  CHECK(hf.top == Approx(30));
  CHECK(hf.width == Approx(560));
  CHECK(hf.height == Approx(420));

  // ViTImageProcessor: an exact resize and no crop: the window is the whole image.
  const vit::Preprocessing vit_hf = vit::preprocessing_from_hf_json({{"image_processor_type", "ViTImageProcessor"}}, "t");
  const vit::CropWindow whole = vit::crop_window(300, 200, vit_hf);
  CHECK(whole.left == 0);
  CHECK(whole.top == 0);
  CHECK(whole.width == Approx(300));
  CHECK(whole.height == Approx(200));
  CHECK(whole.crop_width == 224);
  CHECK(whole.crop_height == 224);
  const vit::Image out = vit::render_on_original(solid(300, 200, 0), corner_map(), vit_hf, vit::Colormap::Jet, 1.0f);
  CHECK(pixel(out, 0, 0) == vit::colormap_rgb(vit::Colormap::Jet, 1.0f));
  CHECK(pixel(out, 299, 199) == vit::colormap_rgb(vit::Colormap::Jet, 0.0f));

  // A crop larger than the resized image (the preprocessing pads): the window reaches past the edges.
  vit::Preprocessing padded = vit::timm_preprocessing(224, 1.0, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f});
  padded.resize_short = 200;
  const vit::CropWindow past = vit::crop_window(200, 200, padded);
  CHECK(past.left == -12);
  CHECK(past.top == -12);
  CHECK(past.width == 224);
  const vit::Image padded_out = vit::render_on_original(solid(200, 200, 7), corner_map(), padded, vit::Colormap::Jet, 1.0f);
  // Original pixel (0, 0) is crop pixel (12, 12), centre 12.5: 12.5 / 16 - 0.5 = 0.28125 patches past patch 0's
  // centre on both axes, so the bilinear value is (1 - 0.28125)².
  CHECK(pixel(padded_out, 0, 0) == vit::colormap_rgb(vit::Colormap::Jet, 0.71875f * 0.71875f));
  CHECK(pixel(padded_out, 199, 199) == vit::colormap_rgb(vit::Colormap::Jet, 0.0f));
}

TEST_CASE("head_grid: one labelled tile per head", "[heatmap]") {
  const vit::Image crop = solid(48, 32, 128);
  vit::Tensor<float> maps({3, 2, 3});
  for (std::int64_t i = 0; i < maps.numel(); ++i) maps[i] = 0.01f * float(i);  // small, like raw attention
  const vit::Image grid = vit::head_grid(maps, crop, vit::Colormap::Jet, 1.0f, 2);
  CHECK(grid.width == 2 * 48 + 4);
  CHECK(grid.height == 2 * 32 + 4);
  // Each head is scaled to its own maximum: the bottom-right patch of every tile is the hottest colour.
  const Rgb hot = vit::colormap_rgb(vit::Colormap::Jet, 1.0f);
  CHECK(pixel(grid, 47, 31) == hot);
  CHECK(pixel(grid, 52 + 47, 31) == hot);
  CHECK(pixel(grid, 47, 36 + 31) == hot);
  CHECK(pixel(grid, 52 + 20, 36 + 20) == Rgb{16, 16, 16});  // the empty fourth cell
  // The label's box is dark and has white text in it.
  CHECK(pixel(grid, 0, 0) == Rgb{24, 24, 24});
  int white = 0;
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 48; ++x) white += pixel(grid, x, y) == Rgb{255, 255, 255} ? 1 : 0;
  CHECK(white > 20);

  CHECK(vit::head_grid(maps, crop, vit::Colormap::Jet, 0.5f, 10).width == 3 * 48 + 2 * 4);  // at most one row
  VIT_REQUIRE_ERROR(vit::head_grid(maps, crop, vit::Colormap::Jet, 0.5f, 0), Contains("columns"));
  VIT_REQUIRE_ERROR(vit::head_grid(vit::Tensor<float>({2, 3}), crop, vit::Colormap::Jet, 0.5f, 1),
                    Contains("[heads, grid_h, grid_w]"));
}

TEST_CASE("draw_label: white text on a dark box, clipped to the image", "[heatmap]") {
  vit::Image image = solid(40, 10, 200);
  const auto [width, height] = vit::draw_label(image, 30, 2, "head 0", 2);  // runs off the right edge
  CHECK(width > 40);
  CHECK(height > 10);
  CHECK(pixel(image, 29, 5) == Rgb{200, 200, 200});
  CHECK(pixel(image, 30, 2) == Rgb{24, 24, 24});
}

TEST_CASE("npy: NumPy 1.0 format, '<f4', 64-byte aligned header, little-endian payload", "[heatmap][npy]") {
  const vit::Tensor<float> values = tensor({2, 3}, {1.0f, -2.0f, 0.5f, 0.0f, 3.25f, 1e-3f});
  const std::vector<std::uint8_t> bytes = vit::encode_npy(values);
  REQUIRE(bytes.size() > 10);
  CHECK(std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0);
  CHECK(bytes[6] == 1);
  CHECK(bytes[7] == 0);
  const std::size_t header_length = bytes[8] | std::size_t(bytes[9]) << 8;
  CHECK((10 + header_length) % 64 == 0);
  REQUIRE(bytes.size() == 10 + header_length + 6 * 4);
  const std::string header(bytes.begin() + 10, bytes.begin() + 10 + std::ptrdiff_t(header_length));
  CHECK(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0) == 0);
  CHECK(header.back() == '\n');
  CHECK(header.find_first_not_of(' ', 60) == header.size() - 1);  // spaces, then the newline
  // 1.0f = 0x3f800000 and -2.0f = 0xc0000000, least significant byte first.
  const std::uint8_t* payload = bytes.data() + 10 + header_length;
  CHECK(std::vector<int>(payload, payload + 8) == std::vector<int>{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0});
  for (int i = 0; i < 6; ++i) {
    std::uint32_t word = 0;
    for (int b = 0; b < 4; ++b) word |= std::uint32_t(payload[i * 4 + b]) << (8 * b);
    float value = 0;
    std::memcpy(&value, &word, 4);
    CHECK(value == values[i]);
  }

  // The rollout map's shape: a 128-byte header and 14·14 floats.
  CHECK(vit::encode_npy(vit::Tensor<float>({14, 14})).size() == 128 + 14 * 14 * 4);
  // Rank 1 is written as a one-element tuple.
  const std::vector<std::uint8_t> vector = vit::encode_npy(vit::Tensor<float>({5}));
  CHECK(std::string(vector.begin() + 10, vector.end()).find("'shape': (5,), }") != std::string::npos);

  VIT_REQUIRE_ERROR(vit::save_npy("/nonexistent-dir/map.npy", values), Contains("/nonexistent-dir/map.npy"));
}
