// The training data pipeline: the generator and the data order (against tools/data_order.py), IDX files
// and Fashion-MNIST, ImageFolder, the transforms (against torchvision's algorithm and PIL/torchvision
// fixtures from tools/make_train_data_fixtures.py) and the threaded loader.
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <vit/io.hpp>
#include <vit/model/timm_config.hpp>
#include <vit/train/data.hpp>

#include "support.hpp"

namespace Catch {
template <>
struct StringMaker<vit::CropBox> {
  static std::string convert(const vit::CropBox& box) {
    return "{top " + std::to_string(box.top) + ", left " + std::to_string(box.left) + ", height " +
           std::to_string(box.height) + ", width " + std::to_string(box.width) + "}";
  }
};
}  // namespace Catch

namespace {

namespace fs = std::filesystem;

// A scratch folder, removed with everything in it at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device device;
    path = fs::temp_directory_path() / ("vit_train_data_" + std::to_string(device()) + std::to_string(device()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path, error);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  REQUIRE(out.good());
}

void write_gzip(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

std::vector<std::uint8_t> read_bytes(const std::string& path) { return vit::detail::read_file(path); }

// An IDX file: magic 00 00 dtype rank, big-endian extents, values.
std::vector<std::uint8_t> idx_bytes(std::vector<std::uint32_t> extents, const std::vector<std::uint8_t>& values,
                                    std::uint8_t dtype = 0x08) {
  std::vector<std::uint8_t> bytes = {0, 0, dtype, std::uint8_t(extents.size())};
  for (std::uint32_t extent : extents)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(std::uint8_t(extent >> shift));
  bytes.insert(bytes.end(), values.begin(), values.end());
  return bytes;
}

std::vector<std::uint8_t> counting_bytes(std::size_t count, int multiplier = 7) {
  std::vector<std::uint8_t> values(count);
  for (std::size_t i = 0; i < count; ++i) values[i] = std::uint8_t((i * std::size_t(multiplier) + 3) % 256);
  return values;
}

vit::Image gradient_image(int width, int height, int seed = 0) {
  vit::Image image{width, height, std::vector<std::uint8_t>(std::size_t(width) * std::size_t(height) * 3)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) image.row(y)[x * 3 + c] = std::uint8_t((seed * 31 + x * 7 + y * 13 + c * 50) % 256);
  return image;
}

std::uint64_t fnv1a64(const std::vector<std::int64_t>& indices) {
  std::uint64_t digest = 0xCBF29CE484222325ull;
  for (std::int64_t index : indices)
    for (int byte = 0; byte < 8; ++byte)
      digest = (digest ^ ((std::uint64_t(index) >> (8 * byte)) & 0xff)) * 0x100000001B3ull;
  return digest;
}

std::string train_data(const std::string& name) { return vit::test::data_path("train/" + name); }

// An in-memory dataset whose image i is gradient_image(width, height, i) and label i % classes; it can
// be told to be slow, to throw at one index, or to call some samples unreadable, and counts its loads.
class SyntheticDataset : public vit::Dataset {
 public:
  SyntheticDataset(std::int64_t count, int width, int height, int classes = 3)
      : count_(count), width_(width), height_(height), classes_(classes) {}

  std::int64_t size() const override { return count_; }
  int num_classes() const override { return classes_; }
  int label(std::int64_t index) const override { return int(index % classes_); }
  std::optional<vit::Sample> load(std::int64_t index) const override {
    ++loads;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    if (index == throw_at) throw std::runtime_error("synthetic failure at sample " + std::to_string(index));
    if (unreadable.count(index)) return std::nullopt;
    return vit::Sample{gradient_image(width_, height_, int(index)), bad_label ? classes_ : label(index)};
  }

  std::atomic<int> delay_ms{0};  // changed while loaders run
  std::int64_t throw_at = -1;
  std::set<std::int64_t> unreadable;
  bool bad_label = false;
  mutable std::atomic<std::int64_t> loads{0};

 private:
  std::int64_t count_;
  int width_, height_, classes_;
};

// Exactly the samples' own pixels, scaled to [0, 1]: a resize to their own size changes nothing.
vit::Transform identity_transform(int width, int height) {
  vit::Preprocessing preprocessing;
  preprocessing.resize = vit::ResizeMode::Exact;
  preprocessing.resize_width = width;
  preprocessing.resize_height = height;
  preprocessing.center_crop = false;
  preprocessing.mean = {0, 0, 0};
  preprocessing.stddev = {1, 1, 1};
  return vit::eval_transform(preprocessing);
}

std::vector<vit::Batch> whole_epoch(vit::DataLoader& loader, std::int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<vit::Batch> batches;
  while (std::optional<vit::Batch> batch = loader.next()) batches.push_back(std::move(*batch));
  return batches;
}

bool same_batches(const std::vector<vit::Batch>& a, const std::vector<vit::Batch>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k].indices != b[k].indices || a[k].labels != b[k].labels || a[k].images.shape() != b[k].images.shape())
      return false;
    if (std::memcmp(a[k].images.data(), b[k].images.data(), std::size_t(a[k].images.numel()) * sizeof(float)) != 0)
      return false;
  }
  return true;
}

// Python's round(): to the nearest integer, ties to even; written out rather than relying on nearbyint.
int python_round(double x) {
  const double below = std::floor(x), fraction = x - below;
  if (fraction > 0.5) return int(below) + 1;
  if (fraction < 0.5) return int(below);
  return std::fmod(below, 2.0) == 0.0 ? int(below) : int(below) + 1;
}

// torchvision.transforms.RandomResizedCrop.get_params (torchvision 0.29), transcribed line by line with
// torch.empty(1).uniform_(a, b) -> a + (b - a) u and torch.randint(0, n) -> below(n) of `random`.
vit::CropBox torchvision_get_params(int height, int width, vit::SplitMix64& random) {
  const double scale[2] = {0.08, 1.0}, ratio[2] = {3.0 / 4.0, 4.0 / 3.0};
  const double area = double(height * width);
  const double log_ratio[2] = {std::log(ratio[0]), std::log(ratio[1])};
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * random.uniform(scale[0], scale[1]);
    const double aspect_ratio = std::exp(random.uniform(log_ratio[0], log_ratio[1]));
    const int w = python_round(std::sqrt(target_area * aspect_ratio));
    const int h = python_round(std::sqrt(target_area / aspect_ratio));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int i = int(random.below(std::uint64_t(height - h + 1)));
      const int j = int(random.below(std::uint64_t(width - w + 1)));
      return {i, j, h, w};
    }
  }
  const double in_ratio = double(width) / double(height);
  int w = width, h = height;
  if (in_ratio < std::min(ratio[0], ratio[1])) {
    w = width;
    h = python_round(w / std::min(ratio[0], ratio[1]));
  } else if (in_ratio > std::max(ratio[0], ratio[1])) {
    h = height;
    w = python_round(h * std::max(ratio[0], ratio[1]));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

}  // namespace

// ------------------------------------------------------------------------------------------------------
// Generator and data order

