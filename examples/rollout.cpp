// rollout: attention rollout for one image, from the command line. It loads a model, runs one forward
// pass that keeps every layer's attention, prints the most probable classes, and draws the rollout map
// over the original image (or the crop the model saw); optionally the last layer's per-head attention and
// the raw map as .npy. Everything that knows about ViTs lives in the library; this file only wires it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>
#include <vit/vit.hpp>

#include "cli_common.hpp"

namespace fs = std::filesystem;

namespace {

using cli::UsageError;
constexpr int kTop = 5;

struct Options {
  std::string model, image, out = "rollout.png", heads, raw, labels;
  std::string fusion = "mean", token = "cls", colormap = "jet", on = "original", device = "cpu", dtype = "fp32";
  double discard = 0.9;
  int start_layer = 0;
  float alpha = 0.5f;
  int threads = vit::Context{}.threads;
};

void define_options(CLI::App& app, Options& options) {
  app.description(
      "Attention rollout (Abnar & Zuidema, 2020) for one image with a Vision Transformer (ViT or DeiT) checkpoint "
      "in .safetensors format, from timm or Hugging Face. One forward pass keeps every layer's attention; the "
      "heads are fused, the weakest weights discarded, and the layers multiplied into one map of how much each "
      "patch flows into the class token. The top classes are printed and the map is drawn over the image. Exit "
      "status: 0 on success, 1 when the model, labels or image cannot be read or an output cannot be written, "
      "2 for a usage error.");
  app.footer(
      "Examples:\n"
      "  rollout --model ../shared/models/deit_tiny_patch16_224.safetensors \\\n"
      "          --labels ../shared/labels/imagenet_classes.txt ../shared/images/both.png\n"
      "  rollout --model ../shared/models/deit_tiny_patch16_224.safetensors --fusion max --discard 0.9 \\\n"
      "          --on crop --out crop.png --heads heads.png --raw map.npy ../shared/images/dogbird.png\n");
  app.add_option("--model", options.model, "Weights file (.safetensors), timm or Hugging Face naming")
      ->required()
      ->type_name("FILE");
  app.add_option("--out", options.out, "Where to write the overlay PNG")->type_name("FILE")->capture_default_str();
  app.add_option("--fusion", options.fusion, "How the heads of a layer are fused: mean, max or min")
      ->check(CLI::IsMember({"mean", "max", "min"}))
      ->capture_default_str();
  app.add_option("--discard", options.discard,
                 "Share of each layer's smallest fused attention weights set to zero, in [0, 1)")
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
  app.add_option("--raw", options.raw, "Also write the rollout map itself, [grid_h, grid_w] float32, as NumPy .npy")
      ->type_name("FILE");
  app.add_option("--labels", options.labels,
                 "Class names, one per line (line 1 = class 0). Default: the id2label of the config.json beside "
                 "Hugging Face weights, else class indices")
      ->type_name("FILE");
  cli::add_device_options(app, options.device, options.dtype);
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

// 3 heads side by side, 6 as 3 × 2, 12 as 4 × 3.
int head_columns(std::int64_t heads) {
  if (heads <= 4) return int(heads);
  return int(std::ceil(std::sqrt(double(heads))));
}

int run(const Options& options) {
  const vit::Context context =
      cli::make_context(options.device, options.dtype, options.threads);  // first: a wrong --device should fail fast
  const vit::Model model = vit::load_model(options.model);
  const vit::ViTConfig& config = model.config();
  const vit::RolloutOptions rollout = rollout_options(options, config);
  const std::vector<std::string> labels = cli::load_labels(options.labels, "", options.model, model);
  const vit::Colormap colormap = vit::parse_colormap(options.colormap);

  const vit::Preprocessing preprocessing = vit::preprocessing_for_checkpoint(options.model, config, model.naming());
  const vit::Image image = vit::load_image(options.image);
  const vit::Image crop = vit::resize_and_crop(image, preprocessing);
  vit::Tensor<float> input = vit::Tensor<float>::uninitialized({1, 3, crop.height, crop.width});
  vit::normalize_into(crop, preprocessing, input.data());

  vit::ForwardOptions forward_options;
  forward_options.attentions = true;
  const vit::ForwardResult<float> result =
      cli::Forward(model, options.device, options.dtype)(input, forward_options, context);
  if (result.logits.empty())
    std::cout << options.image << "\n  (the model has no classification head)\n";
  else
    cli::print_top(std::cout, options.image, vit::top_k(result.logits, kTop).front(), labels, config.num_classes);

  const vit::PatchGrid grid{config.num_prefix_tokens(), crop.height / config.patch_size,
                            crop.width / config.patch_size};
  const vit::Tensor<float> maps = vit::attention_rollout(result.attentions, grid, rollout);
  const vit::TensorView<const float> map = maps.view().slice(0);
  const vit::Image rendered = options.on == "crop"
                                  ? vit::render_on_crop(crop, map, colormap, options.alpha)
                                  : vit::render_on_original(image, map, preprocessing, colormap, options.alpha);
  vit::save_png(options.out, rendered);
  std::cout << "wrote " << options.out << " (" << rendered.width << "x" << rendered.height << ", rollout on the "
            << options.on << ")\n";
  if (!options.heads.empty()) {
    const vit::Tensor<float> heads = vit::raw_attention(result.attentions, grid, rollout.token);
    const vit::TensorView<const float> per_head = heads.view().slice(0);
    const vit::Image tiles = vit::head_grid(per_head, crop, colormap, options.alpha, head_columns(per_head.size(0)));
    vit::save_png(options.heads, tiles);
    std::cout << "wrote " << options.heads << " (" << tiles.width << "x" << tiles.height << ", last-layer attention of "
              << per_head.size(0) << " heads)\n";
  }
  if (!options.raw.empty()) {
    vit::save_npy(options.raw, map);
    std::cout << "wrote " << options.raw << " (float32 [" << grid.height << ", " << grid.width << "])\n";
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
