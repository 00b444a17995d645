// libFuzzer target: arbitrary bytes through image decoding (libjpeg-turbo / stb_image) and the
// preprocessing pipelines (PIL resize, crop, normalise). Only success or vit::Error are acceptable.
// EXIF orientation is applied (its parser reads the same bytes). Seeds: tests/data/images (every format the
// decoders take) and tests/data/decode (CMYK and YCCK JPEGs, EXIF blocks in JPEG and PNG).
#include <cstddef>
#include <algorithm>
#include <cstdint>

#include <vit/io.hpp>
#include <vit/model/preprocessing.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    vit::DecodeOptions options;
    options.exif_orientation = true;
    const vit::Image image = vit::decode_image(data, size, "fuzz", options);
    // Keep each run fast: very large or very elongated images only exercise the decoder (the resize
    // of a 1×60000 strip is correct but slow, and the size guard itself is unit-tested).
    if (std::int64_t(image.width) * image.height > 4'000'000) return 0;
    if (std::max(image.width, image.height) > 64 * std::min(image.width, image.height)) return 0;
    vit::Context context;
    context.threads = 1;
    // A short side of 8 keeps extreme aspect ratios (1×60000) small after resizing.
    (void)vit::preprocess({image}, vit::timm_preprocessing(8, 0.875, vit::kImagenetMean, vit::kImagenetStd), context);
    (void)vit::preprocess({image}, vit::preprocessing_from_hf_json({{"size", {{"height", 7}, {"width", 9}}}}, "fuzz"), context);
  } catch (const vit::Error&) {
  }
  return 0;
}