TEST_CASE("train data: SplitMix64 is the reference generator, and tools/data_order.py draws the same",
          "[train][data]") {
  // The first outputs of Vigna's splitmix64.c from state 0.
  vit::SplitMix64 reference(0);
  CHECK(reference.next() == 0xE220A8397B1DCDAFull);
  CHECK(reference.next() == 0x6E789E6AA1B965F4ull);
  CHECK(reference.next() == 0x06C45D188009454Full);

  const nlohmann::json fixture = vit::detail::read_json_file(train_data("data_order.json"));
  REQUIRE(fixture["streams"].size() >= 6);
  for (const auto& stream : fixture["streams"]) {
    const std::uint64_t seed = std::stoull(stream["seed"].get<std::string>());
    const std::uint64_t epoch = stream["epoch"], index = stream["index"];
    INFO("seed " << seed << " epoch " << epoch << " index " << index);
    vit::SplitMix64 random = vit::augmentation_stream(seed, epoch, index);
    for (const auto& value : stream["next"]) CHECK(random.next() == std::stoull(value.get<std::string>()));
    random = vit::augmentation_stream(seed, epoch, index);
    for (const auto& value : stream["uniform"]) CHECK(random.uniform() == value.get<double>());
    std::vector<std::uint64_t> counts = {1, 2, 3, 10, 1000, (std::uint64_t(1) << 63) + 1};
    for (std::size_t k = 0; k < counts.size(); ++k)
      CHECK(random.below(counts[k]) == stream["below"][k].get<std::uint64_t>());
  }
  for (const auto& permutation : fixture["permutations"]) {
    const auto order = vit::epoch_permutation(permutation["count"], std::stoull(permutation["seed"].get<std::string>()),
                                              permutation["epoch"]);
    CHECK(order == permutation["order"].get<std::vector<std::int64_t>>());
  }
  for (const auto& digest : fixture["digests"]) {
    const auto order =
        vit::epoch_permutation(digest["count"], std::stoull(digest["seed"].get<std::string>()), digest["epoch"]);
    CHECK(std::vector<std::int64_t>(order.begin(), order.begin() + 16) ==
          digest["first"].get<std::vector<std::int64_t>>());
    CHECK(fnv1a64(order) == std::stoull(digest["fnv1a64"].get<std::string>()));
  }
}

TEST_CASE("train data: epoch permutations are permutations, new each epoch, the same for the same seed",
          "[train][data]") {
  const auto epoch0 = vit::epoch_permutation(1000, 5, 0);
  std::vector<std::int64_t> sorted = epoch0;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 1000; ++i) REQUIRE(sorted[std::size_t(i)] == i);
  CHECK(epoch0 == vit::epoch_permutation(1000, 5, 0));
  CHECK(epoch0 != vit::epoch_permutation(1000, 5, 1));
  CHECK(epoch0 != vit::epoch_permutation(1000, 6, 0));
  CHECK(vit::epoch_permutation(0, 1, 2).empty());
  // below(n) is uniform: 60,000 draws in 6 bins stay within 5 standard deviations of 10,000 each.
  vit::SplitMix64 random(77);
  std::vector<int> bins(6, 0);
  for (int i = 0; i < 60000; ++i) ++bins[random.below(6)];
  for (int count : bins) CHECK(std::abs(count - 10000) < 5 * 91);
}

// ------------------------------------------------------------------------------------------------------
// IDX

TEST_CASE("train data: IDX files are read raw and gzip-compressed", "[train][data][idx]") {
  TempDir dir;
  const auto values = counting_bytes(4 * 3 * 5);
  write_bytes(dir / "images-idx3-ubyte", idx_bytes({4, 3, 5}, values));
  write_gzip(dir / "images-idx3-ubyte.gz", idx_bytes({4, 3, 5}, values));
  for (const std::string name : {"images-idx3-ubyte", "images-idx3-ubyte.gz"}) {
    const vit::IdxArray array = vit::read_idx(dir / name);
    CHECK(array.shape == std::vector<std::int64_t>{4, 3, 5});
    CHECK(array.values == values);
  }
  // A length-0 dimension is a valid, empty file.
  write_bytes(dir / "empty", idx_bytes({0, 28, 28}, {}));
  CHECK(vit::read_idx(dir / "empty").values.empty());

  const std::vector<std::uint8_t> labels = {2, 0, 1, 2};
  write_gzip(dir / "labels-idx1-ubyte.gz", idx_bytes({4}, labels));
  const vit::IdxDataset dataset(dir / "images-idx3-ubyte.gz", dir / "labels-idx1-ubyte.gz");
  CHECK(dataset.size() == 4);
  CHECK(dataset.height() == 3);
  CHECK(dataset.width() == 5);
  CHECK(dataset.num_classes() == 3);
  for (std::int64_t i = 0; i < 4; ++i) {
    CHECK(dataset.label(i) == labels[std::size_t(i)]);
    const std::optional<vit::Sample> sample = dataset.load(i);
    REQUIRE(sample);
    CHECK(sample->label == labels[std::size_t(i)]);
    REQUIRE(sample->image.width == 5);
    REQUIRE(sample->image.height == 3);
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 5; ++x)
        for (int c = 0; c < 3; ++c)  // grey replicated to RGB
          REQUIRE(sample->image.row(y)[x * 3 + c] == values[std::size_t(i * 15 + y * 5 + x)]);
  }

  // load_mnist finds the split's files with or without .gz.
  write_bytes(dir / "mnist/t10k-images-idx3-ubyte", idx_bytes({4, 3, 5}, values));
  write_gzip(dir / "mnist/t10k-labels-idx1-ubyte.gz", idx_bytes({4}, labels));
  CHECK(vit::load_mnist(dir / "mnist", vit::MnistSplit::Test).size() == 4);
  VIT_REQUIRE_ERROR(vit::load_mnist(dir / "mnist", vit::MnistSplit::Train),
                    Catch::Contains("mnist") && Catch::Contains("train-images-idx3-ubyte"));
}

