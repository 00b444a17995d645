// Per-sample transforms: 8-bit RGB image → normalised [C, H, W] floats, the model's input layout.
//
// Every geometric step runs on the 8-bit image, exactly as torchvision runs it on a PIL image, so the
// evaluation pipeline is the checkpoint-faithful preprocessing of vit/io/preprocess.hpp and resizing is
// PIL's own (vit/io/pil_resize.hpp). A Transform is
//   geometry   one of
//              - Preprocess: the evaluation preprocessing (resize, centre crop) of `preprocessing`;
//              - RandomResizedCrop: torchvision's RandomResizedCrop (timm's defaults: scale (0.08, 1),
//                log-uniform ratio (3/4, 4/3), 10 attempts then the centre-crop fallback), the crop
//                resized with the checkpoint's interpolation;
//              - RandomCrop: torchvision's RandomCrop(size, padding) with zero fill, for small images;
//   flip       a horizontal flip with probability flip_probability (torchvision's RandomHorizontalFlip);
//   channels   preprocessing.channels: 3 RGB (grey sources are already replicated); 1 PIL's convert("L")
//              before the geometry, as timm loads images for a 1-channel model;
//   normalise  (pixel · rescale_factor - mean) / std per channel, from `preprocessing`.
// The random draws come from the SplitMix64 stream the loader derives from (seed, epoch, sample index),
// in torchvision's order: the crop's draws, then the flip's.
//
// torchvision draws RandomResizedCrop's scale and log-ratio in float32 and timm in double; vit draws in
// double (the bits come from another generator anyway). timm's own RandomResizedCropAndInterpolation
// also accepts a crop that rounds to 0 pixels, torchvision's does not; vit follows torchvision.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>

#include "vit/core/error.hpp"
#include "vit/core/shape.hpp"
#include "vit/io/crop.hpp"
#include "vit/io/image.hpp"
#include "vit/io/pil_resize.hpp"
#include "vit/io/preprocess.hpp"
#include "vit/train/random.hpp"

namespace vit {

struct RandomResizedCropOptions {
  double scale_min = 0.08, scale_max = 1.0;             // share of the image's area
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;  // width / height, drawn log-uniformly
  int attempts = 10;
};

// torchvision's RandomResizedCrop.get_params for an image of height × width: up to `attempts` times draw
// an area share s and a log-ratio t, take w = round(√(s·area·e^t)), h = round(√(s·area/e^t)) (half to
// even, as Python's round); the first that fits (0 < w <= width, 0 < h <= height) is placed at a uniform
// top in [0, height - h] then left in [0, width - w]. Otherwise the centre crop of the whole image,
// clamped to the ratio range.
inline CropBox random_resized_crop_box(int height, int width, const RandomResizedCropOptions& options,
                                       SplitMix64& random) {
  VIT_CHECK(height > 0 && width > 0, "random resized crop: an image of ", width, "x", height);
  const double area = double(height) * double(width);
  const double log_ratio_min = std::log(options.ratio_min), log_ratio_max = std::log(options.ratio_max);
  for (int attempt = 0; attempt < options.attempts; ++attempt) {
    const double target_area = area * random.uniform(options.scale_min, options.scale_max);
    const double aspect_ratio = std::exp(random.uniform(log_ratio_min, log_ratio_max));
    const double w = std::nearbyint(std::sqrt(target_area * aspect_ratio));
    const double h = std::nearbyint(std::sqrt(target_area / aspect_ratio));
    if (0 < w && w <= width && 0 < h && h <= height) {
      CropBox box;
      box.height = int(h);
      box.width = int(w);
      box.top = int(random.below(std::uint64_t(height - box.height + 1)));
      box.left = int(random.below(std::uint64_t(width - box.width + 1)));
      return box;
    }
  }
  CropBox box;
  const double in_ratio = double(width) / double(height);
  const double ratio_low = std::min(options.ratio_min, options.ratio_max);
  const double ratio_high = std::max(options.ratio_min, options.ratio_max);
  if (in_ratio < ratio_low) {
    box.width = width;
    box.height = int(std::nearbyint(box.width / ratio_low));
  } else if (in_ratio > ratio_high) {
    box.height = height;
    box.width = int(std::nearbyint(box.height * ratio_high));
  } else {
    box.width = width;
    box.height = height;
  }
  box.top = (height - box.height) / 2;  // both non-negative: floor division as Python's //
  box.left = (width - box.width) / 2;
  return box;
}

// torchvision's RandomCrop.get_params: a height × width window of an image_height × image_width image,
// top then left uniform; no draw when the sizes are equal.
inline CropBox random_crop_box(int image_height, int image_width, int height, int width, SplitMix64& random) {
  VIT_CHECK(height <= image_height && width <= image_width, "random crop: the crop (", width, "x", height,
            ") is larger than the padded image (", image_width, "x", image_height, ")");
  CropBox box{0, 0, height, width};
  if (height == image_height && width == image_width) return box;
  box.top = int(random.below(std::uint64_t(image_height - height + 1)));
  box.left = int(random.below(std::uint64_t(image_width - width + 1)));
  return box;
}


// Mirrors the image left to right, in place.
inline void flip_horizontal(Image& image) {
  for (int y = 0; y < image.height; ++y) {
    std::uint8_t* row = image.row(y);
    for (int left = 0, right = image.width - 1; left < right; ++left, --right)
      for (int c = 0; c < 3; ++c) std::swap(row[left * 3 + c], row[right * 3 + c]);
  }
}

enum class Geometry { Preprocess, RandomResizedCrop, RandomCrop };

struct Transform {
  Geometry geometry = Geometry::Preprocess;
  // Preprocess: its resize and centre crop. Every geometry: its interpolation (RandomResizedCrop),
  // rescale_factor, mean, stddev and channels (1: PIL's convert("L") first, as timm loads for such models).
  Preprocessing preprocessing;
  int height = 224, width = 224;                 // output size of RandomResizedCrop and RandomCrop
  RandomResizedCropOptions random_resized_crop;  // RandomResizedCrop
  int padding = 0;                               // RandomCrop: zero border added on every side first
  double flip_probability = 0.0;                 // horizontal flip after the geometry

