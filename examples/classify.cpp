// classify: the command-line front end of vit. It parses arguments, asks the library to load a model,
// decode and preprocess images and run them in batches, and prints the top classes of each image.
// Everything that knows about ViTs lives in the library; this file only wires it together.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>
#include <vit/vit.hpp>

#include "cli_common.hpp"

namespace {

using cli::kExitFailure;
using cli::UsageError;

struct Options {
  vit::DecodeOptions decode;
  std::string model, config, arch, labels, device = "cpu", dtype = "fp32";
  int top = 5;
  int batch = 8;
  int threads = vit::Context{}.threads;
  bool json = false;
  bool no_decode_ahead = false;
  std::vector<std::string> inputs;
};

void define_options(CLI::App& app, Options& options) {
  app.description(
      "Classify images with a Vision Transformer (ViT or DeiT) checkpoint in .safetensors format, from timm or "
      "Hugging Face, or a checkpoint folder (model.safetensors and config.json, as timm and vit save them). The "
      "architecture is read from the config.json beside the weights, or from the weights themselves, and each "
      "image is preprocessed the way the checkpoint's framework does it. Directories are searched "
      "recursively for image files; for each image the most probable classes are printed, in input order. Exit "
      "status: 0 when every image was classified, 1 when the model could not be loaded or any image failed "
      "(the others are still classified), 2 for a usage error.");
  app.footer(
      "Examples:\n"
      "  classify --model ../shared/models/deit_tiny_patch16_224.safetensors \\\n"
      "           --labels ../shared/labels/imagenet_classes.txt ../shared/images/tench.jpg\n"
      "  classify --model ../shared/models/deit_tiny_patch16_224.safetensors --top 1 --json ../shared/images\n");
  app.add_option("--model", options.model,
                 "Weights file (.safetensors, timm or Hugging Face naming) or a checkpoint folder holding "
                 "model.safetensors")
      ->required()
      ->type_name("PATH");
  auto* config = app.add_option("--config", options.config,
                                "Hugging Face config.json giving the architecture (and labels from its id2label)")
                     ->type_name("FILE");
  auto* arch = app.add_option("--arch", options.arch,
                              "Named architecture instead of reading it from the checkpoint, e.g. "
                              "deit_tiny_patch16_224")
                   ->type_name("NAME");
  config->excludes(arch);
  app.add_option("--labels", options.labels,
                 "Class names, one per line (line 1 = class 0). Default: the checkpoint's own (id2label of a "
                 "Hugging Face config.json, label_names of a timm one), else class indices")
      ->type_name("FILE");
  app.add_option("--top", options.top, "How many classes to print per image")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cli::add_device_options(app, options.device, options.dtype);
  cli::add_decode_options(app, options.decode);
  app.add_option("--batch", options.batch, "Images per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--threads", options.threads, "CPU threads (default: all hardware threads)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--json", options.json, "Print one JSON object per image and line instead of text");
  app.add_flag("--no-decode-ahead", options.no_decode_ahead,
               "Decode each batch only after the previous one is classified (default: the next batch is decoded "
               "on a second thread meanwhile, which needs memory for one more batch of crops and one photograph)");
  app.add_option("IMAGE|DIR", options.inputs, "Image files, and directories searched recursively for image files")
      ->required()
      ->type_name("");
}

// The pipeline the options ask for. --arch names a preset; a typo there is a usage error, not a bad file.
vit::PipelineOptions pipeline_options(const Options& options) {
  vit::PipelineOptions pipeline;
  pipeline.device = options.device == "cuda" ? vit::Device::CUDA : vit::Device::CPU;
  pipeline.dtype = vit::parse_dtype(options.dtype);
  pipeline.threads = options.threads;
  pipeline.batch_size = options.batch;
  pipeline.decode_ahead = !options.no_decode_ahead;
  pipeline.decode = options.decode;
  pipeline.hf_config = options.config;
  if (!options.arch.empty()) {
    try {
      pipeline.config = vit::preset(options.arch);
    } catch (const vit::Error& error) {
      throw UsageError(std::string("--arch: ") + error.what());
    }
  }
  return pipeline;
}

// The shortest decimal that reads back as the same float, so JSON shows 0.3172 rather than 0.31720000505447388.
double shortest(float value) {
  char text[32];
  for (int digits = 6; digits < 9; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, double(value));
    if (std::strtof(text, nullptr) == value) return std::strtod(text, nullptr);
  }
  return double(value);
}