TEST_CASE("train data: every corrupt IDX file is a clear error naming the file", "[train][data][idx][errors]") {
  TempDir dir;
  const auto check = [&](const std::vector<std::uint8_t>& bytes, const std::string& expected, bool gzip = false) {
    const std::string path = dir / (gzip ? "case.gz" : "case");
    if (gzip)
      write_gzip(path, bytes);
    else
      write_bytes(path, bytes);
    INFO(expected);
    VIT_REQUIRE_ERROR(vit::read_idx(path), Catch::Contains(path) && Catch::Contains(expected));
  };
  const auto good = idx_bytes({2, 3, 4}, counting_bytes(24));
  for (bool gzip : {false, true}) {
    INFO((gzip ? "gzip" : "raw"));
    check({0x01, 0x00, 0x08, 0x03}, "not an IDX file (magic number 0x1000803", gzip);
    check({0x00, 0x00, 0x07, 0x01, 0, 0, 0, 0}, "not an IDX file", gzip);
    check(idx_bytes({2}, {0, 0, 0, 0, 0, 0, 0, 0}, 0x0D), "float32 (0xd) is not supported", gzip);
    check(idx_bytes({2}, {0, 0, 0, 0}, 0x0B), "int16", gzip);
    check({0x00, 0x00, 0x08, 0x00}, "rank 0", gzip);
    check({0x00, 0x00, 0x08, 0x07}, "rank 7", gzip);
    check({0x00, 0x00}, "truncated: no 4-byte IDX magic", gzip);
    check({0x00, 0x00, 0x08, 0x03, 0, 0, 0, 2, 0, 0}, "sizes are cut off", gzip);
    std::vector<std::uint8_t> short_data(good.begin(), good.end() - 1);
    check(short_data, "truncated", gzip);
    std::vector<std::uint8_t> long_data = good;
    long_data.push_back(9);
    check(long_data, gzip ? "data continues after the [2, 3, 4] values" : "1 bytes after the [2, 3, 4] values", gzip);
  }
  // Extents whose product overflows 64 bits, or that no file of this length can hold.
  check({0x00, 0x00, 0x08, 0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        "truncated: the header declares [4294967295, 4294967295, 4294967295, 4294967295] values (too many");
  check(idx_bytes({60000, 28, 28}, {1, 2, 3}), "more than a gzip file of", true);

  // Damaged and truncated gzip streams.
  write_gzip(dir / "good.gz", idx_bytes({64, 64}, counting_bytes(64 * 64, 13)));
  std::vector<std::uint8_t> compressed = read_bytes(dir / "good.gz");
  std::vector<std::uint8_t> truncated(compressed.begin(), compressed.begin() + std::ptrdiff_t(compressed.size() / 2));
  write_bytes(dir / "truncated.gz", truncated);
  VIT_REQUIRE_ERROR(vit::read_idx(dir / "truncated.gz"),
                    Catch::Contains(dir / "truncated.gz") && Catch::Contains("unexpected end of file"));
  std::vector<std::uint8_t> damaged = compressed;
  for (std::size_t i = 20; i < 40; ++i) damaged[i] ^= 0x5a;
  write_bytes(dir / "damaged.gz", damaged);
  VIT_REQUIRE_ERROR(vit::read_idx(dir / "damaged.gz"), Catch::Contains(dir / "damaged.gz"));
  std::vector<std::uint8_t> bad_crc = compressed;
  bad_crc[bad_crc.size() - 6] ^= 0x01;  // the stored CRC-32 (the last 8 bytes are CRC and length)
  write_bytes(dir / "crc.gz", bad_crc);
  VIT_REQUIRE_ERROR(vit::read_idx(dir / "crc.gz"),
                    Catch::Contains(dir / "crc.gz") && Catch::Contains("cannot decompress"));

  VIT_REQUIRE_ERROR(vit::read_idx(dir / "missing-idx3-ubyte.gz"),
                    Catch::Contains("missing-idx3-ubyte.gz") && Catch::Contains("no such file"));
  VIT_REQUIRE_ERROR(vit::read_idx(dir.path.string()), Catch::Contains("not a regular file"));

  // Images and labels that do not go together.
  write_bytes(dir / "images", idx_bytes({3, 2, 2}, counting_bytes(12)));
  write_bytes(dir / "labels2", idx_bytes({2}, {0, 1}));
  write_bytes(dir / "labels3x1", idx_bytes({3, 1}, {0, 1, 2}));
  write_bytes(dir / "flat", idx_bytes({12}, counting_bytes(12)));
  VIT_REQUIRE_ERROR(vit::IdxDataset(dir / "images", dir / "labels2"),
                    Catch::Contains("labels2") && Catch::Contains("2 labels for the 3 images"));
  VIT_REQUIRE_ERROR(vit::IdxDataset(dir / "images", dir / "labels3x1"),
                    Catch::Contains("labels must be [N], got rank 2"));
  VIT_REQUIRE_ERROR(vit::IdxDataset(dir / "flat", dir / "labels2"),
                    Catch::Contains("flat") && Catch::Contains("[N, H, W]"));
  // No images, but sides whose product would overflow 64 bits.
  write_bytes(dir / "huge", idx_bytes({0, 0xffffffffu, 0xffffffffu}, {}));
  write_bytes(dir / "labels0", idx_bytes({0}, {}));
  VIT_REQUIRE_ERROR(vit::IdxDataset(dir / "huge", dir / "labels0"),
                    Catch::Contains("4294967295x4294967295 pixels exceed"));
}

TEST_CASE("train data: Fashion-MNIST as Debian installs it", "[train][data][idx][fashion-mnist]") {
  const std::optional<std::string> dir = vit::find_fashion_mnist();
  if (!dir) {
    WARN("SKIPPED: Fashion-MNIST is not in " << vit::kDebianFashionMnistDir
                                             << " (Debian package dataset-fashion-mnist)");
    return;
  }
  const vit::IdxDataset train = vit::load_mnist(*dir, vit::MnistSplit::Train);
  const vit::IdxDataset test = vit::load_mnist(*dir, vit::MnistSplit::Test);
  CHECK(train.size() == 60000);
  CHECK(test.size() == 10000);
  CHECK(train.height() == 28);
  CHECK(train.width() == 28);
  CHECK(train.num_classes() == 10);
  CHECK(vit::fashion_mnist_classes().size() == 10);
  // The first labels, read from the same files with Python's gzip module.
  const std::vector<int> first_train = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9, 1, 0, 6, 4};
  const std::vector<int> first_test = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0};
  for (std::size_t i = 0; i < first_train.size(); ++i) {
    CHECK(train.label(std::int64_t(i)) == first_train[i]);
    CHECK(test.label(std::int64_t(i)) == first_test[i]);
  }
  // Each class has 6,000 training images.
  std::vector<int> per_class(10, 0);
  for (std::int64_t i = 0; i < train.size(); ++i) ++per_class[std::size_t(train.label(i))];
  CHECK(per_class == std::vector<int>(10, 6000));
  // The normalisation constants are the training pixels' mean and standard deviation.
  double sum = 0, sum_squares = 0;
  const std::size_t pixels = std::size_t(train.size()) * 28 * 28;
  for (std::size_t i = 0; i < pixels; ++i) {
    const double value = train.image(0)[i] / 255.0;
    sum += value;
    sum_squares += value * value;
  }
  const double mean = sum / double(pixels), stddev = std::sqrt(sum_squares / double(pixels) - mean * mean);
  CHECK(mean == Approx(vit::kFashionMnistMean).margin(1e-4));
  CHECK(stddev == Approx(vit::kFashionMnistStd).margin(1e-4));
  // The committed fixture image is training image 0.
  const vit::Image fixture = vit::load_image(train_data("fashion_mnist_train_0.png"));
  const std::optional<vit::Sample> first = train.load(0);
  REQUIRE(first);
  CHECK(first->image.pixels == fixture.pixels);
}

// ------------------------------------------------------------------------------------------------------
// ImageFolder