  int output_height() const {
    if (geometry != Geometry::Preprocess) return height;
    return preprocessing.center_crop ? preprocessing.crop_height : preprocessing.resize_height;
  }
  int output_width() const {
    if (geometry != Geometry::Preprocess) return width;
    return preprocessing.center_crop ? preprocessing.crop_width : preprocessing.resize_width;
  }
  // [C, H, W]
  Shape output_shape() const { return Shape{preprocessing.channels, output_height(), output_width()}; }

  void validate() const {
    preprocessing.validate();
    VIT_CHECK(flip_probability >= 0 && flip_probability <= 1, "transform: flip probability ", flip_probability,
              " outside [0, 1]");
    if (geometry == Geometry::Preprocess) {
      VIT_CHECK(preprocessing.center_crop || preprocessing.resize == ResizeMode::Exact,
                "transform: preprocessing without a centre crop or an exact resize gives images of different sizes");
      return;
    }
    VIT_CHECK(height > 0 && width > 0, "transform: output size ", width, "x", height, " must be positive");
    if (geometry == Geometry::RandomCrop) VIT_CHECK(padding >= 0, "transform: negative padding ", padding);
    if (geometry == Geometry::RandomResizedCrop) {
      const RandomResizedCropOptions& options = random_resized_crop;
      VIT_CHECK(options.scale_min > 0 && options.scale_min <= options.scale_max, "transform: scale range (",
                options.scale_min, ", ", options.scale_max, ") must be increasing and positive");
      VIT_CHECK(options.ratio_min > 0 && options.ratio_max > 0, "transform: ratio range (", options.ratio_min, ", ",
                options.ratio_max, ") must be positive");
      VIT_CHECK(options.attempts >= 0, "transform: negative attempts");
    }
  }

  // The 8-bit stage: geometry, then flip. Draws from `random` as torchvision's transforms do.
  Image augment(const Image& image, SplitMix64& random) const {
    Image out;
    if (geometry == Geometry::Preprocess) out = resize_and_crop(image, preprocessing);  // makes grey itself
    else if (preprocessing.channels == 1) out = random_geometry(grey_like_pil(image), random);
    else out = random_geometry(image, random);
    if (flip_probability > 0 && random.uniform() < flip_probability) flip_horizontal(out);
    return out;
  }

