// What the command-line tools (classify, rollout) share: exit codes, usage errors, --device, labels, the
// top-K text listing and the main() wrapper. Tool glue, not library API: it lives beside the tools.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>
#include <vit/vit.hpp>
#ifdef VIT_WITH_CUDA
#include <vit/cuda.hpp>
#endif

namespace cli {

constexpr int kExitFailure = 1;  // a model, label file or image could not be read, or an output not written
constexpr int kExitUsage = 2;    // the command line asks for something that cannot be done

// A problem with the command line that only shows after parsing (an unknown preset, labels that do not
// fit the model): reported like CLI11's own parse errors, with exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --device and --dtype, the same for every tool.
inline void add_device_options(CLI::App& app, std::string& device, std::string& dtype) {
  app.add_option("--device", device, "Where to run: cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--dtype", dtype, "Activation precision on cuda: fp32, fp16 or bf16 (cpu: fp32 only)")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}))
      ->capture_default_str();
}

// --exif-orientation: turn photos upright as their EXIF tag says, as Hugging Face's pipeline() does; off
// by default, as in PIL's Image.open and timm.
inline void add_decode_options(CLI::App& app, vit::DecodeOptions& decode) {
  app.add_flag("--exif-orientation", decode.exif_orientation,
               "Rotate/flip each image as its EXIF orientation tag says (as Hugging Face's pipeline does; timm and "
               "PIL's Image.open do not)");
}

// Checks --device and --dtype before anything is loaded, so that a wrong choice fails fast: asking for
// what this build cannot do is a usage error (exit 2); a CUDA build on a machine without a usable GPU is
// an error of the environment (vit::Error, exit 1).
inline void check_device(const std::string& device, const std::string& dtype) {
  if (device == "cpu" && dtype != "fp32")
    throw UsageError("--dtype " + dtype + ": the CPU backend computes in fp32; use --device cuda for fp16 or bf16");
  if (device == "cuda") {
#ifdef VIT_WITH_CUDA
    vit::cuda::require_device();
#else
    throw UsageError(
        "--device cuda: the CUDA backend is not built in this binary (configure with -DVIT_ENABLE_CUDA=ON where "
        "nvcc is installed); use --device cpu");
#endif
  }
}

// --labels FILE: class names one per line, replacing the checkpoint's own. A file that cannot be read is
// an error (exit 1); a count that does not match the model's classes is a usage error (exit 2).
template <class Pipeline>  // vit::Classifier or vit::Explainer
void set_labels_file(Pipeline& pipeline, const std::string& labels_file) {
  std::vector<std::string> labels = vit::load_labels(labels_file);
  const int classes = pipeline.config().num_classes;
  if (labels.size() != std::size_t(classes))
    throw UsageError(labels_file + " has " + std::to_string(labels.size()) + " labels but the model has " +
                     std::to_string(classes) + " classes");
  pipeline.set_labels(std::move(labels), labels_file);
}

// The people-readable listing of one image: its path, then "  PP.PP%  INDEX  LABEL" per class, the index
// padded to the digits of the largest class index so that the columns line up; no label column when the
// checkpoint has no class names (the label is then the index itself).
inline void print_top(std::ostream& out, const std::string& path, const std::vector<vit::Classification>& top,
                      int classes, bool named) {
  const int index_width = int(std::to_string(std::max(classes - 1, 0)).size());
  out << path << "\n";
  for (const vit::Classification& c : top) {
    char line[64];
    std::snprintf(line, sizeof line, "  %6.2f%%  %*d", 100.0 * double(c.probability), index_width, c.index);
    out << line << (named ? "  " + c.label : "") << "\n";
  }
}

// Parses the command line and calls run(): --help exits 0, parse and usage errors exit 2, any other
// error (vit::Error, an unwritable file, out of memory) exits 1 with its message. Never aborts.
template <class Run>
int main_with_errors(CLI::App& app, int argc, char** argv, Run run) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);  // prints --help, or the error and a hint
    return code == 0 ? 0 : kExitUsage;
  }
  const std::string name = app.get_name();
  try {
    return run();
  } catch (const UsageError& error) {
    std::cerr << name << ": " << error.what() << "\nRun with --help for more information.\n";
    return kExitUsage;
  } catch (const std::exception& error) {
    std::cerr << name << ": error: " << error.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace cli
