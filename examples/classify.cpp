// classify: the command-line front end of vit. It parses arguments, asks the library to load a model,
// decode and preprocess images and run them in batches, and prints the top classes of each image.
// Everything that knows about ViTs lives in the library; this file only wires it together.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <new>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>
#include <vit/vit.hpp>

#include "cli_common.hpp"

namespace fs = std::filesystem;

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
  app.add_option("IMAGE|DIR", options.inputs, "Image files, and directories searched recursively for image files")
      ->required()
      ->type_name("");
}

vit::Model load_model(const Options& options) {
  if (!options.config.empty()) return vit::load_model(options.model, vit::load_hf_config(options.config));
  if (!options.arch.empty()) {
    vit::ViTConfig config;
    try {
      config = vit::preset(options.arch);
    } catch (const vit::Error& error) {
      throw UsageError(std::string("--arch: ") + error.what());  // a typo in a name, not a bad file
    }
    return vit::load_model(options.model, config);
  }
  return vit::load_model(options.model);  // architecture inferred, or from the config.json beside HF weights
}

// One path to classify; `error` is set when the input could not even be listed (an empty directory).
struct Input {
  std::string path;
  std::string error;
};

// Files named on the command line are taken as they are (a wrong extension is no reason to skip what the
// user asked for); directories contribute their image files, sorted so that the output order is stable, and
// each entry that could not be examined (a broken link, a folder without permission) as a failed input.
std::vector<Input> expand_inputs(const std::vector<std::string>& arguments) {
  std::vector<Input> inputs;
  for (const std::string& argument : arguments) {
    std::error_code error;
    if (!fs::is_directory(argument, error)) {
      inputs.push_back({argument, {}});
      continue;
    }
    const vit::ImageSearch found = vit::find_images(argument);
    for (const std::string& path : found.images) inputs.push_back({path, {}});
    for (const vit::SearchProblem& problem : found.problems) inputs.push_back({problem.path, problem.message});
    if (found.images.empty() && found.problems.empty())
      inputs.push_back({argument, argument + ": no image files in the directory"});
  }
  return inputs;
}

// Checked per image before batching, so that one image the preprocessing refuses (a 1×100000 strip
// would resize to hundreds of millions of pixels) fails alone instead of taking its batch with it.
void check_resize_size(const vit::Image& image, const vit::Preprocessing& preprocessing, const std::string& path) {
  try {
    (void)preprocessing.resized_size(image.width, image.height);
  } catch (const vit::Error& error) {
    throw vit::Error(path + ": " + error.what());
  }
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

// One image's outcome, kept until its batch has run so that output follows input order.
struct Entry {
  std::string path;
  std::string error;  // non-empty: this image failed
  std::vector<vit::Prediction> top;
};

class Printer {
 public:
  Printer(std::vector<std::string> labels, bool json, int classes)
      : labels_(std::move(labels)), json_(json), classes_(classes) {}

  // Prints one entry; returns false when it was a failure.
  bool print(const Entry& entry) const {
    if (!entry.error.empty()) {
      std::cerr << "classify: error: " << entry.error << "\n";
      if (json_) std::cout << dump({{"image", entry.path}, {"error", entry.error}}) << "\n";
      return false;
    }
    if (json_) {
      nlohmann::ordered_json top = nlohmann::ordered_json::array();
      for (const vit::Prediction& p : entry.top)
        top.push_back({{"index", p.index},
                       {"label", label(p.index)},
                       {"prob", shortest(p.probability)},
                       {"logit", shortest(p.logit)}});
      std::cout << dump({{"image", entry.path}, {"top", top}}) << "\n";
      return true;
    }
    cli::print_top(std::cout, entry.path, entry.top, labels_, classes_);
    return true;
  }

 private:
  std::string label(int index) const { return labels_.empty() ? std::to_string(index) : labels_[std::size_t(index)]; }
  // File names and label files need not be valid UTF-8; replace bad bytes rather than throw.
  static std::string dump(const nlohmann::ordered_json& json) {
    return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }

  std::vector<std::string> labels_;
  bool json_;
  int classes_;
};

// Decodes images one by one and classifies them in batches: one preprocess and one forward call per batch.
// Returns the number of failed inputs.
std::size_t classify_all(const std::vector<Input>& inputs, const vit::Model& model, const cli::Forward& forward,
                         const Options& options, const vit::Context& context, const Printer& printer) {
  const vit::Preprocessing preprocessing =
      vit::preprocessing_for_checkpoint(options.model, model.config(), model.naming());
  Progress progress(inputs.size(), isatty(STDERR_FILENO) && inputs.size() > std::size_t(options.batch));
  std::vector<Entry> pending;       // everything since the last batch, failures included, in input order
  std::vector<vit::Image> images;   // the decoded ones
  std::vector<std::size_t> owners;  // owners[i]: the entry of images[i]
  std::size_t done = 0, failures = 0;

  const auto run_batch = [&] {
    if (pending.empty()) return;
    if (!images.empty()) {
      try {
        const vit::Tensor<float> batch = vit::preprocess(images, preprocessing, context);
        const auto top = vit::top_k(forward(batch, {}, context).logits, options.top);
        for (std::size_t i = 0; i < owners.size(); ++i) pending[owners[i]].top = top[i];
      } catch (const std::exception& error) {  // e.g. out of memory: the whole batch fails, the run goes on
        for (std::size_t owner : owners) pending[owner].error = pending[owner].path + ": " + error.what();
      }
    }
    progress.clear();
    for (const Entry& entry : pending) failures += printer.print(entry) ? 0 : 1;
    std::cout.flush();
    done += pending.size();
    progress.show(done);
    pending.clear();
    images.clear();
    owners.clear();
  };

  progress.show(0);
  for (const Input& input : inputs) {
    Entry entry{input.path, input.error, {}};
    if (entry.error.empty()) {
      try {
        vit::Image image = vit::load_image(input.path, options.decode);
        check_resize_size(image, preprocessing, input.path);
        owners.push_back(pending.size());
        images.push_back(std::move(image));
      } catch (const vit::Error& error) {
        entry.error = error.what();  // the library's message already names the file
      } catch (const std::bad_alloc&) {
        entry.error = input.path + ": out of memory while decoding";
      }
    }
    pending.push_back(std::move(entry));
    if (images.size() == std::size_t(options.batch)) run_batch();
  }
  run_batch();
  progress.clear();
  return failures;
}

int run(const Options& options) {
  const vit::Context context =
      cli::make_context(options.device, options.dtype, options.threads);  // first: a wrong --device should fail fast
  const vit::Model model = load_model(options);
  if (model.config().num_classes == 0)
    throw vit::Error(options.model + ": the model has no classification head, so there is nothing to classify");
  const Printer printer(cli::load_labels(options.labels, options.config, options.model, model), options.json,
                        model.config().num_classes);
  const cli::Forward forward(model, options.device, options.dtype);
  const std::size_t failures = classify_all(expand_inputs(options.inputs), model, forward, options, context, printer);
  return failures == 0 ? 0 : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("", "classify");
  Options options;
  define_options(app, options);
  return cli::main_with_errors(app, argc, argv, [&] { return run(options); });
}