  // RandomResizedCrop or RandomCrop of `image`, drawing from `random`.
  Image random_geometry(const Image& image, SplitMix64& random) const {
    if (geometry == Geometry::RandomResizedCrop) {
      const CropBox box = random_resized_crop_box(image.height, image.width, random_resized_crop, random);
      return resize_like_pil(crop(image, box), width, height, preprocessing.interpolation);
    }
    CropBox box = random_crop_box(image.height + 2 * padding, image.width + 2 * padding, height, width, random);
    box.top -= padding;  // a window of the padded image is this window of the image itself
    box.left -= padding;
    return crop(image, box);
  }

  // The float stage. image: [H, W, 3] bytes of the output size; out: [channels, H, W].
  void normalize(const Image& image, float* out) const {
    VIT_CHECK(image.height == output_height() && image.width == output_width(), "transform: a ", image.width, "x",
              image.height, " image where ", output_width(), "x", output_height(), " was expected");
    normalize_into(image, preprocessing, out);
  }

  // image → out: [channels, output_height(), output_width()].
  void operator()(const Image& image, SplitMix64& random, float* out) const { normalize(augment(image, random), out); }
};

// Evaluation: the checkpoint's preprocessing (vit::preprocessing_for_checkpoint / default_preprocessing).
inline Transform eval_transform(const Preprocessing& preprocessing) {
  Transform transform;
  transform.geometry = Geometry::Preprocess;
  transform.preprocessing = preprocessing;
  transform.validate();
  return transform;
}

// Training at the checkpoint's input size (its eval output size): RandomResizedCrop with timm's defaults
// and the checkpoint's interpolation, horizontal flip p = 0.5, the checkpoint's mean and std.
inline Transform random_resized_crop_transform(const Preprocessing& preprocessing) {
  Transform transform = eval_transform(preprocessing);
  transform.height = transform.output_height();
  transform.width = transform.output_width();
  transform.geometry = Geometry::RandomResizedCrop;
  transform.flip_probability = 0.5;
  transform.validate();
  return transform;
}

namespace detail {

inline Preprocessing exact_resize_preprocessing(int size, Interpolation interpolation, std::array<float, 3> mean,
                                                std::array<float, 3> stddev, int channels) {
  Preprocessing preprocessing;
  preprocessing.resize = ResizeMode::Exact;
  preprocessing.resize_height = preprocessing.resize_width = size;
  preprocessing.interpolation = interpolation;
  preprocessing.center_crop = false;
  preprocessing.mean = mean;
  preprocessing.stddev = stddev;
  preprocessing.channels = channels;
  return preprocessing;
}

}  // namespace detail

// Small images trained from scratch (Fashion-MNIST, CIFAR): RandomCrop(size, padding) with zero fill and
// a horizontal flip p = 0.5. For one channel only mean[0] and stddev[0] are used.
inline Transform random_crop_transform(int size, int padding, std::array<float, 3> mean, std::array<float, 3> stddev,
                                       int channels) {
  Transform transform;
  transform.geometry = Geometry::RandomCrop;
  transform.preprocessing = detail::exact_resize_preprocessing(size, Interpolation::Bicubic, mean, stddev, channels);
  transform.height = transform.width = size;
  transform.padding = padding;
  transform.flip_probability = 0.5;
  transform.validate();
  return transform;
}

// Resize to size × size exactly, as PIL's resize((size, size), interpolation) (nothing changes when the
// image already has that size), then an optional horizontal flip: small images at their own size, or
// Fashion-MNIST upsampled from 28 to 224 with bicubic for transfer learning onto DeiT-tiny (grey is
// already replicated to RGB; pass the ImageNet mean and std).
inline Transform resize_transform(int size, Interpolation interpolation, std::array<float, 3> mean,
                                  std::array<float, 3> stddev, int channels = 3, double flip_probability = 0.0) {
  Transform transform = eval_transform(detail::exact_resize_preprocessing(size, interpolation, mean, stddev, channels));
  transform.flip_probability = flip_probability;
  transform.validate();
  return transform;
}

}  // namespace vit
