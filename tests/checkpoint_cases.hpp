// The models of the checkpoint interop fixtures (tests/data/checkpoint/): the timm fixtures of tests/data (and
// a one-channel variant of one, as a Fashion-MNIST model is), each saved by vit::train::save_checkpoint with
// its own labels and preprocessing. Shared by the tests
// (test_checkpoint.cpp) and by checkpoint_fixture_writer, the program tools/make_checkpoint_fixtures.py runs
// to get the folders it loads in timm and transformers. No Catch2 here: the program includes it too.
#pragma once

#include <algorithm>
#include <string>
#include <vector>
#include <vit/io/safetensors.hpp>
#include <vit/model/timm_config.hpp>
#include <vit/model/vision_transformer.hpp>

namespace vit::test {

struct CheckpointCase {
  std::string name;      // the folder's name, and the prefix of its entries in the fixture
  std::string weights;   // the timm fixture it is made of, relative to tests/data
  std::string expected;  // that fixture's expected outputs (for its `input` batch), relative to tests/data
  ViTConfig config;      // the architecture of `weights` (see tests/data/README.md)
  std::vector<std::string> labels;
  TimmDataConfig data;
  // One input channel: the RGB patch kernels summed over their channels (what timm's adapt_input_conv does
  // for in_chans=1), and the input batch's first channel.
  bool grey = false;
};

// An RGB PNG (a decoded JPEG) that PIL and vit decode to the same pixels: the preprocessing check's input.
inline const char* kCheckpointImage = "pil/baseline_120x90.decoded.png";

inline std::vector<CheckpointCase> checkpoint_cases() {
  ViTConfig vit;  // tests/data vit_timm: timm VisionTransformer(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3)
  vit.name = "vit_timm fixture";
  vit.image_size = 32;
  vit.patch_size = 8;
  vit.embed_dim = 48;
  vit.depth = 2;
  vit.num_heads = 3;
  vit.mlp_dim = 192;
  vit.num_classes = 10;
  ViTConfig deit = vit;
  deit.name = "deit_distilled_timm fixture";
  deit.distillation_token = true;
  ViTConfig meanpool = vit;
  meanpool.name = "vit_timm_meanpool fixture";
  meanpool.pooling = Pooling::Mean;
  meanpool.fc_norm = true;

  // timm's defaults for a DeiT: ImageNet mean/std, bicubic, centre crop 0.875.
  TimmDataConfig imagenet;
  imagenet.image_size = 32;
  // CIFAR-10's statistics, crop 0.9.
  TimmDataConfig cifar = imagenet;
  cifar.mean = {0.4914, 0.4822, 0.4465};
  cifar.std = {0.247, 0.2435, 0.2616};
  cifar.crop_pct = 0.9;
  // Both sides resized, nothing cropped, bilinear, 0.5: HF ViTImageProcessor's choices in timm's words.
  ViTConfig grey = vit;
  grey.name = "vit_timm fixture, one channel";
  grey.in_channels = 1;
  // Fashion-MNIST's statistics, no crop.
  TimmDataConfig fashion = imagenet;
  fashion.in_chans = 1;
  fashion.mean = {0.286};
  fashion.std = {0.353};
  fashion.crop_pct = 1.0;
  TimmDataConfig squash = imagenet;
  squash.crop_mode = "squash";
  squash.crop_pct = 1.0;
  squash.interpolation = "bilinear";
  squash.mean = squash.std = {0.5, 0.5, 0.5};

  return {
      {"vit", "vit_timm.safetensors", "vit_timm.expected.safetensors", vit,
       {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
       imagenet},
      {"deit_distilled", "deit_distilled_timm.safetensors", "deit_distilled_timm.expected.safetensors", deit,
       {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"},
       cifar},
      // Names beyond ASCII and with JSON's special characters travel through every reader.
      {"vit_meanpool", "vit_timm_meanpool.safetensors", "vit_timm_meanpool.expected.safetensors", meanpool,
       {"zéro", "один", "二", "drei \"3\"", "four\\4", "cinq, 5", "six/6", "sept\t7", "ocho", "nove"},
       squash},
      {"vit_grey", "vit_timm.safetensors", "vit_timm.expected.safetensors", grey,
       {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
       fashion, true},
  };
}

// The weights of a case as the model that save_checkpoint is given.
inline Model load_checkpoint_case(const CheckpointCase& checkpoint_case, const std::string& data_dir) {
  const std::string path = data_dir + "/" + checkpoint_case.weights;
  if (!checkpoint_case.grey) return load_model(path, checkpoint_case.config);
  const SafetensorsFile rgb = SafetensorsFile::open(path);
  std::vector<Tensor<float>> values;  // each owns its heap buffer: views into them survive the vector growing
  std::vector<SafetensorsTensor> tensors;
  for (const SafetensorsEntry& entry : rgb.entries()) {
    Tensor<float> value = rgb.read_float(entry);
    if (entry.name == "patch_embed.proj.weight") {  // [D, 3, P, P] -> [D, 1, P, P]
      const Shape shape = value.shape();
      const std::int64_t plane = shape[2] * shape[3];
      Tensor<float> summed({shape[0], 1, shape[2], shape[3]});
      for (std::int64_t d = 0; d < shape[0]; ++d)
        for (std::int64_t c = 0; c < shape[1]; ++c)
          for (std::int64_t j = 0; j < plane; ++j) summed[d * plane + j] += value[(d * shape[1] + c) * plane + j];
      value = std::move(summed);
    }
    values.push_back(std::move(value));
    tensors.push_back({entry.name, values.back().view()});
  }
  return Model(SafetensorsFile::parse(encode_safetensors(tensors), path + " (one channel)"), checkpoint_case.config,
               CheckpointNaming::Timm);
}

// The fixture's input batch [B, C, H, W] for the case's channels.
inline Tensor<float> checkpoint_case_input(const CheckpointCase& checkpoint_case, const std::string& data_dir) {
  Tensor<float> input = SafetensorsFile::open(data_dir + "/" + checkpoint_case.expected).read_float("input");
  if (!checkpoint_case.grey) return input;
  const std::int64_t batch = input.size(0), channels = input.size(1), plane = input.size(2) * input.size(3);
  Tensor<float> first({batch, 1, input.size(2), input.size(3)});
  for (std::int64_t b = 0; b < batch; ++b)
    std::copy_n(input.data() + b * channels * plane, plane, first.data() + b * plane);
  return first;
}

}  // namespace vit::test