TEST_CASE("train data: ImageFolder sorts classes and files as torchvision does", "[train][data][folder]") {
  TempDir dir;
  const std::vector<std::uint8_t> png = vit::encode_png(gradient_image(6, 4));
  // Byte-wise order: "A" < "a" < "a b" < "b"; inside "a" the folders by path: "a" < "a/sub" < "a/sub b" <
  // "a/sub/deeper" (' ' < '/'). torchvision 0.29's ImageFolder lists this very tree in this order (with
  // a/scan.webp, which vit does not decode, between b.jpg and x.PNG).
  for (const std::string name :
       {"b/1.png", "a/x.PNG", "a/b.jpg", "a/.hidden.png", "a/sub/c.png", "a/sub b/d.jpeg", "a/sub/deeper/e.png",
        "A/z.bmp", "a b/q.ppm", "a/notes.txt", "a/scan.webp", "a/README"})
    write_bytes(dir / name, png);
  write_bytes(dir / "stray.png", png);  // files directly in the root are not samples
  std::vector<std::string> warnings;
  const vit::ImageFolder folder(dir.path.string(), [&](const std::string& line) { warnings.push_back(line); });
  CHECK(folder.classes() == std::vector<std::string>{"A", "a", "a b", "b"});
  CHECK(folder.num_classes() == 4);
  const std::vector<std::pair<std::string, int>> expected = {
      {"A/z.bmp", 0},        {"a/.hidden.png", 1},      {"a/b.jpg", 1},   {"a/x.PNG", 1}, {"a/sub/c.png", 1},
      {"a/sub b/d.jpeg", 1}, {"a/sub/deeper/e.png", 1}, {"a b/q.ppm", 2}, {"b/1.png", 3}};
  REQUIRE(folder.size() == std::int64_t(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(fs::relative(folder.path(std::int64_t(i)), dir.path).generic_string() == expected[i].first);
    CHECK(folder.label(std::int64_t(i)) == expected[i].second);
  }
  REQUIRE(warnings.size() == 1);  // the .webp file
  CHECK_THAT(warnings[0], Catch::Contains("1 .tif/.tiff/.webp file left out"));
  const std::optional<vit::Sample> sample = folder.load(4);
  REQUIRE(sample);
  CHECK(sample->label == 1);
  CHECK(sample->image.pixels == gradient_image(6, 4).pixels);
  CHECK(folder.unreadable_count() == 0);
}

TEST_CASE("train data: ImageFolder errors and unreadable images", "[train][data][folder][errors]") {
  TempDir dir;
  const std::vector<std::uint8_t> png = vit::encode_png(gradient_image(5, 5));
  VIT_REQUIRE_ERROR(vit::ImageFolder(dir / "absent"), Catch::Contains("absent") && Catch::Contains("not a directory"));
  VIT_REQUIRE_ERROR(vit::ImageFolder(dir.path.string()), Catch::Contains("no class folders"));

  write_bytes(dir / "cat/1.png", png);
  fs::create_directories(dir.path / "dog");
  write_bytes(dir / "eel/notes.txt", png);
  VIT_REQUIRE_ERROR(vit::ImageFolder(dir.path.string()),
                    Catch::Contains("no image in the class folders dog, eel") && Catch::Contains(".jpg"));
  fs::remove_all(dir.path / "dog");
  fs::remove_all(dir.path / "eel");
  write_bytes(dir / "fox/photo.webp", png);
  VIT_REQUIRE_ERROR(vit::ImageFolder(dir.path.string(), [](const std::string&) {}),
                    Catch::Contains("class folder fox") && Catch::Contains(".webp are not supported"));
  fs::remove_all(dir.path / "fox");

  // An undecodable file and a truncated PNG: skipped with one warning each, counted once.
  const std::string text = "not an image\n";
  write_bytes(dir / "cat/2.png", {text.begin(), text.end()});
  write_bytes(dir / "cat/3.png", std::vector<std::uint8_t>(png.begin(), png.begin() + std::ptrdiff_t(png.size() / 2)));
  write_bytes(dir / "cat/4.png", png);
  std::vector<std::string> warnings;
  std::mutex warnings_mutex;
  const vit::ImageFolder folder(dir.path.string(), [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(warnings_mutex);
    warnings.push_back(line);
  });
  REQUIRE(folder.size() == 4);
  CHECK(folder.load(0));
  CHECK_FALSE(folder.load(1));
  CHECK_FALSE(folder.load(2));
  CHECK_FALSE(folder.load(1));  // known: not read or reported again
  CHECK(folder.load(3));
  CHECK(folder.unreadable_count() == 2);
  REQUIRE(warnings.size() == 2);
  CHECK_THAT(warnings[0], Catch::Contains("skipping unreadable image") && Catch::Contains("2.png"));
  CHECK_THAT(warnings[1], Catch::Contains("3.png"));
  for (const std::string& line : warnings) CHECK(line.find('\n') == std::string::npos);
  CHECK(folder.unreadable_files() == std::vector<std::string>{folder.path(1), folder.path(2)});

  // Through the loader: the batch is smaller, and the loader counts what it left out.
  const vit::ImageFolder again(dir.path.string(), [](const std::string&) {});
  vit::DataLoaderOptions options;
  options.batch_size = 3;
  options.shuffle = false;
  vit::DataLoader loader(again, identity_transform(5, 5), options);
  const std::vector<vit::Batch> batches = whole_epoch(loader, 0);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].indices == std::vector<std::int64_t>{0});
  CHECK(batches[0].skipped == 2);
  CHECK(batches[0].images.shape() == vit::Shape{1, 3, 5, 5});
  CHECK(batches[1].indices == std::vector<std::int64_t>{3});
  CHECK(loader.skipped() == 2);
  CHECK(again.unreadable_count() == 2);
}

// ------------------------------------------------------------------------------------------------------
// Transforms

TEST_CASE("train data: RandomResizedCrop boxes are torchvision's get_params given the same draws",
          "[train][data][transforms]") {
  const vit::RandomResizedCropOptions timm_defaults;
  for (const auto& [height, width] : std::vector<std::pair<int, int>>{
           {224, 224}, {375, 500}, {500, 375}, {28, 28}, {50, 1000}, {1000, 50}, {1, 1}, {2, 3}, {7, 5}}) {
    for (std::uint64_t seed = 0; seed < 2000; ++seed) {
      vit::SplitMix64 ours(seed), theirs(seed);
      const vit::CropBox box = vit::random_resized_crop_box(height, width, timm_defaults, ours);
      const vit::CropBox expected = torchvision_get_params(height, width, theirs);
      INFO(width << "x" << height << " seed " << seed);
      REQUIRE(box == expected);
      REQUIRE(ours.state() == theirs.state());  // the same number of draws
      REQUIRE((box.top >= 0 && box.left >= 0 && box.top + box.height <= height && box.left + box.width <= width));
    }
  }
  // 1000 wide, 50 high: no draw can fit (h <= 50 needs s/r <= 0.051, but s >= 0.08 and r <= 4/3), so the
  // fallback: the full height, width round(50 · 4/3) = 67, centred: left = (1000 - 67) // 2 = 466.
  vit::SplitMix64 random(3);
  CHECK(vit::random_resized_crop_box(50, 1000, timm_defaults, random) == vit::CropBox{0, 466, 50, 67});
  CHECK(vit::random_resized_crop_box(1000, 50, timm_defaults, random) == vit::CropBox{466, 0, 67, 50});
}

