// Preprocessing: decoded RGB image → resize → centre crop → [0, 1] → (x - mean) / std, as timm and
// Hugging Face do it, so that the same picture gives the same tensor as in Python. A model of one input
// channel gets the image as PIL's convert("L") makes it first (timm loads images in mode "L" for such
// models), then the same steps.
//
// The 8-bit stage (resize + crop) is bit-exact with PIL (see pil_resize.hpp); crops follow the
// framework's offset rounding: torchvision uses round((size - crop) / 2) with ties to even (Python's
// round), Hugging Face uses floor((size - crop) / 2). Crops larger than the image pad with zeros, as
// both frameworks do.
#pragma once

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vit/core/context.hpp"
#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/parallel.hpp"
#include "vit/io/crop.hpp"
#include "vit/io/image.hpp"
#include "vit/io/pil_resize.hpp"
#include "vit/io/read_file.hpp"

namespace vit {

enum class ResizeMode {
  ShortSide,  // shorter side to `resize_short`, aspect ratio kept (torchvision Resize(int), HF shortest_edge)
  Exact,      // to resize_height × resize_width (HF ViTImageProcessor / DeiTImageProcessor)
};

enum class CropRounding { Torchvision, HuggingFace };

struct Preprocessing {
  ResizeMode resize = ResizeMode::ShortSide;
  int resize_short = 256;                    // ShortSide
  int resize_height = 256, resize_width = 256;  // Exact
  Interpolation interpolation = Interpolation::Bicubic;
  bool center_crop = true;
  int crop_height = 224, crop_width = 224;
  CropRounding crop_rounding = CropRounding::Torchvision;
  float rescale_factor = 1.0f / 255.0f;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet (timm DeiT, HF DeiT)
  std::array<float, 3> stddev{0.229f, 0.224f, 0.225f};
  int channels = 3;  // 3: RGB; 1: grey (PIL's convert("L") before resizing); then only mean[0], stddev[0] apply

  // Size of the image after resizing an image of the given size. Throws when a very elongated image
  // (say 1×100000) would resize to more pixels than any decoded image may have.
  std::pair<int, int> resized_size(int width, int height) const {
    if (resize == ResizeMode::Exact) return {resize_width, resize_height};
    // torchvision: the short side becomes `resize_short`, the long side int(resize_short * long / short).
    const bool wide = width >= height;
    const int short_side = wide ? height : width, long_side = wide ? width : height;
    const double scaled = std::floor(double(resize_short) * double(long_side) / double(short_side));
    VIT_CHECK(scaled * resize_short <= double(kMaxImagePixels), "preprocessing: a ", width, "x", height,
              " image is too elongated: resizing its short side to ", resize_short, " needs ", scaled * resize_short,
              " pixels, more than the limit of ", kMaxImagePixels);
    return wide ? std::pair{int(scaled), resize_short} : std::pair{resize_short, int(scaled)};
  }

  int output_height(int resized_height) const { return center_crop ? crop_height : resized_height; }
  int output_width(int resized_width) const { return center_crop ? crop_width : resized_width; }