// A single status line on stderr, redrawn in place; only when a person is watching the terminal.
class Progress {
 public:
  Progress(std::size_t total, bool enabled) : total_(total), enabled_(enabled) {}
  void show(std::size_t done) {
    if (!enabled_) return;
    constexpr std::size_t width = 30;
    const std::size_t filled = total_ ? done * width / total_ : width;
    std::string bar(filled, '=');
    if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
    line_ = "[" + bar + "] " + std::to_string(done) + "/" + std::to_string(total_) + " images";
    std::cerr << '\r' << line_ << std::flush;
  }
  void clear() {
    if (!enabled_ || line_.empty()) return;
    std::cerr << '\r' << std::string(line_.size(), ' ') << '\r' << std::flush;
    line_.clear();
  }

 private:
  std::size_t total_;
  bool enabled_;
  std::string line_;
};

// Prints one result per line (or JSON object); errors also go to stderr.
class Printer {
 public:
  Printer(bool json, int classes, bool named) : json_(json), classes_(classes), named_(named) {}

  // Prints one result; returns false when it was a failure.
  bool print(const vit::ImageClassification& result) const {
    if (!result.ok()) {
      std::cerr << "classify: error: " << result.error << "\n";
      if (json_) std::cout << dump({{"image", result.path}, {"error", result.error}}) << "\n";
      return false;
    }
    if (json_) {
      nlohmann::ordered_json top = nlohmann::ordered_json::array();
      for (const vit::Classification& c : result.top)
        top.push_back({{"index", c.index}, {"label", c.label}, {"prob", shortest(c.probability)}, {"logit", shortest(c.logit)}});
      std::cout << dump({{"image", result.path}, {"top", top}}) << "\n";
      return true;
    }
    cli::print_top(std::cout, result.path, result.top, classes_, named_);
    return true;
  }

 private:
  // File names and label files need not be valid UTF-8; replace bad bytes rather than throw.
  static std::string dump(const nlohmann::ordered_json& json) {
    return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }

  bool json_;
  int classes_;
  bool named_;  // the checkpoint or --labels gives class names
};

int run(const Options& options) {
  cli::check_device(options.device, options.dtype);  // first: a wrong --device should fail fast
  vit::Classifier classifier(options.model, pipeline_options(options));
  const int classes = classifier.config().num_classes;
  if (classes == 0)
    throw vit::Error(options.model + ": the model has no classification head, so there is nothing to classify");
  if (!options.labels.empty()) cli::set_labels_file(classifier, options.labels);

  std::vector<vit::ImageInput> inputs = vit::expand_image_inputs(options.inputs);
  Progress progress(inputs.size(), isatty(STDERR_FILENO) && inputs.size() > std::size_t(options.batch));
  const Printer printer(options.json, classes, !classifier.labels().empty());
  std::size_t done = 0, failures = 0;
  progress.show(0);
  classifier.classify_files(std::move(inputs), options.top, [&](const vit::ImageClassification& result) {
    progress.clear();
    failures += printer.print(result) ? 0 : 1;
    std::cout.flush();
    progress.show(++done);
  });
  progress.clear();
  return failures == 0 ? 0 : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("", "classify");
  Options options;
  define_options(app, options);
  return cli::main_with_errors(app, argc, argv, [&] { return run(options); });
}