TEST_CASE("train data: RandomResizedCrop boxes are statistically what the algorithm implies",
          "[train][data][transforms]") {
  // On a square image a draw (s, t) — area share s ~ U(0.08, 1), log-ratio t ~ U(-a, a), a = ln(4/3) —
  // fits iff s <= e^-|t|, and the first fitting draw is kept (falling back takes 10 misses, p ~ 1e-8).
  // So E[s] = ∫0^a ∫0.08^(e^-t) s ds dt / ∫0^a ∫0.08^(e^-t) ds dt, in closed form below (~0.478).
  const double a = std::log(4.0 / 3.0), s0 = 0.08;
  const double fitting = (1 - std::exp(-a)) - s0 * a;
  const double first_moment = ((1 - std::exp(-2 * a)) / 2 - s0 * s0 * a) / 2;
  const double expected_share = first_moment / fitting;
  CHECK(expected_share == Approx(0.4778).margin(1e-3));

  const int size = 224, samples = 20000;
  double share = 0, log_ratio = 0, placement = 0;
  int placed = 0;
  double min_ratio = 10, max_ratio = 0;
  for (int i = 0; i < samples; ++i) {
    vit::SplitMix64 random = vit::augmentation_stream(11, 0, std::uint64_t(i));
    const vit::CropBox box = vit::random_resized_crop_box(size, size, {}, random);
    share += double(box.height) * box.width / (size * size);
    log_ratio += std::log(double(box.width) / box.height);
    min_ratio = std::min(min_ratio, double(box.width) / box.height);
    max_ratio = std::max(max_ratio, double(box.width) / box.height);
    if (box.height < size) {
      placement += double(box.top) / (size - box.height);
      ++placed;
    }
  }
  // Standard errors: share ~0.0015, log-ratio ~0.0012, placement ~0.002.
  CHECK(share / samples == Approx(expected_share).margin(0.01));
  CHECK(log_ratio / samples == Approx(0.0).margin(0.01));
  CHECK(placement / placed == Approx(0.5).margin(0.01));
  // Ratios stay in [3/4, 4/3] but for rounding the sides (h >= 55 px here): within 4%.
  CHECK(min_ratio >= 0.75 / 1.04);
  CHECK(max_ratio <= 4.0 / 3.0 * 1.04);
  CHECK(min_ratio < 0.8);
  CHECK(max_ratio > 1.25);
}

TEST_CASE("train data: crops, padding and flips are exact", "[train][data][transforms]") {
  const vit::Image image = gradient_image(5, 4, 9);
  // crop reaching outside the image reads zeros.
  const vit::Image window = vit::crop(image, {-1, 3, 3, 4});
  REQUIRE(window.width == 4);
  REQUIRE(window.height == 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x)
      for (int c = 0; c < 3; ++c) {
        const int sy = y - 1, sx = x + 3;
        const bool inside = sy >= 0 && sy < 4 && sx < 5;
        CHECK(window.row(y)[x * 3 + c] == (inside ? image.row(sy)[sx * 3 + c] : 0));
      }
  vit::Image flipped = image;
  vit::flip_horizontal(flipped);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c) CHECK(flipped.row(y)[x * 3 + c] == image.row(y)[(4 - x) * 3 + c]);

  // RandomCrop(3, padding=2) + flip: every pixel is the padded image's, at the drawn window, mirrored
  // when the flip draw is below 0.5; over many samples every window position occurs, flips half the time.
  const vit::Transform transform = vit::random_crop_transform(3, 2, {0, 0, 0}, {1, 1, 1}, 3);
  std::set<std::pair<int, int>> positions;
  int flips = 0;
  const int samples = 4000;
  for (int i = 0; i < samples; ++i) {
    vit::SplitMix64 random = vit::augmentation_stream(1, 2, std::uint64_t(i)), replay = random;
    const vit::Image out = transform.augment(image, random);
    const vit::CropBox box = vit::random_crop_box(4 + 4, 5 + 4, 3, 3, replay);
    const bool flip = replay.uniform() < 0.5;
    CHECK(replay.state() == random.state());
    positions.insert({box.top, box.left});
    flips += flip;
    REQUIRE(out.width == 3);
    REQUIRE(out.height == 3);
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 3; ++x)
        for (int c = 0; c < 3; ++c) {
          const int sy = box.top + y - 2, sx = box.left + (flip ? 2 - x : x) - 2;
          const bool inside = sy >= 0 && sy < 4 && sx >= 0 && sx < 5;
          REQUIRE(out.row(y)[x * 3 + c] == (inside ? image.row(sy)[sx * 3 + c] : 0));
        }
  }
  CHECK(positions.size() == 6 * 7);               // tops 0..5, lefts 0..6
  CHECK(std::abs(flips - samples / 2) < 5 * 32);  // binomial sd = 32

  // torchvision's own RandomCrop(28, padding=2) windows of Fashion-MNIST image 0.
  const nlohmann::json manifest = vit::detail::read_json_file(train_data("transforms.json"));
  const vit::Image fashion = vit::load_image(train_data("fashion_mnist_train_0.png"));
  REQUIRE(manifest["random_crops"].size() == 4);
  for (const auto& entry : manifest["random_crops"]) {
    const int padding = entry["padding"], top = entry["top"], left = entry["left"];
    const vit::Image expected = vit::load_image(train_data(entry["file"]));
    CHECK(vit::crop(fashion, {top - padding, left - padding, 28, 28}).pixels == expected.pixels);
  }
  // No draw when the padded image is the crop's size; an image smaller than the crop is an error.
  vit::SplitMix64 random(5);
  const std::uint64_t before = random.state();
  CHECK(vit::random_crop_box(28, 28, 28, 28, random) == vit::CropBox{0, 0, 28, 28});
  CHECK(random.state() == before);
  VIT_REQUIRE_ERROR(vit::random_crop_box(27, 28, 28, 28, random), Catch::Contains("larger than the padded image"));
}

TEST_CASE("train data: RandomResizedCrop resizes its box as torchvision's resized_crop does on PIL",
          "[train][data][transforms][parity]") {
  const nlohmann::json manifest = vit::detail::read_json_file(train_data("transforms.json"));
  const vit::Image photo = vit::load_image(vit::test::data_path("images/baseline_120x90.jpg"));
  REQUIRE(manifest["resized_crops"].size() == 5);
  for (const auto& entry : manifest["resized_crops"]) {
    const vit::CropBox box{entry["top"], entry["left"], entry["height"], entry["width"]};
    const auto interpolation =
        entry["interpolation"] == "bilinear" ? vit::Interpolation::Bilinear : vit::Interpolation::Bicubic;
    const vit::Image expected = vit::load_image(train_data(entry["file"]));
    const vit::Image ours = vit::resize_like_pil(vit::crop(photo, box), entry["size"], entry["size"], interpolation);
    INFO(entry["file"].get<std::string>());
    CHECK(ours.pixels == expected.pixels);
  }
  // The transform is exactly that: its drawn box, resized, then flipped on its draw.
  vit::Preprocessing preprocessing = vit::timm_preprocessing(48, 0.875, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f});
  const vit::Transform transform = vit::random_resized_crop_transform(preprocessing);
  CHECK(transform.output_shape() == vit::Shape{3, 48, 48});
  CHECK(transform.flip_probability == 0.5);
  for (std::uint64_t i = 0; i < 20; ++i) {
    vit::SplitMix64 random = vit::augmentation_stream(0, 0, i), replay = random;
    const vit::Image out = transform.augment(photo, random);
    vit::Image expected =
        vit::resize_like_pil(vit::crop(photo, vit::random_resized_crop_box(photo.height, photo.width, {}, replay)), 48,
                             48, vit::Interpolation::Bicubic);
    if (replay.uniform() < 0.5) vit::flip_horizontal(expected);
    CHECK(out.pixels == expected.pixels);
  }
}

