// Training throughput: one optimizer step (forward with the activation cache, cross-entropy with label
// smoothing, backward to every parameter, clipping, AdamW) on a fixed batch, for the models of issue 16's
// speed goal. Validate first: the initial weights and the batch are exported (--export-dir) so that
// tools/bench_train_peers.py runs the same step in PyTorch and checks the same first loss; then time.
//
//   bench_train --export-dir DIR [--threads T] [--steps N] [--case NAME]  → one JSON line per case on stdout
//
// Reported: median and min seconds per step over N timed steps (after 2 warm-up steps), images/s, and the
// model FLOPs of a step (3x the forward's multiply-adds x 2; the backward's two GEMMs per forward GEMM) per
// second. The weights change every step, as in real training.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>
#include <vit/train.hpp>
#include <vit/vit.hpp>

namespace {

struct Case {
  std::string name;
  vit::ViTConfig config;
  int batch;
};

std::vector<Case> cases() {
  vit::ViTConfig small;  // issue 16's Fashion-MNIST model: 28x28x1, patch 4, width 64, depth 6, 4 heads, MLP 128
  small.name = "vit_fmnist_p4_w64_d6";
  small.image_size = 28;
  small.patch_size = 4;
  small.in_channels = 1;
  small.embed_dim = 64;
  small.depth = 6;
  small.num_heads = 4;
  small.mlp_dim = 128;
  small.num_classes = 10;
  vit::ViTConfig tiny = vit::preset("deit_tiny_patch16_224");
  tiny.num_classes = 10;
  return {{"vit_fmnist_p4_w64_d6_b64", small, 64}, {"vit_fmnist_p4_w64_d6_b128", small, 128},
          {"deit_tiny_224_b64", tiny, 64}};
}

// Multiply-adds x 2 of one forward pass per image.
double forward_flops(const vit::ViTConfig& c) {
  const double d = c.embed_dim, m = c.mlp_dim, p = c.num_patches(), n = c.num_tokens();
  const double patch = 2 * p * c.in_channels * c.patch_size * c.patch_size * d;
  const double block = 2 * n * (4 * d * d + 2 * d * m) + 2 * 2 * n * n * d;
  return patch + c.depth * block + 2 * d * c.num_classes;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app("Training throughput of vit (see tools/bench_train_peers.py for PyTorch's)", "bench_train");
  std::string export_dir, only;
  int threads = int(std::max(1u, std::thread::hardware_concurrency())), steps = 10;
  app.add_option("--export-dir", export_dir, "Where to write each case's initial weights and batch")->required();
  app.add_option("--threads", threads, "CPU threads");
  app.add_option("--steps", steps, "Timed steps per case (DeiT-tiny: a third of them)");
  app.add_option("--case", only, "Run only this case");
  CLI11_PARSE(app, argc, argv);
  vit::Context context;
  context.threads = threads;
  for (const Case& c : cases()) {
    if (!only.empty() && c.name != only) continue;
    vit::Model model = vit::train::new_model(c.config, 1);
    vit::Tensor<float> images = vit::Tensor<float>::uninitialized(
        {c.batch, c.config.in_channels, c.config.image_size, c.config.image_size});
    vit::SplitMix64 random(7);
    for (std::int64_t i = 0; i < images.numel(); ++i) images[i] = float(random.normal());
    std::vector<int> labels;
    vit::Tensor<float> label_tensor({c.batch});
    for (int b = 0; b < c.batch; ++b) {
      labels.push_back(int(random.below(std::uint64_t(c.config.num_classes))));
      label_tensor[b] = float(labels.back());
    }
    const std::filesystem::path dir = std::filesystem::path(export_dir) / c.name;
    vit::train::CheckpointOptions checkpoint;
    if (c.config.in_channels == 1) {
      vit::TimmDataConfig grey;
      grey.in_chans = 1;
      grey.image_size = c.config.image_size;
      grey.mean = {0.5};
      grey.std = {0.5};
      checkpoint.data = grey;
    }
    vit::train::save_checkpoint(model, (dir / "model").string(), checkpoint);
    vit::train::save_tensors((dir / "batch.safetensors").string(), {{"images", images.view()}, {"labels", label_tensor.view()}});

    vit::train::Optimizer optimizer(vit::train::parameter_groups(model), model.parameters().numel(), {});
    vit::train::TrainStepOptions options;
    options.label_smoothing = 0.1;
    options.clip_grad_norm = 1.0;
    const int timed = c.config.image_size >= 224 ? std::max(3, steps / 3) : steps;
    std::vector<double> seconds;
    double first_loss = 0;
    for (int step = 0; step < 2 + timed; ++step) {
      const auto start = std::chrono::steady_clock::now();
      const auto result = vit::train::train_step(model, optimizer, images, labels, 1e-4f, options, context);
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (step == 0) first_loss = result.loss;
      if (step >= 2) seconds.push_back(elapsed);
    }
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds[seconds.size() / 2];
    const double flops = 3 * forward_flops(c.config) * c.batch;
    std::printf("{\"case\":\"%s\",\"framework\":\"vit\",\"threads\":%d,\"batch\":%d,\"steps\":%zu,"
                "\"median_s\":%.6f,\"min_s\":%.6f,\"images_per_s\":%.2f,\"gflops_per_s\":%.2f,\"first_loss\":%.7f}\n",
                c.name.c_str(), threads, c.batch, seconds.size(), median, seconds.front(), c.batch / median,
                flops / median * 1e-9, first_loss);
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& error) {
  std::fprintf(stderr, "bench_train: %s\n", error.what());
  return 1;
}
