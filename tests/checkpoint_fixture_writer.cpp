// checkpoint_fixture_writer TEST_DATA_DIR OUT_DIR: saves every model of checkpoint_cases.hpp as a checkpoint
// folder OUT_DIR/NAME with vit::train::save_checkpoint, and writes OUT_DIR/NAME.vit.safetensors with what vit
// computes for it: `logits` of the model reloaded from the folder on its fixture's `input` batch (its first
// channel for the one-channel case), and `pixels`, the folder's preprocessing of the test image (RGB cases).
// tools/make_checkpoint_fixtures.py runs it, loads the folders in timm and transformers and compares;
// tests/cli/checkpoint_test.sh runs it to get folders for the tools.
#include <filesystem>
#include <iostream>
#include <vit/train/checkpoint.hpp>
#include <vit/vit.hpp>

#include "checkpoint_cases.hpp"

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::cerr << "usage: checkpoint_fixture_writer TEST_DATA_DIR OUT_DIR\n";
    return 2;
  }
  const std::string data_dir = argv[1], out_dir = argv[2];
  std::filesystem::create_directories(out_dir);
  const vit::Image image = vit::load_image(data_dir + "/" + vit::test::kCheckpointImage);
  for (const vit::test::CheckpointCase& checkpoint_case : vit::test::checkpoint_cases()) {
    const std::string folder = out_dir + "/" + checkpoint_case.name;
    vit::train::CheckpointOptions options;
    options.labels = checkpoint_case.labels;
    options.data = checkpoint_case.data;
    vit::train::save_checkpoint(vit::test::load_checkpoint_case(checkpoint_case, data_dir), folder, options);

    const vit::Model reloaded = vit::load_model(folder);
    const vit::Tensor<float> logits =
        reloaded.forward(vit::test::checkpoint_case_input(checkpoint_case, data_dir)).logits;
    std::map<std::string, vit::SafetensorsView> outputs{{"logits", logits}};
    vit::Tensor<float> pixels;
    if (!checkpoint_case.grey) {  // vit's image preprocessing makes RGB only
      pixels = vit::preprocess({image}, vit::preprocessing_for_checkpoint(folder, reloaded.config(), reloaded.naming()));
      outputs.emplace("pixels", pixels);
    }
    vit::write_safetensors(folder + ".vit.safetensors", outputs);
    std::cout << folder << "\n";
  }
  return 0;
} catch (const std::exception& error) {
  std::cerr << "checkpoint_fixture_writer: " << error.what() << "\n";
  return 1;
}
