// Drawing explanation maps: bilinear upsampling of a patch-grid map, colouring, blending over the
// preprocessed crop or over the original image, and a labelled grid of per-head maps.
//
// Maps are plain float tensors of shape [grid_h, grid_w] (one image's attention_rollout or raw_attention
// slice) with values expected in [0, 1]; colours come from colormap.hpp. The map's grid covers the crop
// the model saw exactly: patch (i, j) is the crop's rectangle [j·W/gw, (j+1)·W/gw) × [i·H/gh, (i+1)·H/gh).
//
// Upsampling follows align_corners=False (F.interpolate(mode="bilinear"), cv2.resize INTER_LINEAR): output
// pixel centres are mapped to source coordinates (x + 0.5) · in/out - 0.5, clamped to the edge samples.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stb/stb_easy_font.h>  // header-only, every function static: no implementation define needed

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/explain/colormap.hpp"
#include "vit/io/image.hpp"
#include "vit/io/preprocess.hpp"

namespace vit {

namespace detail {

inline void check_map(TensorView<const float> map, std::string_view what) {
  VIT_CHECK(map.rank() == 2 && map.size(0) > 0 && map.size(1) > 0, what, ": expected a map of shape [grid_h, grid_w], got ",
            map.shape());
  VIT_CHECK(map.device() == Device::CPU, what, ": expected a host tensor");
}

inline void check_image(const Image& image, std::string_view what) {
  VIT_CHECK(image.width > 0 && image.height > 0 &&
                image.pixels.size() == std::size_t(image.width) * std::size_t(image.height) * 3,
            what, ": the image is empty or its pixel buffer does not match ", image.width, "x", image.height);
}

inline void check_alpha(float alpha, std::string_view what) {
  VIT_CHECK(alpha >= 0.0f && alpha <= 1.0f, what, ": alpha ", alpha, " is outside [0, 1]");
}

// A [gh, gw] map fits a width × height crop when its grid has the crop's aspect within one patch: with the
// patch width W/gw as the patch size, the grid's height gh · W/gw is within a patch of H.
inline void check_map_fits(TensorView<const float> map, int width, int height, std::string_view what) {
  const double patch = double(width) / double(map.size(1));
  const double covered = double(map.size(0)) * patch;
  VIT_CHECK(std::abs(covered - double(height)) < patch, what, ": a ", map.shape(), " map does not fit a ", width, "x",
            height, " (width x height) crop: its patch grid would cover ", covered, " rows of ", height);
}

// Source coordinate of a position in output pixels (centre = index + 0.5) for align_corners=False, split
// into the lower sample, the upper sample and the weight of the upper one.
struct LinearTap {
  std::int64_t low = 0, high = 0;
  double weight = 0;
};

inline LinearTap linear_tap(double centre, double scale, std::int64_t size) {
  double source = centre * scale - 0.5;
  if (source < 0) source = 0;
  auto low = std::int64_t(std::floor(source));
  if (low > size - 1) low = size - 1;
  const std::int64_t high = std::min(low + 1, size - 1);
  return {low, high, high == low ? 0.0 : source - double(low)};
}

inline double sample_bilinear(TensorView<const float> map, const LinearTap& row, const LinearTap& column) {
  const std::int64_t width = map.size(1);
  const float* data = map.data();
  const double top = double(data[row.low * width + column.low]) * (1 - column.weight) +
                     double(data[row.low * width + column.high]) * column.weight;
  const double bottom = double(data[row.high * width + column.low]) * (1 - column.weight) +
                        double(data[row.high * width + column.high]) * column.weight;
  return top * (1 - row.weight) + bottom * row.weight;
}

inline std::uint8_t blend(std::uint8_t base, std::uint8_t heat, float alpha) {
  const float value = float(base) * (1.0f - alpha) + float(heat) * alpha;
  return std::uint8_t(std::clamp(std::floor(value + 0.5f), 0.0f, 255.0f));
}

// `map` divided by its maximum, for drawing; all zeros when the maximum is not positive.
inline Tensor<float> scaled_to_maximum(TensorView<const float> map) {
  Tensor<float> out = Tensor<float>::uninitialized(map.shape());
  float max_value = 0;
  for (std::int64_t i = 0; i < map.numel(); ++i) max_value = std::max(max_value, map[i]);
  for (std::int64_t i = 0; i < map.numel(); ++i) out[i] = max_value > 0 ? map[i] / max_value : 0.0f;
  return out;
}

inline Image blank_image(int width, int height, std::uint8_t value = 0) {
  return Image{width, height, std::vector<std::uint8_t>(std::size_t(width) * std::size_t(height) * 3, value)};
}

}  // namespace detail

// map [gh, gw] → [out_h, out_w], bilinear with align_corners=False (as cv2.resize INTER_LINEAR and
// F.interpolate(mode="bilinear", align_corners=False)). Computed in double.
inline Tensor<float> upsample_bilinear(TensorView<const float> map, int out_h, int out_w) {
  detail::check_map(map, "upsample_bilinear");
  VIT_CHECK(out_h > 0 && out_w > 0, "upsample_bilinear: output size ", out_h, "x", out_w, " must be positive");
  const std::int64_t in_h = map.size(0), in_w = map.size(1);
  const double scale_y = double(in_h) / out_h, scale_x = double(in_w) / out_w;
  std::vector<detail::LinearTap> columns(static_cast<std::size_t>(out_w));
  for (int x = 0; x < out_w; ++x) columns[std::size_t(x)] = detail::linear_tap(x + 0.5, scale_x, in_w);
  Tensor<float> out = Tensor<float>::uninitialized({out_h, out_w});
  for (int y = 0; y < out_h; ++y) {
    const detail::LinearTap row = detail::linear_tap(y + 0.5, scale_y, in_h);
    for (int x = 0; x < out_w; ++x)
      out[std::int64_t(y) * out_w + x] = float(detail::sample_bilinear(map, row, columns[std::size_t(x)]));
  }
  return out;
}

// map [H, W] with values in [0, 1] → an H × W image in the colormap's colours (values outside are clamped,
// NaN is 0). A constant map renders as one colour, the colour of that value: no rescaling happens here.
inline Image colorize(TensorView<const float> map, Colormap colormap) {
  detail::check_map(map, "colorize");
  VIT_CHECK(map.size(0) <= 65535 && map.size(1) <= 65535, "colorize: map ", map.shape(), " is too large");
  Image image = detail::blank_image(int(map.size(1)), int(map.size(0)));
  for (std::int64_t i = 0; i < map.numel(); ++i) {
    const auto rgb = colormap_rgb(colormap, map[i]);
    std::memcpy(image.pixels.data() + i * 3, rgb.data(), 3);
  }
  return image;
}

// base · (1 - alpha) + heat · alpha per channel, rounded to nearest. Both images must have the same size.
inline Image overlay(const Image& base, const Image& heat, float alpha) {
  detail::check_image(base, "overlay (base)");
  detail::check_image(heat, "overlay (heat)");
  detail::check_alpha(alpha, "overlay");
  VIT_CHECK(base.width == heat.width && base.height == heat.height, "overlay: the base is ", base.width, "x",
            base.height, " but the heat map is ", heat.width, "x", heat.height);
  Image out = detail::blank_image(base.width, base.height);
  for (std::size_t i = 0; i < out.pixels.size(); ++i) out.pixels[i] = detail::blend(base.pixels[i], heat.pixels[i], alpha);
  return out;
}

// The map over the preprocessed crop (e.g. 224 × 224) the model saw: upsampled to the crop's size,
// coloured and blended with weight alpha. The map's grid must fit the crop (see check_map_fits).
inline Image render_on_crop(const Image& crop, TensorView<const float> map, Colormap colormap, float alpha) {
  detail::check_image(crop, "render_on_crop");
  detail::check_map(map, "render_on_crop");
  detail::check_map_fits(map, crop.width, crop.height, "render_on_crop");
  detail::check_alpha(alpha, "render_on_crop");
  const Tensor<float> upsampled = upsample_bilinear(map, crop.height, crop.width);
  return overlay(crop, colorize(upsampled, colormap), alpha);
}

// Where the crop the model saw lies in the original image, in original pixels (fractional): the centre
// crop window in resized coordinates (Preprocessing::resized_size, detail::center_crop_offset), scaled by
// original / resized per axis. Without a centre crop it is the whole image. The window can reach past the
// image's edges when the crop is larger than the resized image (the preprocessing padded it).
struct CropWindow {
  double left = 0, top = 0, width = 0, height = 0;  // in original-image pixels
  int crop_width = 0, crop_height = 0;              // the crop's size in model-input pixels
};

inline CropWindow crop_window(int original_width, int original_height, const Preprocessing& preprocessing) {
  preprocessing.validate();
  const auto [resized_width, resized_height] = preprocessing.resized_size(original_width, original_height);
  const int crop_width = preprocessing.output_width(resized_width);
  const int crop_height = preprocessing.output_height(resized_height);
  int left = 0, top = 0;
  if (preprocessing.center_crop) {
    left = detail::center_crop_offset(resized_width, crop_width, preprocessing.crop_rounding);
    top = detail::center_crop_offset(resized_height, crop_height, preprocessing.crop_rounding);
  }
  const double scale_x = double(original_width) / resized_width, scale_y = double(original_height) / resized_height;
  return {left * scale_x, top * scale_y, crop_width * scale_x, crop_height * scale_y, crop_width, crop_height};
}

// The map over the original image: preprocessing's resize and centre crop are undone, so the map is drawn
// over the part of the original that the crop came from, upsampled bilinearly (align_corners=False relative
// to the crop window). Outside that window the original is left as it is, without any colour: the model
// never saw those pixels, and painting them "cold" would claim it had looked and found nothing. The map's
// grid must fit the crop (preprocessing's crop size, or the resized size without a centre crop).
inline Image render_on_original(const Image& original, TensorView<const float> map, const Preprocessing& preprocessing,
                                Colormap colormap, float alpha) {
  detail::check_image(original, "render_on_original");
  detail::check_map(map, "render_on_original");
  detail::check_alpha(alpha, "render_on_original");
  const CropWindow window = crop_window(original.width, original.height, preprocessing);
  detail::check_map_fits(map, window.crop_width, window.crop_height, "render_on_original");
  const std::int64_t grid_h = map.size(0), grid_w = map.size(1);
  // Map-grid units per original pixel.
  const double scale_x = double(grid_w) / window.width, scale_y = double(grid_h) / window.height;
  Image out = original;
  const int x_begin = std::max(0, int(std::ceil(window.left - 0.5)));
  const int x_end = std::min(original.width, int(std::ceil(window.left + window.width - 0.5)));
  const int y_begin = std::max(0, int(std::ceil(window.top - 0.5)));
  const int y_end = std::min(original.height, int(std::ceil(window.top + window.height - 0.5)));
  std::vector<detail::LinearTap> columns;
  for (int x = x_begin; x < x_end; ++x) columns.push_back(detail::linear_tap(x + 0.5 - window.left, scale_x, grid_w));
  for (int y = y_begin; y < y_end; ++y) {
    const detail::LinearTap row = detail::linear_tap(y + 0.5 - window.top, scale_y, grid_h);
    std::uint8_t* pixels = out.row(y);
    for (int x = x_begin; x < x_end; ++x) {
      const auto value = float(detail::sample_bilinear(map, row, columns[std::size_t(x - x_begin)]));
      const auto rgb = colormap_rgb(colormap, value);
      for (int c = 0; c < 3; ++c) pixels[x * 3 + c] = detail::blend(pixels[x * 3 + c], rgb[std::size_t(c)], alpha);
    }
  }
  return out;
}

// Draws `text` (printable ASCII; anything else shows as '?') at (x, y) with stb_easy_font, each font pixel
// `scale` × `scale` image pixels: white text on a dark box with a margin of `scale` pixels. Clipped to the
// image. Returns the box's width and height.
inline std::pair<int, int> draw_label(Image& image, int x, int y, std::string_view text, int scale = 2) {
  detail::check_image(image, "draw_label");
  VIT_CHECK(scale > 0 && scale <= 64, "draw_label: scale ", scale, " is outside [1, 64]");
  std::string ascii(text);
  for (char& c : ascii)
    if (c < 32 || c > 126) c = '?';
  const int margin = scale;
  // stb_easy_font writes quads of 4 vertices {x, y, z: float; rgba: 4 bytes}; ~270 bytes per character.
  std::vector<float> buffer(ascii.size() * 80 + 64);
  const int quads = stb_easy_font_print(0.0f, 0.0f, ascii.data(), nullptr, buffer.data(),
                                        int(buffer.size() * sizeof(float)));
  struct Rect {
    float x0, y0, x1, y1;
  };
  std::vector<Rect> rects;
  float text_w = float(stb_easy_font_width(ascii.data())), text_h = 0;
  for (int q = 0; q < quads; ++q) {
    const float* v = buffer.data() + q * 16;  // vertex j at v + 4j: x, y, z, colour
    Rect rect{v[0], v[1], v[0], v[1]};
    for (int j = 1; j < 4; ++j) {
      rect.x0 = std::min(rect.x0, v[4 * j]);
      rect.x1 = std::max(rect.x1, v[4 * j]);
      rect.y0 = std::min(rect.y0, v[4 * j + 1]);
      rect.y1 = std::max(rect.y1, v[4 * j + 1]);
    }
    text_w = std::max(text_w, rect.x1);
    text_h = std::max(text_h, rect.y1);
    rects.push_back(rect);
  }
  const int box_w = int(std::ceil(text_w)) * scale + 2 * margin;
  const int box_h = int(std::ceil(text_h)) * scale + 2 * margin;
  const auto fill = [&](int x0, int y0, int x1, int y1, std::uint8_t value) {
    x0 = std::max(x0, 0), y0 = std::max(y0, 0), x1 = std::min(x1, image.width), y1 = std::min(y1, image.height);
    for (int py = y0; py < y1; ++py)
      if (x1 > x0) std::memset(image.row(py) + x0 * 3, value, std::size_t(x1 - x0) * 3);
  };
  fill(x, y, x + box_w, y + box_h, 24);
  for (const Rect& rect : rects)
    fill(x + margin + int(std::lround(rect.x0 * float(scale))), y + margin + int(std::lround(rect.y0 * float(scale))),
         x + margin + int(std::lround(rect.x1 * float(scale))), y + margin + int(std::lround(rect.y1 * float(scale))),
         255);
  return {box_w, box_h};
}

// Per-head maps [H, gh, gw] (e.g. one image's raw_attention) over the crop, tiled `columns` to a row with a
// 4-pixel dark gap, each tile labelled "head i". Each head's map is divided by its own maximum first (raw
// attention probabilities are small; a head whose map is all zero stays at the colormap's 0).
inline Image head_grid(TensorView<const float> maps, const Image& crop, Colormap colormap, float alpha, int columns) {
  VIT_CHECK(maps.rank() == 3 && maps.size(0) > 0, "head_grid: expected maps of shape [heads, grid_h, grid_w], got ",
            maps.shape());
  VIT_CHECK(maps.device() == Device::CPU, "head_grid: expected a host tensor");
  VIT_CHECK(columns > 0, "head_grid: columns must be positive, got ", columns);
  detail::check_image(crop, "head_grid");
  const int heads = int(maps.size(0));
  columns = std::min(columns, heads);
  const int rows = (heads + columns - 1) / columns;
  constexpr int gap = 4;
  const std::int64_t tile_w = crop.width + gap, tile_h = crop.height + gap;
  VIT_CHECK(tile_w * columns * tile_h * rows <= kMaxImagePixels, "head_grid: a ", columns, "x", rows, " grid of ",
            crop.width, "x", crop.height, " tiles is too large");
  Image grid = detail::blank_image(int(tile_w * columns - gap), int(tile_h * rows - gap), 16);
  for (int head = 0; head < heads; ++head) {
    Image tile = render_on_crop(crop, detail::scaled_to_maximum(maps.slice(head)), colormap, alpha);
    draw_label(tile, 0, 0, "head " + std::to_string(head), 2);
    const int left = int((head % columns) * tile_w), top = int((head / columns) * tile_h);
    for (int y = 0; y < tile.height; ++y)
      std::memcpy(grid.row(top + y) + left * 3, tile.row(y), std::size_t(tile.width) * 3);
  }
  return grid;
}

// Several rendered maps side by side, for comparing methods or classes on one image: `tiles` (any sizes) in a
// grid of `columns`, each under a strip with its title, with 4-pixel dark gaps. Cells are as large as the
// largest tile; a title that does not fit its tile at font scale 2 is drawn at scale 1 (and clipped).
inline Image titled_grid(const std::vector<Image>& tiles, const std::vector<std::string>& titles, int columns) {
  VIT_CHECK(!tiles.empty() && titles.size() == tiles.size(), "titled_grid: ", tiles.size(), " tiles and ",
            titles.size(), " titles");
  VIT_CHECK(columns > 0, "titled_grid: columns must be positive, got ", columns);
  int cell_w = 0, cell_h = 0;
  for (const Image& tile : tiles) {
    detail::check_image(tile, "titled_grid");
    cell_w = std::max(cell_w, tile.width);
    cell_h = std::max(cell_h, tile.height);
  }
  constexpr int gap = 4, strip = 28;  // a scale-2 label is 26 pixels high
  columns = std::min(columns, int(tiles.size()));
  const int rows = (int(tiles.size()) + columns - 1) / columns;
  const std::int64_t width = std::int64_t(cell_w + gap) * columns - gap, height = std::int64_t(cell_h + strip + gap) * rows - gap;
  VIT_CHECK(width * height <= kMaxImagePixels, "titled_grid: a ", columns, "x", rows, " grid of ", cell_w, "x", cell_h,
            " tiles is too large");
  Image grid = detail::blank_image(int(width), int(height), 16);
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const int left = int(i % std::size_t(columns)) * (cell_w + gap), top = int(i / std::size_t(columns)) * (cell_h + strip + gap);
    Image title = detail::blank_image(tiles[i].width, strip, 24);
    const int text_width = stb_easy_font_width(const_cast<char*>(titles[i].c_str())) * 2 + 4;
    draw_label(title, 0, 1, titles[i], text_width <= title.width ? 2 : 1);
    for (int y = 0; y < strip; ++y) std::memcpy(grid.row(top + y) + left * 3, title.row(y), std::size_t(title.width) * 3);
    for (int y = 0; y < tiles[i].height; ++y)
      std::memcpy(grid.row(top + strip + y) + left * 3, tiles[i].row(y), std::size_t(tiles[i].width) * 3);
  }
  return grid;
}

}  // namespace vit
