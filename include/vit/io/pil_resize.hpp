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

inline std::uint8_t pil_clip(std::int64_t accumulator) {
  const std::int64_t value = accumulator >> kPilPrecisionBits;  // arithmetic shift: floor
  return std::uint8_t(std::clamp<std::int64_t>(value, 0, 255));
}

}  // namespace detail

namespace detail {

// Rows [first_row, first_row + rows) of `image`, resized horizontally to `horizontal.size()` columns.
inline Image pil_horizontal_pass(const Image& image, const std::vector<PilTaps>& horizontal, int first_row, int rows) {
  Image out;
  out.width = int(horizontal.size());
  out.height = rows;
  out.pixels.resize(std::size_t(out.width) * std::size_t(rows) * 3);
  for (int y = 0; y < rows; ++y) {
    const std::uint8_t* in = image.row(first_row + y);
    std::uint8_t* out_row = out.row(y);
    for (int x = 0; x < out.width; ++x) {
      const PilTaps& tap = horizontal[std::size_t(x)];
      for (std::size_t c = 0; c < 3; ++c) {
        std::int64_t sum = std::int64_t(1) << (kPilPrecisionBits - 1);
        for (std::size_t j = 0; j < tap.weights.size(); ++j)
          sum += std::int64_t(in[(std::size_t(tap.first) + j) * 3 + c]) * tap.weights[j];
        out_row[std::size_t(x) * 3 + c] = pil_clip(sum);
      }
    }
  }
  return out;
}

// `image` resized vertically to `vertical.size()` rows; its row 0 is source row `row_offset`.
inline Image pil_vertical_pass(const Image& image, const std::vector<PilTaps>& vertical, int row_offset) {
  Image out;
  out.width = image.width;
  out.height = int(vertical.size());
  out.pixels.resize(std::size_t(out.width) * std::size_t(out.height) * 3);
  for (int y = 0; y < out.height; ++y) {
    const PilTaps& tap = vertical[std::size_t(y)];
    std::uint8_t* out_row = out.row(y);
    for (int i = 0; i < out.width * 3; ++i) {
      std::int64_t sum = std::int64_t(1) << (kPilPrecisionBits - 1);
      for (std::size_t j = 0; j < tap.weights.size(); ++j)
        sum += std::int64_t(image.row(tap.first - row_offset + int(j))[i]) * tap.weights[j];
      out_row[i] = pil_clip(sum);
    }
  }
  return out;
}

}  // namespace detail

// Resizes to width × height exactly as PIL's image.resize((width, height), BILINEAR | BICUBIC).
// Pass order follows Pillow 13: vertical first when the height shrinks by more than twice what the width
// shrinks by, horizontal first otherwise (Pillow < 13 always went horizontal first; the two orders differ
// by one step on some pixels, because the intermediate is rounded to 8 bits).
inline Image resize_like_pil(const Image& image, int width, int height, Interpolation interpolation) {
  VIT_CHECK(width > 0 && height > 0, "resize: target size ", width, "x", height, " must be positive");
  VIT_CHECK(image.width > 0 && image.height > 0, "resize: the image is empty");
  const bool need_horizontal = width != image.width, need_vertical = height != image.height;
  if (!need_horizontal && !need_vertical) return image;  // PIL returns a copy

  const std::vector<detail::PilTaps> horizontal = detail::pil_coefficients(image.width, width, interpolation);
  const std::vector<detail::PilTaps> vertical = detail::pil_coefficients(image.height, height, interpolation);
  const int shrink_h = image.height - height, shrink_w = image.width - width;
  if (shrink_h > 0 && shrink_h > 2 * shrink_w) {
    if (!need_horizontal) return detail::pil_vertical_pass(image, vertical, 0);
    const Image tall = detail::pil_vertical_pass(image, vertical, 0);
    return detail::pil_horizontal_pass(tall, horizontal, 0, tall.height);
  }
  if (!need_vertical) return detail::pil_horizontal_pass(image, horizontal, 0, image.height);
  // The horizontal pass covers only the rows the vertical pass reads, as Pillow does.
  const int first_row = vertical.front().first;
  const int last_row = vertical.back().first + int(vertical.back().weights.size());
  const Image wide = detail::pil_horizontal_pass(image, horizontal, first_row, last_row - first_row);
  return detail::pil_vertical_pass(wide, vertical, first_row);
}

}  // namespace vit