  void validate() const {
    VIT_CHECK(resize != ResizeMode::ShortSide || resize_short > 0, "preprocessing: resize_short must be positive");
    VIT_CHECK(resize != ResizeMode::Exact || (resize_height > 0 && resize_width > 0),
              "preprocessing: resize size must be positive");
    VIT_CHECK(!center_crop || (crop_height > 0 && crop_width > 0), "preprocessing: crop size must be positive");
    for (float value : stddev) VIT_CHECK(value != 0.0f, "preprocessing: a standard deviation is zero");
    VIT_CHECK(channels == 1 || channels == 3, "preprocessing: ", channels, " channels (1 or 3)");
  }
};

// PIL's convert("L") of one RGB pixel: ITU-R 601-2 luma in 16-bit fixed point, rounded; exact for grey.
inline std::uint8_t luma_like_pil(const std::uint8_t* rgb) {
  return std::uint8_t((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
}

// The image as PIL's convert("L") makes it, kept as RGB with three equal channels: PIL resizes an "L"
// image with the same 8-bit code per band, so every later step gives each channel the grey result.
inline Image grey_like_pil(const Image& image) {
  Image grey = image;
  for (std::size_t i = 0; i < grey.pixels.size(); i += 3) {
    const std::uint8_t luma = luma_like_pil(&grey.pixels[i]);
    grey.pixels[i] = grey.pixels[i + 1] = grey.pixels[i + 2] = luma;
  }
  return grey;
}

// timm's eval transform for a model trained at `image_size`: Resize(floor(image_size / crop_pct)) + CenterCrop.
inline Preprocessing timm_preprocessing(int image_size, double crop_pct, std::array<float, 3> mean,
                                        std::array<float, 3> stddev, Interpolation interpolation = Interpolation::Bicubic) {
  VIT_CHECK(crop_pct > 0 && crop_pct <= 1, "preprocessing: crop_pct ", crop_pct, " must be in (0, 1]");
  Preprocessing preprocessing;
  preprocessing.resize = ResizeMode::ShortSide;
  preprocessing.resize_short = int(std::floor(double(image_size) / crop_pct));
  preprocessing.interpolation = interpolation;
  preprocessing.center_crop = true;
  preprocessing.crop_height = preprocessing.crop_width = image_size;
  preprocessing.crop_rounding = CropRounding::Torchvision;
  preprocessing.mean = mean;
  preprocessing.stddev = stddev;
  return preprocessing;
}

namespace detail {

// Offset of a centred crop of `crop` out of `size` (negative: the crop is larger and pads).
inline int center_crop_offset(int size, int crop, CropRounding rounding) {
  const int difference = size - crop;
  if (rounding == CropRounding::HuggingFace) return int(std::floor(difference / 2.0));
  // torchvision pads first when the crop is larger (left pad (crop - size) // 2), else rounds half to even.
  if (difference < 0) return -((-difference) / 2);
  return int(std::nearbyint(difference / 2.0));
}

}  // namespace detail

// The 8-bit stage: resized and cropped RGB (grey in all three channels for a 1-channel model), bit-exact
// with PIL + torchvision/HF.
inline Image resize_and_crop(const Image& image, const Preprocessing& preprocessing) {
  preprocessing.validate();
  if (preprocessing.channels == 1) {
    Preprocessing rgb = preprocessing;
    rgb.channels = 3;
    return resize_and_crop(grey_like_pil(image), rgb);
  }
  const auto [width, height] = preprocessing.resized_size(image.width, image.height);
  VIT_CHECK(width > 0 && height > 0, "preprocessing: a ", image.width, "x", image.height, " image resizes to ", width,
            "x", height);
  if (!preprocessing.center_crop) return resize_like_pil(image, width, height, preprocessing.interpolation);

  // Only the part of the resize the crop keeps is computed; where the crop is larger it pads with zeros.
  const CropBox box{detail::center_crop_offset(height, preprocessing.crop_height, preprocessing.crop_rounding),
                    detail::center_crop_offset(width, preprocessing.crop_width, preprocessing.crop_rounding),
                    preprocessing.crop_height, preprocessing.crop_width};
  const int top = std::max(box.top, 0), left = std::max(box.left, 0);
  const CropBox inside{top, left, std::min(box.top + box.height, height) - top, std::min(box.left + box.width, width) - left};
  const Image window = resize_window_like_pil(image, width, height, preprocessing.interpolation, inside);
  if (inside == box) return window;
  return crop(window, {box.top - top, box.left - left, box.height, box.width});
}

// RGB bytes → normalised planar floats: out[c][y][x] = (pixel · rescale_factor - mean[c]) / stddev[c].
// out: [channels, H, W] for an H × W image; one channel reads the red one (grey: all three are equal).
inline void normalize_into(const Image& image, const Preprocessing& preprocessing, float* out) {
  const std::size_t plane = std::size_t(image.width) * std::size_t(image.height);
  const std::size_t channels = std::size_t(preprocessing.channels);
  for (std::size_t i = 0; i < plane; ++i)
    for (std::size_t c = 0; c < channels; ++c)
      out[c * plane + i] =
          (float(image.pixels[i * 3 + c]) * preprocessing.rescale_factor - preprocessing.mean[c]) / preprocessing.stddev[c];
}

// Images already resized and cropped (resize_and_crop), all of one size → [B, channels, H, W], normalised.
inline Tensor<float> normalize_batch(const std::vector<Image>& crops, const Preprocessing& preprocessing) {
  VIT_CHECK(!crops.empty(), "preprocess: no images");
  const int height = crops.front().height, width = crops.front().width;
  for (const Image& image : crops)
    VIT_CHECK(image.height == height && image.width == width, "preprocess: images come out at different sizes (",
              width, "x", height, " and ", image.width, "x", image.height, "); use a centre crop or an exact resize");
  const std::int64_t channels = preprocessing.channels;
  Tensor<float> batch = Tensor<float>::uninitialized({std::int64_t(crops.size()), channels, height, width});
  for (std::size_t i = 0; i < crops.size(); ++i)
    normalize_into(crops[i], preprocessing, batch.data() + std::int64_t(i) * channels * height * width);
  return batch;
}

// A batch of decoded images → [B, channels, H, W]; every image must come out at the same size (a crop, or an
// exact resize, guarantees it). Images are resized in parallel.
inline Tensor<float> preprocess(const std::vector<Image>& images, const Preprocessing& preprocessing,
                                const Context& context = {}) {
  VIT_CHECK(!images.empty(), "preprocess: no images");
  std::vector<Image> crops(images.size());
  cpu::parallel_for(context.threads, std::int64_t(images.size()), 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) crops[std::size_t(i)] = resize_and_crop(images[std::size_t(i)], preprocessing);
  });
  return normalize_batch(crops, preprocessing);
}

// Hugging Face preprocessor_config.json (ViTImageProcessor, DeiTImageProcessor and alike).
inline Preprocessing preprocessing_from_hf_json(const nlohmann::json& json, const std::string& source) {
  VIT_CHECK(json.is_object(), source, ": a preprocessor config must be a JSON object");
  const auto flag = [&](const char* key, bool fallback) {
    if (!json.contains(key)) return fallback;
    VIT_CHECK(json[key].is_boolean(), source, ": \"", key, "\" must be true or false");
    return json[key].get<bool>();
  };
  const auto positive = [&](const nlohmann::json& value, const char* what) {
    VIT_CHECK(value.is_number_integer() && value.get<long long>() > 0 && value.get<long long>() < 65536, source, ": ",
              what, " must be a positive integer, got ", value.dump());
    return value.get<int>();
  };
  // {"height": H, "width": W}, {"shortest_edge": S} or a bare integer.
  const auto size_of = [&](const nlohmann::json& value, const char* what, bool& shortest, int& height, int& width) {
    shortest = false;
    if (value.is_number()) {
      height = width = positive(value, what);
    } else if (value.is_object() && value.contains("shortest_edge")) {
      shortest = true;
      height = width = positive(value["shortest_edge"], what);
    } else {
      VIT_CHECK(value.is_object() && value.contains("height") && value.contains("width"), source, ": ", what,
                " must be {\"height\", \"width\"}, {\"shortest_edge\"} or an integer, got ", value.dump());
      height = positive(value["height"], what);
      width = positive(value["width"], what);
    }
  };
  const auto triple = [&](const char* key, std::array<float, 3>& out) {
    if (!json.contains(key)) return;
    const auto& value = json[key];
    VIT_CHECK(value.is_array() && value.size() == 3 && value[0].is_number() && value[1].is_number() &&
                  value[2].is_number(),
              source, ": \"", key, "\" must be three numbers, got ", value.dump());
    for (std::size_t c = 0; c < 3; ++c) out[c] = value[c].get<float>();
  };

  // Defaults of the processor class when a key is absent: DeiTImageProcessor resizes to 256×256 bicubic,
  // crops 224 and uses the ImageNet mean/std; ViTImageProcessor resizes to 224×224 bilinear with 0.5/0.5.
  const std::string type = json.value("image_processor_type", json.value("feature_extractor_type", std::string()));
  const bool deit = type.rfind("DeiT", 0) == 0;
  Preprocessing preprocessing;
  preprocessing.crop_rounding = CropRounding::HuggingFace;
  if (!deit) {
    preprocessing.mean = {0.5f, 0.5f, 0.5f};
    preprocessing.stddev = {0.5f, 0.5f, 0.5f};
  }
  preprocessing.interpolation = deit ? Interpolation::Bicubic : Interpolation::Bilinear;
  if (json.contains("resample")) {
    const auto& resample = json["resample"];
    VIT_CHECK(resample.is_number_integer() && (resample == 2 || resample == 3), source, ": resample ", resample.dump(),
              " is not supported (2 = bilinear and 3 = bicubic are)");
    preprocessing.interpolation = resample == 3 ? Interpolation::Bicubic : Interpolation::Bilinear;
  }
  VIT_CHECK(flag("do_resize", true), source, ": do_resize false is not supported: the model needs a fixed size");
  bool shortest = false;
  int height = deit ? 256 : 224, width = height;
  if (json.contains("size")) size_of(json["size"], "size", shortest, height, width);
  preprocessing.resize = shortest ? ResizeMode::ShortSide : ResizeMode::Exact;
  preprocessing.resize_short = height;
  preprocessing.resize_height = height;
  preprocessing.resize_width = width;
  preprocessing.center_crop = flag("do_center_crop", deit);
  if (preprocessing.center_crop) {
    bool crop_shortest = false;
    int crop_height = deit ? 224 : height, crop_width = deit ? 224 : width;
    if (json.contains("crop_size")) size_of(json["crop_size"], "crop_size", crop_shortest, crop_height, crop_width);
    preprocessing.crop_height = crop_height;
    preprocessing.crop_width = crop_width;
  }
  if (!flag("do_rescale", true)) preprocessing.rescale_factor = 1.0f;
  else if (json.contains("rescale_factor")) {
    VIT_CHECK(json["rescale_factor"].is_number(), source, ": rescale_factor must be a number");
    preprocessing.rescale_factor = json["rescale_factor"].get<float>();
  }
  if (flag("do_normalize", true)) {
    triple("image_mean", preprocessing.mean);
    triple("image_std", preprocessing.stddev);
  } else {
    preprocessing.mean = {0, 0, 0};
    preprocessing.stddev = {1, 1, 1};
  }
  preprocessing.validate();
  return preprocessing;
}

inline Preprocessing load_hf_preprocessor_config(const std::string& path) {
  return preprocessing_from_hf_json(detail::read_json_file(path), path);
}

}  // namespace vit
