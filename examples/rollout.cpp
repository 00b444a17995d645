// rollout: explanation maps for one image, from the command line. It loads a model, runs one forward pass
// that keeps every layer's attention, prints the most probable classes, and draws the map of the chosen
// method (attention rollout by default; class-specific methods add a backward pass) over the original image
// (or the crop the model saw). Several methods or classes give one side-by-side figure with titles.
// Optionally the last layer's per-head attention and the maps as .npy. Everything that knows about ViTs lives
// in the library; this file only wires it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include <vit/vit.hpp>

#include "cli_common.hpp"

namespace {

using cli::UsageError;
constexpr int kTop = 5;

struct Options {
  vit::DecodeOptions decode;
  std::string model, image, out = "rollout.png", heads, raw, labels;
  std::vector<std::string> methods = {"rollout"}, classes;
  bool vit_explain = false;
  std::string fusion = "mean", token = "cls", colormap = "jet", on = "original", device = "cpu", dtype = "fp32";
  double discard = 0.9;
  int start_layer = 0;
  float alpha = 0.5f;
  int threads = vit::Context{}.threads;
};

void define_options(CLI::App& app, Options& options) {
  app.description(
      "Explanation maps for one image with a Vision Transformer (ViT or DeiT) checkpoint in .safetensors format, "
      "from timm or Hugging Face. By default attention rollout (Abnar & Zuidema, 2020): one forward pass keeps "
      "every layer's attention; the heads are fused, the weakest weights discarded, and the layers multiplied "
      "into one map of how much each patch flows into the class token. Class-specific methods (--method) explain "
      "one class (--class, default the top-1) with the gradients of its score. The top classes are printed and "
      "the map is drawn over the image; several methods or classes give one figure, a titled tile each. Exit "
      "status: 0 on success, 1 when the model, labels or image cannot be read or an output cannot be written, "
      "2 for a usage error.");
  app.footer(
      "Examples:\n"
      "  rollout --model ../shared/models/deit_tiny_patch16_224.safetensors \\\n"
      "          --labels ../shared/labels/imagenet_classes.txt ../shared/images/both.png\n"
      "  rollout --model ../shared/models/deit_tiny_patch16_224.safetensors --fusion max --discard 0.9 \\\n"
      "          --on crop --out crop.png --heads heads.png --raw map.npy ../shared/images/dogbird.png\n"
      "  rollout --model ../shared/models/deit_tiny_patch16_224.safetensors \\\n"
      "          --labels ../shared/labels/imagenet_classes.txt --method transformer-attribution \\\n"
      "          --class basset --class macaw --out dogbird.png ../shared/images/dogbird.png\n"
      "  rollout --model ../shared/models/deit_tiny_patch16_224.safetensors --on crop \\\n"
      "          --method rollout,grad-rollout,generic-attention,transformer-attribution --out compare.png \\\n"
      "          ../shared/images/both.png\n");
  app.add_option("--model", options.model,
                 "Weights file (.safetensors, timm or Hugging Face naming) or a checkpoint folder holding "
                 "model.safetensors")
      ->required()
      ->type_name("PATH");
  app.add_option("--out", options.out, "Where to write the overlay PNG")->type_name("FILE")->capture_default_str();
  std::string method_names;
  for (std::string_view name : vit::kExplanationMethodNames)
    method_names += (method_names.empty() ? "" : ", ") + std::string(name);
  app.add_option("--method", options.methods,
                 "Explanation method, or several separated by commas (one figure, a tile each): " + method_names +
                     ". Class-blind: rollout, raw-attention; the others explain one class with gradients")
      ->delimiter(',')
      ->type_name("M[,M...]")
      ->capture_default_str();
  app.add_option("--class", options.classes,
                 "The class to explain: an index, or a label (whole, or one of its comma-separated names) from "
                 "--labels or config.json; repeat for several (one figure). Default: the top-1")
      ->type_name("K");
  app.add_flag("--vit-explain", options.vit_explain,
               "grad-rollout: reproduce jacobgil/vit-explain's exact output, its gradient pairing and row "
               "normalisation bugs included");
  app.add_option("--fusion", options.fusion, "How the heads of a layer are fused (rollout): mean, max or min")
      ->check(CLI::IsMember({"mean", "max", "min"}))
      ->capture_default_str();
  app.add_option(
         "--discard", options.discard,
         "Share of each layer's smallest fused attention weights set to zero, in [0, 1) (rollout, grad-rollout)")
      ->type_name("R")
      ->check(CLI::Validator(
          [](const std::string& text) {
            double value = -1;
            try {
              value = std::stod(text);
            } catch (const std::exception&) {
              return std::string("not a number: ") + text;
            }
            return value >= 0.0 && value < 1.0 ? std::string() : "discard ratio " + text + " is outside [0, 1)";
          },
          "in [0, 1)"))
      ->capture_default_str();
  app.add_option("--start-layer", options.start_layer, "First layer in the product; earlier layers are left out")
      ->type_name("L")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--token", options.token,
                 "Whose attention flow is drawn: cls (the class token) or dist (DeiT's distillation token)")
      ->check(CLI::IsMember({"cls", "dist"}))
      ->capture_default_str();
  app.add_option("--colormap", options.colormap, "Colours of the map: jet (as OpenCV's), viridis or turbo")
      ->check(CLI::IsMember({"jet", "viridis", "turbo"}))
      ->capture_default_str();
  app.add_option("--alpha", options.alpha, "Weight of the map's colour over the image, in [0, 1]")
      ->type_name("A")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--on", options.on,
                 "Draw over the original image (the map covers the part the model saw) or over the crop the model "
                 "saw")
      ->check(CLI::IsMember({"original", "crop"}))
      ->capture_default_str();
  app.add_option("--heads", options.heads,
                 "Also write the last layer's attention from the token to the patches, one tile per head, over the "
                 "crop (each head scaled to its own maximum)")
      ->type_name("FILE");
  app.add_option("--raw", options.raw,
                 "Also write the map itself, [grid_h, grid_w] float32, as NumPy .npy ([maps, grid_h, grid_w] for a "
                 "figure, in its tile order)")
      ->type_name("FILE");
  app.add_option("--labels", options.labels,
                 "Class names, one per line (line 1 = class 0). Default: the checkpoint's own (id2label of a "
                 "Hugging Face config.json, label_names of a timm one), else class indices")
      ->type_name("FILE");
  cli::add_device_options(app, options.device, options.dtype);
  cli::add_decode_options(app, options.decode);
  app.add_option("--threads", options.threads, "CPU threads (default: all hardware threads)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("IMAGE", options.image, "The image to explain")->required()->type_name("");
}

