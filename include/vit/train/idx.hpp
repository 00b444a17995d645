// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), raw or gzip-compressed.
//
// Layout: a 4-byte magic number 0x00 0x00 <dtype> <rank>, then <rank> big-endian uint32 extents, then the
// values, row-major. MNIST-style files hold unsigned bytes (dtype 0x08): images [N, H, W] in
// *-images-idx3-ubyte, labels [N] in *-labels-idx1-ubyte. Only that dtype is read.
//
// Files are read through zlib's gz* functions, which also read uncompressed files unchanged, so one
// path serves both. Every size is checked before anything is allocated: the extents against the file's
// length (raw), or against the most a gzip stream of that length can expand to (deflate's ratio is at
// most 1032:1); the data must end exactly where the header says.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/shape.hpp"
#include "vit/train/dataset.hpp"

namespace vit {

// An IDX file's contents: unsigned bytes, row-major.
struct IdxArray {
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> values;
};

namespace detail {

struct GzipFile {
  gzFile file = nullptr;
  ~GzipFile() {
    if (file) gzclose(file);
  }
};

// Reads up to `size` bytes; returns how many were read (fewer only at the end of the data).
inline std::size_t gzip_read(GzipFile& gzip, std::uint8_t* out, std::size_t size, const std::string& path) {
  std::size_t done = 0;
  while (done < size) {
    const unsigned chunk = unsigned(std::min<std::size_t>(size - done, std::size_t(1) << 30));
    const int got = gzread(gzip.file, out + done, chunk);
    int code = Z_OK;
    const char* message = gzerror(gzip.file, &code);
    // A truncated gzip stream reads short with Z_BUF_ERROR; damaged data fails with Z_DATA_ERROR.
    VIT_CHECK(got >= 0 && code == Z_OK, path, ": cannot decompress (", message ? message : "zlib error", ")");
    if (got == 0) break;
    done += std::size_t(got);
  }
  return done;
}

inline const char* idx_dtype_name(int dtype) {
  switch (dtype) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return nullptr;
  }
}

}  // namespace detail

// Reads an IDX file of unsigned bytes, raw or .gz. Every failure is a vit::Error naming the file.
inline IdxArray read_idx(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  VIT_CHECK(!error && std::filesystem::exists(status), path, ": cannot open (no such file)");
  VIT_CHECK(std::filesystem::is_regular_file(status), path, ": not a regular file");
  const std::uintmax_t file_size = std::filesystem::file_size(path, error);
  VIT_CHECK(!error, path, ": cannot read its size (", error.message(), ")");

  detail::GzipFile gzip;
  gzip.file = gzopen(path.c_str(), "rb");
  VIT_CHECK(gzip.file != nullptr, path, ": cannot open");
  gzbuffer(gzip.file, 1 << 17);

  std::array<std::uint8_t, 4> magic{};
  VIT_CHECK(detail::gzip_read(gzip, magic.data(), 4, path) == 4, path, ": truncated: no 4-byte IDX magic number");
  const bool compressed = gzdirect(gzip.file) == 0;
  const unsigned magic_number =
      unsigned(magic[0]) << 24 | unsigned(magic[1]) << 16 | unsigned(magic[2]) << 8 | magic[3];
  const char* dtype_name = detail::idx_dtype_name(magic[2]);
  VIT_CHECK(magic[0] == 0 && magic[1] == 0 && dtype_name != nullptr, path, ": not an IDX file (magic number 0x",
            std::hex, magic_number, std::dec, "; IDX files start with 00 00 <dtype> <rank>)");
  VIT_CHECK(magic[2] == 0x08, path, ": IDX dtype ", dtype_name, " (0x", std::hex, int(magic[2]), std::dec,
            ") is not supported: MNIST-style files hold unsigned bytes (0x08)");
  const int rank = magic[3];
  VIT_CHECK(rank >= 1 && rank <= Shape::kMaxRank, path, ": IDX rank ", rank, " is not supported (1 to ",
            Shape::kMaxRank, ")");

  std::vector<std::uint8_t> extents_bytes(std::size_t(rank) * 4);
  VIT_CHECK(detail::gzip_read(gzip, extents_bytes.data(), extents_bytes.size(), path) == extents_bytes.size(), path,
            ": truncated: the header declares ", rank, " dimensions but their sizes are cut off");
  IdxArray array;
  std::uint64_t count = 1;
  bool overflow = false;
  for (int d = 0; d < rank; ++d) {
    const std::uint8_t* bytes = extents_bytes.data() + 4 * d;
    const std::uint64_t extent = std::uint64_t(bytes[0]) << 24 | std::uint64_t(bytes[1]) << 16 |
                                 std::uint64_t(bytes[2]) << 8 | std::uint64_t(bytes[3]);
    array.shape.push_back(std::int64_t(extent));
    if (extent != 0 && count > std::numeric_limits<std::uint64_t>::max() / extent) overflow = true;
    count *= extent;
  }
  const std::uint64_t header_bytes = 4 + 4 * std::uint64_t(rank);
  std::string extents_text = "[";
  for (std::size_t d = 0; d < array.shape.size(); ++d) extents_text += (d ? ", " : "") + std::to_string(array.shape[d]);
  extents_text += "]";
  if (compressed) {
    // deflate expands at most 1032:1, so a stream of file_size bytes cannot hold more than this.
    const std::uint64_t most = std::uint64_t(file_size) * 1032 + 1024;
    VIT_CHECK(!overflow && count <= most, path, ": the header declares ", extents_text,
              " values, more than a gzip file of ", file_size, " bytes can hold (corrupt header?)");
  } else {
    VIT_CHECK(!overflow && header_bytes + count <= file_size, path, ": truncated: the header declares ", extents_text,
              " values (", overflow ? std::string("too many") : std::to_string(header_bytes + count),
              " bytes with the header) but the file has ", file_size, " bytes");
    VIT_CHECK(header_bytes + count == file_size, path, ": ", file_size - header_bytes - count, " bytes after the ",
              extents_text, " values the header declares");
  }

  array.values.resize(std::size_t(count));
  const std::size_t got = detail::gzip_read(gzip, array.values.data(), array.values.size(), path);
  VIT_CHECK(got == array.values.size(), path, ": truncated: the header declares ", extents_text, " = ", count,
            " values but the data ends after ", got);
  std::uint8_t extra = 0;
  VIT_CHECK(detail::gzip_read(gzip, &extra, 1, path) == 0, path, ": data continues after the ", extents_text,
            " values the header declares");
  return array;
}

