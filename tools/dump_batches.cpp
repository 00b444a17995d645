// dump_batches: the first batches examples/train makes on Fashion-MNIST (from scratch, 28x28x1), written as
// .npy so that tools/train_reference.py --check-batches can compare its own batches with them.
//
// The data is set up exactly as examples/train.cpp does it: Subset::first for --train-limit/--val-limit,
// random_crop_transform(28, padding 2, Fashion-MNIST mean/std, 1 channel) for training, resize_transform(28,
// bicubic, mean/std, 1 channel) for evaluation; training batches shuffled with drop_last, evaluation in order.
//
// Build it with the project's own flags (Release, -march=native: the same floating-point contraction as the
// train binary), then run it:
//   g++ -std=c++17 -O3 -DNDEBUG -march=native -fopenmp -Iinclude -I/usr/include/eigen3 tools/dump_batches.cpp -lz \
//       -o build/dump_batches
//   build/dump_batches OUT_DIR SEED EPOCH BATCH BATCHES [TRAIN_LIMIT [VAL_LIMIT [FASHION_MNIST_DIR]]]
// It writes OUT_DIR/{train,val}.{images,labels,indices}.npy: the first BATCHES batches of epoch EPOCH of the
// training loader and of the evaluation loader, concatenated ([BATCHES·BATCH, 1, 28, 28] images; labels
// and indices as float32, exact below 2^24).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "vit/io/npy.hpp"
#include "vit/train/data.hpp"

namespace {

void dump(vit::DataLoader& loader, std::int64_t epoch, std::int64_t batches, const std::string& prefix) {
  std::vector<float> images, labels, indices;
  std::vector<std::int64_t> sample_shape;
  loader.start_epoch(epoch);
  std::int64_t count = 0;
  for (std::int64_t k = 0; k < batches; ++k) {
    std::optional<vit::Batch> batch = loader.next();
    if (!batch) break;
    images.insert(images.end(), batch->images.data(), batch->images.data() + batch->images.numel());
    for (std::int64_t i = 0; i < batch->size(); ++i) {
      labels.push_back(float(batch->labels[std::size_t(i)]));
      indices.push_back(float(batch->indices[std::size_t(i)]));
    }
    count += batch->size();
  }
  const vit::Shape shape = loader.transform().output_shape();
  vit::save_npy(prefix + ".images.npy",
                vit::TensorView<const float>(images.data(), vit::Shape{count, shape[0], shape[1], shape[2]}));
  vit::save_npy(prefix + ".labels.npy", vit::TensorView<const float>(labels.data(), vit::Shape{count}));
  vit::save_npy(prefix + ".indices.npy", vit::TensorView<const float>(indices.data(), vit::Shape{count}));
  std::printf("%s: %lld images\n", prefix.c_str(), (long long)count);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s OUT_DIR SEED EPOCH BATCH BATCHES [TRAIN_LIMIT [VAL_LIMIT [FASHION_MNIST_DIR]]]\n",
                 argv[0]);
    return 2;
  }
  try {
    const std::string out = argv[1];
    const std::uint64_t seed = std::strtoull(argv[2], nullptr, 10);
    const std::int64_t epoch = std::atoll(argv[3]), batch = std::atoll(argv[4]), batches = std::atoll(argv[5]);
    const std::int64_t train_limit = argc > 6 ? std::atoll(argv[6]) : 0, val_limit = argc > 7 ? std::atoll(argv[7]) : 0;
    const std::string dir = argc > 8 ? argv[8] : vit::kDebianFashionMnistDir;

    const vit::IdxDataset train_full = vit::load_mnist(dir, vit::MnistSplit::Train);
    const vit::IdxDataset val_full = vit::load_mnist(dir, vit::MnistSplit::Test);
    const vit::Subset train = vit::Subset::first(train_full, train_limit > 0 ? train_limit : train_full.size());
    const vit::Subset val = vit::Subset::first(val_full, val_limit > 0 ? val_limit : val_full.size());

    const std::array<float, 3> mean{vit::kFashionMnistMean, vit::kFashionMnistMean, vit::kFashionMnistMean};
    const std::array<float, 3> stddev{vit::kFashionMnistStd, vit::kFashionMnistStd, vit::kFashionMnistStd};
    vit::DataLoaderOptions options;
    options.batch_size = batch;
    options.seed = seed;
    options.drop_last = true;
    vit::DataLoader train_loader(train, vit::random_crop_transform(28, 2, mean, stddev, 1), options);
    options.shuffle = false;
    options.drop_last = false;
    vit::DataLoader val_loader(val, vit::resize_transform(28, vit::Interpolation::Bicubic, mean, stddev, 1), options);

    dump(train_loader, epoch, batches, out + "/train");
    dump(val_loader, epoch, batches, out + "/val");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "dump_batches: %s\n", error.what());
    return 1;
  }
  return 0;
}