TEST_CASE("train data: transforms match torchvision's tensors", "[train][data][transforms][parity]") {
  const nlohmann::json manifest = vit::detail::read_json_file(train_data("transforms.json"));
  const vit::Image fashion = vit::load_image(train_data("fashion_mnist_train_0.png"));  // grey, as RGB
  vit::SplitMix64 unused(0);

  // Transfer learning: 28 -> 224 bicubic, PIL's bytes exactly; ImageNet normalisation to float rounding.
  const auto& window = manifest["transfer_window"];
  const vit::Transform transfer =
      vit::resize_transform(224, vit::Interpolation::Bicubic, window["mean"].get<std::array<float, 3>>(),
                            window["std"].get<std::array<float, 3>>());
  CHECK(transfer.output_shape() == vit::Shape{3, 224, 224});
  const vit::Image upsampled = transfer.augment(fashion, unused);
  CHECK(upsampled.pixels == vit::load_image(train_data("fashion_mnist_train_0.bicubic_224.png")).pixels);
  vit::Tensor<float> out(transfer.output_shape());
  transfer(fashion, unused, out.data());
  const int top = window["top"], left = window["left"], size = window["size"];
  float worst = 0;
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x)
        worst = std::max(worst,
                         std::abs(out[(c * 224 + top + y) * 224 + left + x] - window["values"][c][y][x].get<float>()));
  // vit scales by the float 1/255 where torchvision divides by 255: up to an ulp of the [0, 1] value.
  CHECK(worst <= 1e-6f);

  // From scratch: one channel, Fashion-MNIST's mean and std.
  const auto& small = manifest["small"];
  const vit::Transform plain = vit::resize_transform(
      28, vit::Interpolation::Bicubic, {small["mean"].get<float>(), 0, 0}, {small["std"].get<float>(), 1, 1}, 1);
  vit::Tensor<float> grey(plain.output_shape());
  plain(fashion, unused, grey.data());
  worst = 0;
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x)
      worst = std::max(worst, std::abs(grey[y * 28 + x] - small["values"][0][y][x].get<float>()));
  CHECK(worst <= 1e-6f);
}

TEST_CASE("train data: the evaluation transform is the checkpoint's preprocessing", "[train][data][transforms]") {
  const vit::Image photo = vit::load_image(vit::test::data_path("images/baseline_120x90.jpg"));
  const vit::Preprocessing preprocessing =
      vit::timm_preprocessing(64, 0.9, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f});
  const vit::Transform transform = vit::eval_transform(preprocessing);
  CHECK(transform.output_shape() == vit::Shape{3, 64, 64});
  vit::Tensor<float> ours(transform.output_shape());
  vit::SplitMix64 random(1);
  const std::uint64_t before = random.state();
  transform(photo, random, ours.data());
  CHECK(random.state() == before);  // evaluation draws nothing
  const vit::Tensor<float> expected = vit::preprocess({photo}, preprocessing);
  CHECK(std::memcmp(ours.data(), expected.data(), sizeof(float) * std::size_t(ours.numel())) == 0);

  // One channel is PIL's convert("L"): pure red is round(0.299 · 255) = 76.
  vit::Image red{1, 1, {255, 0, 0}};
  CHECK(vit::luma_like_pil(red.pixels.data()) == 76);
  const vit::Transform grey = vit::resize_transform(1, vit::Interpolation::Bilinear, {0, 0, 0}, {1, 1, 1}, 1);
  float value = 0;
  grey(red, random, &value);
  CHECK(value == Approx(76.0 / 255.0).epsilon(1e-6));

  vit::Transform bad = transform;
  bad.preprocessing.channels = 2;
  VIT_REQUIRE_ERROR(bad.validate(), Catch::Contains("2 channels"));
  bad = transform;
  bad.flip_probability = 1.5;
  VIT_REQUIRE_ERROR(bad.validate(), Catch::Contains("flip probability"));
  bad = transform;
  bad.preprocessing.center_crop = false;
  VIT_REQUIRE_ERROR(bad.validate(), Catch::Contains("different sizes"));
  // A random crop larger than the padded image is refused when the sample arrives.
  const vit::Transform too_big = vit::random_crop_transform(32, 1, {0, 0, 0}, {1, 1, 1}, 3);
  VIT_REQUIRE_ERROR(too_big.augment(gradient_image(28, 28), random), Catch::Contains("larger than the padded image"));
}

// ------------------------------------------------------------------------------------------------------
// DataLoader

TEST_CASE("train data: a 1-channel model sees a colour photo as timm loads it (mode L)",
          "[train][data][transforms][parity]") {
  // tools/make_train_data_fixtures.py: convert("L"), Resize(32, BICUBIC), CenterCrop(28), ToTensor, Normalize.
  const nlohmann::json manifest = vit::detail::read_json_file(train_data("transforms.json"));
  const auto& expected = manifest["grey_photo"];
  const vit::Image photo = vit::load_image(vit::test::data_path("images/baseline_120x90.jpg"));
  // From timm's config of a 1-channel model, as a checkpoint saved by train carries it.
  vit::TimmDataConfig data;
  data.in_chans = 1;
  data.image_size = expected["image_size"];
  data.crop_pct = expected["crop_pct"];
  data.mean = {expected["mean"].get<double>()};
  data.std = {expected["std"].get<double>()};
  const vit::Preprocessing preprocessing = vit::preprocessing_from_timm_data(data, "test");
  CHECK(preprocessing.channels == 1);
  const vit::Tensor<float> ours = vit::preprocess({photo}, preprocessing);
  REQUIRE(ours.shape() == vit::Shape{1, 1, 28, 28});
  float worst = 0;
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x)
      worst = std::max(worst, std::abs(ours[y * 28 + x] - expected["values"][0][y][x].get<float>()));
  CHECK(worst <= 2e-6f);  // the float 1/255 against torchvision's division, over std 0.353
  // The training pipeline's evaluation transform gives the same tensor.
  const vit::Transform transform = vit::eval_transform(preprocessing);
  CHECK(transform.output_shape() == vit::Shape{1, 28, 28});
  vit::Tensor<float> through_transform(transform.output_shape());
  vit::SplitMix64 unused(0);
  transform(photo, unused, through_transform.data());
  CHECK(std::memcmp(through_transform.data(), ours.data(), sizeof(float) * 28 * 28) == 0);
  // Two channels (or a mean per channel of another count) are refused, naming the source.
  data.in_chans = 2;
  VIT_REQUIRE_ERROR(vit::preprocessing_from_timm_data(data, "test"), Catch::Contains("2-channel"));
  data.in_chans = 1;
  data.mean = {0.1, 0.2, 0.3};
  VIT_REQUIRE_ERROR(vit::preprocessing_from_timm_data(data, "test"), Catch::Contains("3 values for 1 channels"));
}