// An MNIST-style image dataset: images [N, H, W] and labels [N], unsigned bytes, in memory.
class IdxDataset : public Dataset {
 public:
  IdxDataset(const std::string& images_path, const std::string& labels_path) {
    IdxArray images = read_idx(images_path);
    IdxArray labels = read_idx(labels_path);
    VIT_CHECK(images.shape.size() == 3, images_path, ": images must be [N, H, W], got rank ", images.shape.size());
    VIT_CHECK(images.shape[1] > 0 && images.shape[2] > 0, images_path, ": images of ", images.shape[1], "x",
              images.shape[2], " pixels");
    // Each side first: with N = 0 the sides are not bounded by the file, and their product could overflow.
    VIT_CHECK(images.shape[1] <= kMaxImagePixels && images.shape[2] <= kMaxImagePixels &&
                  images.shape[1] * images.shape[2] <= kMaxImagePixels,
              images_path, ": images of ", images.shape[1], "x", images.shape[2], " pixels exceed the limit of ",
              kMaxImagePixels);
    VIT_CHECK(labels.shape.size() == 1, labels_path, ": labels must be [N], got rank ", labels.shape.size());
    VIT_CHECK(labels.shape[0] == images.shape[0], labels_path, ": ", labels.shape[0], " labels for the ",
              images.shape[0], " images of ", images_path);
    count_ = images.shape[0];
    height_ = int(images.shape[1]);
    width_ = int(images.shape[2]);
    pixels_ = std::move(images.values);
    labels_ = std::move(labels.values);
    for (std::uint8_t label : labels_) num_classes_ = std::max(num_classes_, int(label) + 1);
  }

  std::int64_t size() const override { return count_; }
  // The largest label + 1.
  int num_classes() const override { return num_classes_; }
  int height() const { return height_; }
  int width() const { return width_; }

  // image(index): [H, W] grey bytes.
  const std::uint8_t* image(std::int64_t index) const {
    return pixels_.data() + std::size_t(index) * std::size_t(height_) * std::size_t(width_);
  }
  int label(std::int64_t index) const override { return labels_[std::size_t(index)]; }

  // Grey replicated to RGB, as PIL's convert("RGB") does; never unreadable.
  std::optional<Sample> load(std::int64_t index) const override {
    Sample sample;
    sample.label = label(index);
    sample.image.width = width_;
    sample.image.height = height_;
    const std::size_t plane = std::size_t(height_) * std::size_t(width_);
    sample.image.pixels.resize(plane * 3);
    const std::uint8_t* grey = image(index);
    for (std::size_t i = 0; i < plane; ++i)
      sample.image.pixels[3 * i] = sample.image.pixels[3 * i + 1] = sample.image.pixels[3 * i + 2] = grey[i];
    return sample;
  }

 private:
  std::int64_t count_ = 0;
  int height_ = 0, width_ = 0, num_classes_ = 0;
  std::vector<std::uint8_t> pixels_;  // [N, H, W]
  std::vector<std::uint8_t> labels_;  // [N]
};

enum class MnistSplit { Train, Test };

// The MNIST-style pair of one split in `directory`: {train,t10k}-{images-idx3,labels-idx1}-ubyte, each
// gzip-compressed (.gz) or not.
inline IdxDataset load_mnist(const std::string& directory, MnistSplit split) {
  const std::string prefix = split == MnistSplit::Train ? "train" : "t10k";
  const auto find = [&](const std::string& stem) {
    const std::filesystem::path base = std::filesystem::path(directory) / stem;
    for (const std::string& name : {base.string() + ".gz", base.string()})
      if (std::filesystem::exists(name)) return name;
    detail::fail(directory, ": no ", stem, " (nor ", stem, ".gz)");
  };
  const std::string images = find(prefix + "-images-idx3-ubyte");  // looked for first, so reported first
  return IdxDataset(images, find(prefix + "-labels-idx1-ubyte"));
}

// Where Debian's dataset-fashion-mnist package puts the files.
inline const char* const kDebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Debian's Fashion-MNIST folder when its training images are there, std::nullopt otherwise.
inline std::optional<std::string> find_fashion_mnist() {
  const std::filesystem::path dir(kDebianFashionMnistDir);
  std::error_code error;
  if (std::filesystem::exists(dir / "train-images-idx3-ubyte.gz", error) ||
      std::filesystem::exists(dir / "train-images-idx3-ubyte", error))
    return dir.string();
  return std::nullopt;
}

// Fashion-MNIST's class names, label 0 first (as torchvision.datasets.FashionMNIST.classes).
inline std::vector<std::string> fashion_mnist_classes() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
}

// Mean and standard deviation of Fashion-MNIST's 60,000 training images, pixels scaled to [0, 1]
// (0.28604, 0.35302; the tests recompute them from the data): the usual normalisation from scratch.
constexpr float kFashionMnistMean = 0.2860f;
constexpr float kFashionMnistStd = 0.3530f;

}  // namespace vit
