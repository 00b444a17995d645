// Image resizing that reproduces Pillow's Image.resize bit for bit (BILINEAR and BICUBIC, 8-bit RGB),
// which is what timm/torchvision and Hugging Face run on PIL images.
//
// Pillow's algorithm (libImaging/Resample.c), ported step by step:
// - Separable: two passes with the intermediate rounded to uint8; which pass goes first follows
//   Pillow 13 (see resize_like_pil).
// - Per output index i: scale = in/out, filterscale = max(scale, 1) (so downscaling widens the filter:
//   antialiasing), support = filter_support · filterscale, center = (i + 0.5) · scale,
//   taps x in [trunc(center - support + 0.5), trunc(center + support + 0.5)) clipped to the image,
//   weight(x) = filter((x - center + 0.5) · (1 / filterscale)), normalised to sum 1 (in double).
// - Weights become fixed point with 22 fractional bits (round half away from zero); each output is
//   (2^21 + Σ weight · pixel) >> 22, clamped to [0, 255].
// - Filters: bilinear = triangle (support 1); bicubic = Keys' cubic with a = -0.5 (support 2).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/io/crop.hpp"
#include "vit/io/image.hpp"

namespace vit {

enum class Interpolation { Bilinear, Bicubic };

namespace detail {

constexpr int kPilPrecisionBits = 32 - 8 - 2;

inline double pil_filter(Interpolation interpolation, double x) {
  x = std::abs(x);
  if (interpolation == Interpolation::Bilinear) return x < 1.0 ? 1.0 - x : 0.0;
  constexpr double a = -0.5;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Fixed-point taps of one output index: out = clamp((2^21 + Σ weights[j] · in[first + j]) >> 22).
struct PilTaps {
  int first = 0;
  std::vector<std::int32_t> weights;
};

inline std::vector<PilTaps> pil_coefficients(int in_size, int out_size, Interpolation interpolation) {
  const double support_base = interpolation == Interpolation::Bilinear ? 1.0 : 2.0;
  const double scale = double(in_size) / double(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = support_base * filterscale;
  std::vector<PilTaps> taps(static_cast<std::size_t>(out_size));
  std::vector<double> weights;
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const int lo = std::max(int(center - support + 0.5), 0);  // int() truncates, as the C cast does
    const int hi = std::min(int(center + support + 0.5), in_size);
    weights.assign(std::size_t(std::max(hi - lo, 0)), 0.0);
    double total = 0;
    const double inverse_filterscale = 1.0 / filterscale;  // PIL multiplies by the reciprocal: same rounding
    for (int x = lo; x < hi; ++x)
      total += weights[std::size_t(x - lo)] = pil_filter(interpolation, (x - center + 0.5) * inverse_filterscale);
    PilTaps& tap = taps[std::size_t(i)];
    tap.first = lo;
    for (double weight : weights) {
      const double normalised = total != 0.0 ? weight / total : weight;
      const double fixed = normalised * double(1 << kPilPrecisionBits);
      tap.weights.push_back(std::int32_t(normalised < 0 ? -0.5 + fixed : 0.5 + fixed));
    }
  }
  return taps;
}

// Pillow accumulates in 32-bit integers, and so can we: |weights| sum to under 2 (the bicubic lobes), so every
// partial sum, in any order, stays within 255 · 2 · 2^22 + 2^21 < 2^31. Integer sums do not depend on their
// order, which frees the loops below to run in whichever order vectorises.
inline std::uint8_t pil_clip(std::int32_t accumulator) {
  const std::int32_t value = accumulator >> kPilPrecisionBits;  // arithmetic shift: floor
  return std::uint8_t(std::clamp<std::int32_t>(value, 0, 255));
}

constexpr std::int32_t kPilRounding = std::int32_t(1) << (kPilPrecisionBits - 1);

// Rows [first_row, first_row + rows) of `image`, resized horizontally to `horizontal.size()` columns.
// The three channels of an output pixel are summed together, reading each input pixel once.
inline Image pil_horizontal_pass(const Image& image, const std::vector<PilTaps>& horizontal, int first_row, int rows) {
  Image out;
  out.width = int(horizontal.size());
  out.height = rows;
  out.pixels.resize(std::size_t(out.width) * std::size_t(rows) * 3);
  for (int y = 0; y < rows; ++y) {
    const std::uint8_t* in = image.row(first_row + y);
    std::uint8_t* out_pixel = out.row(y);
    for (const PilTaps& tap : horizontal) {
      const std::uint8_t* pixel = in + std::size_t(tap.first) * 3;
      const std::int32_t* weight = tap.weights.data();
      std::int32_t r = kPilRounding, g = kPilRounding, b = kPilRounding;
      for (std::size_t j = 0, taps = tap.weights.size(); j < taps; ++j, pixel += 3) {
        r += std::int32_t(pixel[0]) * weight[j];
        g += std::int32_t(pixel[1]) * weight[j];
        b += std::int32_t(pixel[2]) * weight[j];
      }
      out_pixel[0] = pil_clip(r);
      out_pixel[1] = pil_clip(g);
      out_pixel[2] = pil_clip(b);
      out_pixel += 3;
    }
  }
  return out;
}

// `image` resized vertically to `vertical.size()` rows; its row 0 is source row `row_offset`. Each output row
// is a weighted sum of whole input rows, accumulated row by row (contiguous, so it vectorises).
inline Image pil_vertical_pass(const Image& image, const std::vector<PilTaps>& vertical, int row_offset) {
  Image out;
  out.width = image.width;
  out.height = int(vertical.size());
  out.pixels.resize(std::size_t(out.width) * std::size_t(out.height) * 3);
  const std::size_t row_values = std::size_t(out.width) * 3;
  std::vector<std::int32_t> sums(row_values);
  for (int y = 0; y < out.height; ++y) {
    const PilTaps& tap = vertical[std::size_t(y)];
    std::fill(sums.begin(), sums.end(), kPilRounding);
    for (std::size_t j = 0; j < tap.weights.size(); ++j) {
      const std::uint8_t* in = image.row(tap.first - row_offset + int(j));
      const std::int32_t weight = tap.weights[j];
      for (std::size_t i = 0; i < row_values; ++i) sums[i] += std::int32_t(in[i]) * weight;
    }
    std::uint8_t* out_row = out.row(y);
    for (std::size_t i = 0; i < row_values; ++i) out_row[i] = pil_clip(sums[i]);
  }
  return out;
}

}  // namespace detail

// The `window` of PIL's image.resize((width, height), BILINEAR | BICUBIC), computed alone: every pixel equals
// the full resize's (each output pixel depends only on its own taps), but the columns and rows outside the
// window cost nothing — a centre crop of 224 out of a 248x331 resize skips a third of the work.
// Pass order follows Pillow 13: vertical first when the height shrinks by more than twice what the width
// shrinks by, horizontal first otherwise (Pillow < 13 always went horizontal first; the two orders differ
// by one step on some pixels, because the intermediate is rounded to 8 bits). The window must lie inside
// the width × height output.
inline Image resize_window_like_pil(const Image& image, int width, int height, Interpolation interpolation,
                                    const CropBox& window) {
  VIT_CHECK(width > 0 && height > 0, "resize: target size ", width, "x", height, " must be positive");
  VIT_CHECK(image.width > 0 && image.height > 0, "resize: the image is empty");
  VIT_CHECK(window.width > 0 && window.height > 0 && window.left >= 0 && window.top >= 0 &&
                window.left + window.width <= width && window.top + window.height <= height,
            "resize: the window ", window.width, "x", window.height, " at (", window.left, ", ", window.top,
            ") is not inside the ", width, "x", height, " output");
  const bool need_horizontal = width != image.width, need_vertical = height != image.height;
  if (!need_horizontal && !need_vertical) return crop(image, window);  // PIL returns a copy

  // The taps of the window's columns and rows only.
  const auto window_taps = [&](int in_size, int out_size, int first, int count) {
    std::vector<detail::PilTaps> taps = detail::pil_coefficients(in_size, out_size, interpolation);
    return std::vector<detail::PilTaps>(taps.begin() + first, taps.begin() + first + count);
  };
  const int shrink_h = image.height - height, shrink_w = image.width - width;
  if (shrink_h > 0 && shrink_h > 2 * shrink_w) {
    const std::vector<detail::PilTaps> vertical = window_taps(image.height, height, window.top, window.height);
    const Image tall = detail::pil_vertical_pass(image, vertical, 0);
    if (!need_horizontal) return crop(tall, {0, window.left, window.height, window.width});
    return detail::pil_horizontal_pass(tall, window_taps(image.width, width, window.left, window.width), 0, tall.height);
  }
  if (!need_horizontal) {  // the height grows, the width stays: only the vertical pass (as Pillow)
    const Image columns = crop(image, {0, window.left, image.height, window.width});
    return detail::pil_vertical_pass(columns, window_taps(image.height, height, window.top, window.height), 0);
  }
  const std::vector<detail::PilTaps> horizontal = window_taps(image.width, width, window.left, window.width);
  if (!need_vertical) return detail::pil_horizontal_pass(image, horizontal, window.top, window.height);
  // The horizontal pass covers only the rows the vertical pass reads, as Pillow does.
  const std::vector<detail::PilTaps> vertical = window_taps(image.height, height, window.top, window.height);
  const int first_row = vertical.front().first;
  const int last_row = vertical.back().first + int(vertical.back().weights.size());
  const Image wide = detail::pil_horizontal_pass(image, horizontal, first_row, last_row - first_row);
  return detail::pil_vertical_pass(wide, vertical, first_row);
}

// Resizes to width × height exactly as PIL's image.resize((width, height), BILINEAR | BICUBIC).
inline Image resize_like_pil(const Image& image, int width, int height, Interpolation interpolation) {
  return resize_window_like_pil(image, width, height, interpolation, {0, 0, height, width});
}

}  // namespace vit