TEST_CASE("train data: the loader visits every sample once per epoch, in a new order each epoch",
          "[train][data][loader]") {
  const SyntheticDataset dataset(103, 6, 5);
  vit::DataLoaderOptions options;
  options.batch_size = 10;
  options.seed = 42;
  options.workers = 2;
  for (bool drop_last : {false, true}) {
    options.drop_last = drop_last;
    vit::DataLoader loader(dataset, identity_transform(6, 5), options);
    CHECK(loader.batches_per_epoch() == (drop_last ? 10 : 11));
    std::vector<std::int64_t> previous;
    for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
      const std::vector<vit::Batch> batches = whole_epoch(loader, epoch);
      REQUIRE(std::int64_t(batches.size()) == loader.batches_per_epoch());
      std::vector<std::int64_t> visited;
      for (std::size_t k = 0; k < batches.size(); ++k) {
        const vit::Batch& batch = batches[k];
        CHECK(batch.epoch == epoch);
        CHECK(batch.number == std::int64_t(k));
        CHECK(batch.size() == (k == 10 ? 3 : 10));
        CHECK(batch.images.shape() == vit::Shape{batch.size(), 3, 5, 6});
        for (std::int64_t b = 0; b < batch.size(); ++b) {
          const std::int64_t index = batch.indices[std::size_t(b)];
          CHECK(batch.labels[std::size_t(b)] == dataset.label(index));
          // Without augmentation the image is the sample's own: pixel (0, 0) of channel 0 / 255.
          CHECK(batch.images[b * 90] == Approx(float(gradient_image(6, 5, int(index)).pixels[0]) / 255.0f));
        }
        visited.insert(visited.end(), batch.indices.begin(), batch.indices.end());
      }
      const std::vector<std::int64_t> order = loader.epoch_order(epoch);
      CHECK(visited == std::vector<std::int64_t>(order.begin(), order.begin() + loader.samples_per_epoch()));
      CHECK(order == vit::epoch_permutation(103, 42, std::uint64_t(epoch)));
      std::set<std::int64_t> distinct(visited.begin(), visited.end());
      CHECK(distinct.size() == visited.size());
      CHECK(std::int64_t(visited.size()) == (drop_last ? 100 : 103));
      CHECK(visited != previous);
      previous = visited;
    }
  }
  // Without shuffling, the dataset's order.
  options.shuffle = false;
  options.drop_last = false;
  vit::DataLoader ordered(dataset, identity_transform(6, 5), options);
  const std::vector<vit::Batch> batches = whole_epoch(ordered, 4);
  CHECK(batches[1].indices == std::vector<std::int64_t>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
}

TEST_CASE("train data: the loader's batches are tools/data_order.py's", "[train][data][loader]") {
  const nlohmann::json fixture = vit::detail::read_json_file(train_data("data_order.json"));
  for (const auto& expected : fixture["batches"]) {
    const SyntheticDataset dataset(expected["count"], 4, 4);
    vit::DataLoaderOptions options;
    options.batch_size = expected["batch_size"];
    options.seed = std::stoull(expected["seed"].get<std::string>());
    options.shuffle = expected["shuffle"];
    options.drop_last = expected["drop_last"];
    vit::DataLoader loader(dataset, identity_transform(4, 4), options);
    std::vector<std::vector<std::int64_t>> batches;
    for (const vit::Batch& batch : whole_epoch(loader, expected["epoch"])) batches.push_back(batch.indices);
    CHECK(batches == expected["batches"].get<std::vector<std::vector<std::int64_t>>>());
  }
}

TEST_CASE("train data: batches are bit-identical whatever the number of workers, run after run",
          "[train][data][loader]") {
  const SyntheticDataset dataset(37, 12, 10);
  vit::Transform transform = vit::random_crop_transform(8, 2, {0.4f, 0.5f, 0.6f}, {0.2f, 0.25f, 0.3f}, 3);
  vit::DataLoaderOptions options;
  options.batch_size = 5;
  options.seed = 9;
  std::vector<std::vector<vit::Batch>> reference;
  for (const auto& [workers, prefetch] :
       std::vector<std::pair<int, int>>{{0, 1}, {1, 1}, {1, 2}, {3, 2}, {3, 4}, {0, 1}}) {
    options.workers = workers;
    options.prefetch = prefetch;
    vit::DataLoader loader(dataset, transform, options);
    std::vector<std::vector<vit::Batch>> epochs;
    for (std::int64_t epoch = 0; epoch < 3; ++epoch) epochs.push_back(whole_epoch(loader, epoch));
    INFO("workers " << workers << " prefetch " << prefetch);
    if (reference.empty()) {
      reference = std::move(epochs);
      // The augmentation is real: epochs differ, and a sample's image differs between epochs.
      CHECK_FALSE(same_batches(reference[0], reference[1]));
      continue;
    }
    for (std::size_t epoch = 0; epoch < reference.size(); ++epoch) CHECK(same_batches(epochs[epoch], reference[epoch]));
  }
  // A sample's augmentation depends on (seed, epoch, index) only: the same index in another batch size.
  options.batch_size = 7;
  options.workers = 2;
  vit::DataLoader other(dataset, transform, options);
  const std::vector<vit::Batch> epoch1 = whole_epoch(other, 1);
  const float* in_reference = nullptr;
  const float* in_other = nullptr;
  for (const vit::Batch& batch : reference[1])
    for (std::size_t b = 0; b < batch.indices.size(); ++b)
      if (batch.indices[b] == 20) in_reference = batch.images.data() + b * 3 * 8 * 8;
  for (const vit::Batch& batch : epoch1)
    for (std::size_t b = 0; b < batch.indices.size(); ++b)
      if (batch.indices[b] == 20) in_other = batch.images.data() + b * 3 * 8 * 8;
  REQUIRE(in_reference);
  REQUIRE(in_other);
  CHECK(std::memcmp(in_reference, in_other, sizeof(float) * 3 * 8 * 8) == 0);
}

TEST_CASE("train data: a worker's exception reaches the caller at its batch", "[train][data][loader][errors]") {
  SyntheticDataset dataset(40, 4, 4);
  dataset.throw_at = 17;
  for (int workers : {0, 1, 3}) {
    vit::DataLoaderOptions options;
    options.batch_size = 4;
    options.shuffle = false;
    options.workers = workers;
    vit::DataLoader loader(dataset, identity_transform(4, 4), options);
    loader.start_epoch(0);
    for (int k = 0; k < 4; ++k) REQUIRE(loader.next());  // batches 0-3 hold samples 0-15
    bool threw = false;
    try {
      (void)loader.next();
    } catch (const std::runtime_error& error) {
      threw = true;
      CHECK_THAT(std::string(error.what()), Catch::Contains("sample 17"));
    }
    CHECK(threw);
    CHECK_FALSE(loader.next());  // the epoch ended there
    // The next epoch starts afresh (and fails at the same place).
    loader.start_epoch(1);
    CHECK(loader.next());
  }
  // Errors of the transform and of the labels reach the caller too.
  const SyntheticDataset small(6, 4, 4);
  vit::DataLoader too_big(small, vit::random_crop_transform(8, 1, {0, 0, 0}, {1, 1, 1}, 3));
  too_big.start_epoch(0);
  VIT_REQUIRE_ERROR(too_big.next(), Catch::Contains("larger than the padded image"));
  SyntheticDataset mislabelled(6, 4, 4);
  mislabelled.bad_label = true;
  vit::DataLoader labels(mislabelled, identity_transform(4, 4));
  labels.start_epoch(0);
  VIT_REQUIRE_ERROR(labels.next(), Catch::Contains("has label 3, outside the dataset's 3 classes"));
}