vit::RolloutOptions rollout_options(const Options& options, const vit::ViTConfig& config) {
  vit::RolloutOptions rollout;
  rollout.fusion = vit::parse_head_fusion(options.fusion);
  rollout.discard_ratio = options.discard;
  rollout.start_layer = options.start_layer;
  rollout.token = options.token == "dist" ? 1 : 0;
  if (rollout.token == 1 && !config.distillation_token)
    throw UsageError("--token dist: " + options.model +
                     " has no distillation token (only distilled DeiT models do); use --token cls");
  if (!config.class_token)
    throw UsageError(options.model + ": the model has no class token, so there is no token to roll attention into");
  if (options.start_layer >= config.depth)
    throw UsageError("--start-layer " + std::to_string(options.start_layer) + ": the model has only " +
                     std::to_string(config.depth) + " layers (0 to " + std::to_string(config.depth - 1) + ")");
  return rollout;
}

std::vector<vit::ExplanationMethod> parse_methods(const Options& options) {
  std::vector<vit::ExplanationMethod> methods;
  for (const std::string& name : options.methods) {
    try {
      methods.push_back(vit::parse_explanation_method(name));
    } catch (const vit::Error& error) {
      throw UsageError(std::string("--method: ") + error.what());
    }
  }
  if (methods.empty()) throw UsageError("--method: no method given");
  return methods;
}

// The --class values as class indices; empty for the default (each method's top-1).
std::vector<int> parse_classes(const Options& options, const std::vector<std::string>& labels, int classes) {
  std::vector<int> indices;
  for (const std::string& text : options.classes) {
    if (classes == 0) throw UsageError("--class " + text + ": the model has no classification head");
    try {
      indices.push_back(vit::find_class(labels, classes, text));
    } catch (const vit::Error& error) {
      throw UsageError(std::string("--class: ") + error.what());
    }
  }
  return indices;
}

// 3 heads side by side, 6 as 3 × 2, 12 as 4 × 3.
int head_columns(std::int64_t heads) {
  if (heads <= 4) return int(heads);
  return int(std::ceil(std::sqrt(double(heads))));
}

std::string class_name(int index, const std::vector<std::string>& labels) {
  if (labels.empty()) return std::to_string(index);
  const std::string& label = labels[std::size_t(index)];
  return std::to_string(index) + " " + label.substr(0, label.find(','));
}

struct Map {
  vit::ExplanationMap map;
  std::string title;  // "method" or "method: class"
};

