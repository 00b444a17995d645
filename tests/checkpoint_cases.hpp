// The models of the checkpoint interop fixtures (tests/data/checkpoint/): three timm fixtures of tests/data,
// each saved by vit::train::save_checkpoint with its own labels and preprocessing. Shared by the tests
// (test_checkpoint.cpp) and by checkpoint_fixture_writer, the program tools/make_checkpoint_fixtures.py runs
// to get the folders it loads in timm and transformers. No Catch2 here: the program includes it too.
#pragma once

#include <string>
#include <vector>
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
  };
}

// The weights of a case as the model that save_checkpoint is given.
inline Model load_checkpoint_case(const CheckpointCase& checkpoint_case, const std::string& data_dir) {
  return load_model(data_dir + "/" + checkpoint_case.weights, checkpoint_case.config);
}

}  // namespace vit::test