TEST_CASE("train data: workers prefetch a bounded number of batches while the caller works", "[train][data][loader]") {
  const SyntheticDataset dataset(100, 4, 4);
  vit::DataLoaderOptions options;
  options.batch_size = 5;
  options.workers = 2;
  options.prefetch = 3;
  vit::DataLoader loader(dataset, identity_transform(4, 4), options);
  loader.start_epoch(0);
  REQUIRE(loader.next());
  // The caller now "trains": the workers make batches 1-3 meanwhile, and stop there (the bound).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (dataset.loads.load() < 4 * 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(dataset.loads.load() == 4 * 5);  // batch 0 and the 3 made ahead
  REQUIRE(loader.next());
  while (dataset.loads.load() < 5 * 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(dataset.loads.load() == 5 * 5);
}

TEST_CASE("train data: destroying or restarting a loader mid-epoch returns promptly", "[train][data][loader]") {
  SyntheticDataset dataset(64, 4, 4);
  dataset.delay_ms = 40;  // a batch of 16 takes 640 ms to make
  vit::DataLoaderOptions options;
  options.batch_size = 16;
  options.workers = 2;
  options.prefetch = 2;
  const vit::Transform transform = identity_transform(4, 4);
  using Clock = std::chrono::steady_clock;
  const auto milliseconds = [](Clock::duration duration) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  };
  {
    auto loader = std::make_unique<vit::DataLoader>(dataset, transform, options);
    loader->start_epoch(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // both workers are inside a batch
    const auto start = Clock::now();
    loader.reset();
    CHECK(milliseconds(Clock::now() - start) < 300);  // one sample's time, not a batch's
  }
  {
    vit::DataLoader loader(dataset, transform, options);
    loader.start_epoch(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto start = Clock::now();
    loader.start_epoch(1);  // abandons epoch 0
    CHECK(milliseconds(Clock::now() - start) < 300);
    dataset.delay_ms = 0;
    const std::vector<vit::Batch> restarted = whole_epoch(loader, 1);
    vit::DataLoader fresh(dataset, transform, options);
    CHECK(same_batches(restarted, whole_epoch(fresh, 1)));
  }
  // Never started, and finished: nothing to wait for.
  { vit::DataLoader idle(dataset, transform, options); }
  {
    vit::DataLoader finished(dataset, transform, options);
    (void)whole_epoch(finished, 0);
  }
}

TEST_CASE("train data: unreadable samples are left out and counted; loader options are checked",
          "[train][data][loader][errors]") {
  SyntheticDataset dataset(12, 4, 4);
  dataset.unreadable = {1, 4, 5, 6, 7};  // batch 1 (samples 4-7) is entirely unreadable
  vit::DataLoaderOptions options;
  options.batch_size = 4;
  options.shuffle = false;
  const vit::Transform transform = identity_transform(4, 4);
  vit::DataLoader loader(dataset, transform, options);
  const std::vector<vit::Batch> batches = whole_epoch(loader, 0);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].indices == std::vector<std::int64_t>{0, 2, 3});
  CHECK(batches[0].images.shape() == vit::Shape{3, 3, 4, 4});
  CHECK(batches[0].images[3 * 16] == Approx(float(gradient_image(4, 4, 2).pixels[0]) / 255.0f));
  CHECK(batches[1].number == 2);
  CHECK(loader.skipped() == 5);
  (void)whole_epoch(loader, 1);
  CHECK(loader.skipped() == 10);

  vit::DataLoader not_started(dataset, transform, options);
  VIT_REQUIRE_ERROR(not_started.next(), Catch::Contains("start_epoch"));
  options.batch_size = 0;
  VIT_REQUIRE_ERROR(vit::DataLoader(dataset, transform, options), Catch::Contains("batch size 0"));
  options.batch_size = 4;
  options.prefetch = 0;
  VIT_REQUIRE_ERROR(vit::DataLoader(dataset, transform, options), Catch::Contains("prefetch 0"));
  options.prefetch = 2;
  options.workers = -1;
  VIT_REQUIRE_ERROR(vit::DataLoader(dataset, transform, options), Catch::Contains("-1 workers"));
  options.workers = 1;
  options.batch_size = std::int64_t(1) << 40;  // [2^40, 3, 224, 224] floats: refused before allocating
  VIT_REQUIRE_ERROR(vit::DataLoader(dataset, identity_transform(224, 224), options), Catch::Contains("GB of memory"));
}

TEST_CASE("train data: subsets", "[train][data]") {
  const SyntheticDataset dataset(10, 3, 3);
  const vit::Subset first = vit::Subset::first(dataset, 4);
  CHECK(first.size() == 4);
  CHECK(first.num_classes() == 3);
  CHECK(first.label(3) == 0);
  const vit::Subset picked(dataset, {9, 2});
  CHECK(picked.label(0) == 0);
  CHECK(picked.load(1)->image.pixels == gradient_image(3, 3, 2).pixels);
  VIT_REQUIRE_ERROR(vit::Subset::first(dataset, 11), Catch::Contains("first 11 samples of a dataset of 10"));
  VIT_REQUIRE_ERROR(vit::Subset(dataset, {10}), Catch::Contains("index 10"));
}

TEST_CASE("train data: Fashion-MNIST through the loader, for training from scratch and transfer",
          "[train][data][fashion-mnist]") {
  const std::optional<std::string> dir = vit::find_fashion_mnist();
  if (!dir) {
    WARN("SKIPPED: Fashion-MNIST is not in " << vit::kDebianFashionMnistDir);
    return;
  }
  const vit::IdxDataset test = vit::load_mnist(*dir, vit::MnistSplit::Test);
  vit::DataLoaderOptions options;
  options.batch_size = 8;
  options.shuffle = false;
  vit::DataLoader scratch(
      test, vit::random_crop_transform(28, 2, {vit::kFashionMnistMean, 0, 0}, {vit::kFashionMnistStd, 1, 1}, 1),
      options);
  scratch.start_epoch(0);
  const std::optional<vit::Batch> batch = scratch.next();
  REQUIRE(batch);
  CHECK(batch->images.shape() == vit::Shape{8, 1, 28, 28});
  CHECK(batch->labels == std::vector<int>{9, 2, 1, 1, 6, 1, 4, 6});

  const vit::Subset first = vit::Subset::first(test, 2000);
  vit::DataLoader transfer(first,
                           vit::resize_transform(224, vit::Interpolation::Bicubic, {0.485f, 0.456f, 0.406f},
                                                 {0.229f, 0.224f, 0.225f}, 3, 0.5),
                           options);
  CHECK(transfer.batches_per_epoch() == 250);
  transfer.start_epoch(0);
  const std::optional<vit::Batch> large = transfer.next();
  REQUIRE(large);
  CHECK(large->images.shape() == vit::Shape{8, 3, 224, 224});
}