int run(const Options& options) {
  cli::check_device(options.device, options.dtype);  // first: a wrong --device should fail fast
  const std::vector<vit::ExplanationMethod> methods = parse_methods(options);
  const bool any_class_specific =
      std::any_of(methods.begin(), methods.end(), [](vit::ExplanationMethod m) { return vit::is_class_specific(m); });
  if (any_class_specific && options.device != "cpu")
    throw UsageError(
        "--method: the class-specific methods need the backward pass, which runs on the CPU; use "
        "--device cpu");
  vit::PipelineOptions pipeline;
  pipeline.device = options.device == "cuda" ? vit::Device::CUDA : vit::Device::CPU;
  pipeline.dtype = vit::parse_dtype(options.dtype);
  pipeline.threads = options.threads;
  pipeline.decode = options.decode;
  vit::Explainer explainer(options.model, pipeline);
  const vit::ViTConfig& config = explainer.config();
  const vit::RolloutOptions rollout = rollout_options(options, config);
  if (!options.labels.empty()) cli::set_labels_file(explainer, options.labels);
  const std::vector<std::string>& labels = explainer.labels();
  if (any_class_specific && config.num_classes == 0)
    throw UsageError("--method: " + options.model +
                     " has no classification head, so there is no class score to take the gradient of");
  const std::vector<int> classes = parse_classes(options, labels, config.num_classes);
  vit::OverlayOptions overlay;
  overlay.colormap = vit::parse_colormap(options.colormap);
  overlay.alpha = options.alpha;
  overlay.on_crop = options.on == "crop";

  const vit::ExplainedImage image = explainer.prepare(options.image, kTop);
  if (image.top.empty())
    std::cout << options.image << "\n  (the model has no classification head)\n";
  else
    cli::print_top(std::cout, options.image, image.top, config.num_classes, !labels.empty());

  // One map per (class, method): classes are the figure's rows, methods its columns.
  std::vector<Map> maps;
  const std::vector<int> rows = classes.empty() ? std::vector<int>{-1} : classes;
  for (int target : rows)
    for (vit::ExplanationMethod method : methods) {
      vit::ExplainOptions explain;
      explain.method = method;
      explain.start_layer = options.start_layer;
      explain.token = rollout.token;
      explain.fusion = rollout.fusion;
      explain.discard_ratio = options.discard;
      explain.vit_explain = options.vit_explain;
      if (target >= 0) explain.targets = {target};
      Map map{explainer.explain(image, explain), std::string(vit::explanation_method_name(method))};
      if (vit::is_class_specific(method)) {
        map.title += ": " + class_name(map.map.target, labels);
        std::cout << vit::explanation_method_name(method) << " explains class " << class_name(map.map.target, labels)
                  << "\n";
      }
      maps.push_back(std::move(map));
    }

  const std::string where = overlay.on_crop ? "crop" : "original";
  if (maps.size() == 1) {
    const vit::Image rendered = explainer.overlay(image, maps.front().map, overlay);
    vit::save_png(options.out, rendered);
    std::cout << "wrote " << options.out << " (" << rendered.width << "x" << rendered.height << ", "
              << maps.front().title << " on the " << where << ")\n";
  } else {
    std::vector<vit::Image> tiles;
    std::vector<std::string> titles;
    for (const Map& map : maps) {
      tiles.push_back(explainer.overlay(image, map.map, overlay));
      titles.push_back(map.title);
    }
    const vit::Image figure = vit::titled_grid(tiles, titles, int(methods.size()));
    vit::save_png(options.out, figure);
    std::cout << "wrote " << options.out << " (" << figure.width << "x" << figure.height << ", " << maps.size()
              << " maps: " << methods.size() << " method(s) x " << rows.size() << " class(es), on the " << where
              << ")\n";
  }
  const vit::PatchGrid& grid = image.grid;
  if (!options.heads.empty()) {
    const vit::Tensor<float> heads = vit::raw_attention(image.forward.attentions, grid, rollout.token);
    const vit::TensorView<const float> per_head = heads.view().slice(0);
    const vit::Image tiles =
        vit::head_grid(per_head, image.crop, overlay.colormap, options.alpha, head_columns(per_head.size(0)));
    vit::save_png(options.heads, tiles);
    std::cout << "wrote " << options.heads << " (" << tiles.width << "x" << tiles.height << ", last-layer attention of "
              << per_head.size(0) << " heads)\n";
  }
  if (!options.raw.empty()) {
    if (maps.size() == 1) {
      vit::save_npy(options.raw, maps.front().map.values);
      std::cout << "wrote " << options.raw << " (float32 [" << grid.height << ", " << grid.width << "])\n";
    } else {
      vit::Tensor<float> stacked =
          vit::Tensor<float>::uninitialized({std::int64_t(maps.size()), grid.height, grid.width});
      for (std::size_t i = 0; i < maps.size(); ++i)
        std::copy_n(maps[i].map.values.data(), grid.patches(), stacked.data() + std::int64_t(i) * grid.patches());
      vit::save_npy(options.raw, stacked);
      std::cout << "wrote " << options.raw << " (float32 [" << maps.size() << ", " << grid.height << ", " << grid.width
                << "])\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("", "rollout");
  Options options;
  define_options(app, options);
  return cli::main_with_errors(app, argc, argv, [&] { return run(options); });
}
