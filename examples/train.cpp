// train: fine-tune a pretrained ViT/DeiT or train one from scratch, on the CPU.
//
//   train --fashion-mnist --patch 4 --width 64 --depth 6 --heads 4 --epochs 10 --out runs/fmnist
//   train --data photos/train --val photos/val --model deit_tiny_patch16_224.safetensors --freeze last:2 --out runs/mine
//   train --fashion-mnist --model deit_tiny_patch16_224.safetensors --image-size 224 --train-limit 5000 ...
//
// A new model's initial weights go to OUT/initial (a checkpoint folder) first. Every epoch appends a line to
// OUT/log.csv, evaluates on the validation data and saves OUT/model (a
// checkpoint folder timm, Hugging Face, classify and rollout load) and OUT/training_state.safetensors (the
// optimizer's state, for --resume). Ctrl-C stops after the current step and saves both, resumable. Files are
// written under temporary names and renamed, so a failed or interrupted run never damages a saved one.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vit/train.hpp>
#include <vit/vit.hpp>

#include "cli_common.hpp"
#ifdef VIT_TRAIN_PLOT  // with cairo (libcairo2-dev): OUT/curves.png after every epoch
#include "training_plot.hpp"
constexpr const char* kPlotNote = "";
#else
constexpr const char* kPlotNote = "; no curves.png: built without cairo";
#endif

namespace {

std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) { interrupted = true; }

struct Options {
  // data
  bool fashion_mnist = false;
  std::string fashion_mnist_dir;
  std::string data, val;
  std::int64_t train_limit = 0, val_limit = 0;  // the first N images only (0: all)
  int image_size = 0;                           // input size; Fashion-MNIST is resized (bicubic) to it
  // model
  std::string model;  // a pretrained checkpoint (file or folder); otherwise a new model of the sizes below
  int patch = 4, width = 64, depth = 6, heads = 4;
  double mlp_ratio = 4;
  std::string pool = "token";
  int classes = 0;  // default: the data's class count
  std::string freeze = "none";
  // optimisation
  std::string optimizer = "adamw";
  int epochs = 10, batch = 128;
  double lr = 1e-3, head_lr_scale = 1, weight_decay = 0.05, warmup = 1, min_lr = 1e-6, label_smoothing = 0.1;
  double clip = 0, momentum = 0.9;
  bool no_augment = false;
  std::uint64_t seed = 0;
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  int workers = 1;
  std::string out;
  bool resume = false;
  std::int64_t stop_after_steps = 0;  // stop (and save, resumable) after this many optimizer steps
};

void define_options(CLI::App& app, Options& o) {
  app.description("Fine-tune or train a ViT/DeiT on the CPU; writes OUT/model, OUT/log.csv, OUT/training_state");
  auto* fashion = app.add_flag("--fashion-mnist", o.fashion_mnist, "Train on Fashion-MNIST (Debian's dataset-fashion-mnist)");
  app.add_option("--fashion-mnist-dir", o.fashion_mnist_dir, "Where its IDX files are (default: the Debian folder)");
  auto* data = app.add_option("--data", o.data, "An image folder: one sub-folder per class, as torchvision's ImageFolder");
  app.add_option("--val", o.val, "Validation image folder (with --data)");
  fashion->excludes(data);
  app.add_option("--train-limit", o.train_limit, "Train on the first N images only");
  app.add_option("--val-limit", o.val_limit, "Validate on the first N images only");
  app.add_option("--image-size", o.image_size, "Input size (default: the model's; Fashion-MNIST: 28)");
  app.add_option("--model", o.model, "Pretrained checkpoint to fine-tune (file or folder); default: a new model");
  app.add_option("--patch", o.patch, "New model: patch size")->capture_default_str();
  app.add_option("--width", o.width, "New model: embedding width")->capture_default_str();
  app.add_option("--depth", o.depth, "New model: blocks")->capture_default_str();
  app.add_option("--heads", o.heads, "New model: attention heads")->capture_default_str();
  app.add_option("--mlp-ratio", o.mlp_ratio, "New model: MLP width / embedding width")->capture_default_str();
  app.add_option("--pool", o.pool, "New model: token (class token) or avg (mean of patches, fc_norm)")
      ->check(CLI::IsMember({"token", "avg"}))
      ->capture_default_str();
  app.add_option("--classes", o.classes, "Head size (default: the data's classes); a pretrained head of another size is replaced");
  app.add_option("--freeze", o.freeze, "none (train all), head (train the head only: linear probe), last:K (head + last K blocks)")
      ->capture_default_str();
  app.add_option("--optimizer", o.optimizer, "adamw or sgd")->check(CLI::IsMember({"adamw", "sgd"}))->capture_default_str();
  app.add_option("--epochs", o.epochs, "Epochs")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", o.batch, "Batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", o.lr, "Peak learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--head-lr-scale", o.head_lr_scale, "The head's learning rate relative to --lr")->capture_default_str();
  app.add_option("--weight-decay", o.weight_decay, "Decoupled weight decay (AdamW) or L2 (SGD)")->capture_default_str();
  app.add_option("--warmup", o.warmup, "Warm-up epochs (linear), then cosine decay")->capture_default_str();
  app.add_option("--min-lr", o.min_lr, "The cosine schedule's floor")->capture_default_str();
  app.add_option("--label-smoothing", o.label_smoothing, "Label smoothing")->capture_default_str();
  app.add_option("--clip", o.clip, "Clip gradients to this global norm (0: off)")->capture_default_str();
  app.add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str();
  app.add_flag("--no-augment", o.no_augment, "No training augmentation");
  app.add_option("--seed", o.seed, "Seed of the initialisation, the data order and the augmentation")->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads for the model")->check(CLI::PositiveNumber);
  app.add_option("--workers", o.workers, "Threads that decode and augment the next batches")->capture_default_str();
  app.add_option("--out", o.out, "Output folder")->required();
  app.add_flag("--resume", o.resume, "Continue the run saved in --out (same options)");
  app.add_option("--stop-after-steps", o.stop_after_steps,
                 "Stop after this many optimizer steps in all, saving a resumable state as Ctrl-C does");
}

// --freeze: none → all blocks, head → 0, last:K → K.
int trainable_blocks(const std::string& freeze, int depth) {
  if (freeze == "none") return -1;
  if (freeze == "head") return 0;
  if (freeze.rfind("last:", 0) == 0) {
    const int k = std::atoi(freeze.c_str() + 5);
    if (k > 0 && k <= depth) return k;
  }
  throw cli::UsageError("--freeze " + freeze + ": expected none, head or last:K with 1 <= K <= " + std::to_string(depth));
}

struct Data {
  std::unique_ptr<vit::Dataset> train_full, val_full;
  std::unique_ptr<vit::Subset> train_subset, val_subset;
  const vit::Dataset* train = nullptr;
  const vit::Dataset* val = nullptr;
  std::vector<std::string> classes;
  bool grey = false;  // Fashion-MNIST: one channel (replicated to three for an RGB model)
};

Data load_data(const Options& o) {
  Data data;
  if (o.fashion_mnist) {
    std::string dir = o.fashion_mnist_dir;
    if (dir.empty()) {
      const std::optional<std::string> found = vit::find_fashion_mnist();
      if (!found) throw vit::Error("--fashion-mnist: no Fashion-MNIST in " + std::string(vit::kDebianFashionMnistDir) +
                                   " (apt-get install dataset-fashion-mnist, or give --fashion-mnist-dir)");
      dir = *found;
    }
    data.train_full = std::make_unique<vit::IdxDataset>(vit::load_mnist(dir, vit::MnistSplit::Train));
    data.val_full = std::make_unique<vit::IdxDataset>(vit::load_mnist(dir, vit::MnistSplit::Test));
    data.classes = vit::fashion_mnist_classes();
    data.grey = true;
  } else if (!o.data.empty()) {
    if (o.val.empty()) throw cli::UsageError("--data needs --val (a validation image folder)");
    auto train = std::make_unique<vit::ImageFolder>(o.data);
    auto val = std::make_unique<vit::ImageFolder>(o.val);
    if (val->classes() != train->classes())
      throw vit::Error(o.val + ": its class folders differ from " + o.data + "'s");
    data.classes = train->classes();
    data.train_full = std::move(train);
    data.val_full = std::move(val);
  } else {
    throw cli::UsageError("give the training data: --fashion-mnist or --data DIR --val DIR");
  }
  data.train = data.train_full.get();
  data.val = data.val_full.get();
  if (o.train_limit > 0) {
    data.train_subset = std::make_unique<vit::Subset>(vit::Subset::first(*data.train_full, o.train_limit));
    data.train = data.train_subset.get();
  }
  if (o.val_limit > 0) {
    data.val_subset = std::make_unique<vit::Subset>(vit::Subset::first(*data.val_full, o.val_limit));
    data.val = data.val_subset.get();
  }
  return data;
}

vit::Model make_model(const Options& o, const Data& data, int classes) {
  if (o.resume) return vit::load_model((std::filesystem::path(o.out) / "model").string());
  if (!o.model.empty()) {
    vit::Model pretrained = vit::load_model(o.model);
    if (pretrained.config().num_classes == classes) return pretrained;
    return vit::train::with_new_head(pretrained, classes, o.seed);
  }
  vit::ViTConfig config;
  config.name = "vit_custom";
  config.image_size = o.image_size > 0 ? o.image_size : (data.grey ? 28 : 224);
  config.patch_size = o.patch;
  config.in_channels = data.grey ? 1 : 3;
  config.embed_dim = o.width;
  config.depth = o.depth;
  config.num_heads = o.heads;
  config.mlp_dim = int(o.mlp_ratio * o.width);
  config.num_classes = classes;
  config.pooling = o.pool == "avg" ? vit::Pooling::Mean : vit::Pooling::ClassToken;
  config.fc_norm = config.pooling == vit::Pooling::Mean;
  return vit::train::new_model(config, o.seed);
}

// The training and evaluation transforms for this model and data.
std::pair<vit::Transform, vit::Transform> make_transforms(const Options& o, const Data& data, const vit::Model& model) {
  const vit::ViTConfig& config = model.config();
  const int size = o.image_size > 0 ? o.image_size : config.image_size;
  const int channels = config.in_channels;
  if (data.grey) {
    if (channels == 1) {  // from scratch at Fashion-MNIST's own size: random 2-px crop + flip, its mean/std
      const std::array<float, 3> mean{vit::kFashionMnistMean, vit::kFashionMnistMean, vit::kFashionMnistMean};
      const std::array<float, 3> stddev{vit::kFashionMnistStd, vit::kFashionMnistStd, vit::kFashionMnistStd};
      vit::Transform eval = vit::resize_transform(size, vit::Interpolation::Bicubic, mean, stddev, 1);
      vit::Transform train = o.no_augment ? eval : vit::random_crop_transform(size, 2, mean, stddev, 1);
      return {train, eval};
    }
    // A pretrained RGB model: grey replicated to RGB, bicubic to its size, its own mean/std, flips.
    const vit::Preprocessing reference = vit::default_preprocessing(config);
    vit::Transform eval = vit::resize_transform(size, vit::Interpolation::Bicubic, reference.mean, reference.stddev, 3);
    vit::Transform train = vit::resize_transform(size, vit::Interpolation::Bicubic, reference.mean, reference.stddev, 3,
                                                 o.no_augment ? 0.0 : 0.5);
    return {train, eval};
  }
  const vit::Preprocessing preprocessing =
      o.model.empty() ? vit::default_preprocessing(config) : vit::preprocessing_for_checkpoint(o.model, config, model.naming());
  vit::Transform eval = vit::eval_transform(preprocessing);
  vit::Transform train = o.no_augment ? eval : vit::random_resized_crop_transform(preprocessing);
  return {train, eval};
}

// The pre-logits features of every image of `dataset` (evaluation transform: nothing random), in order.
struct Features {
  vit::Tensor<float> values;  // [N, D]
  std::vector<int> labels;    // [N]
};

Features extract_features(const vit::Model& model, const vit::Dataset& dataset, const vit::Transform& transform,
                          const Options& o, const vit::Context& context, const char* what) {
  vit::DataLoaderOptions options;
  options.batch_size = o.batch;
  options.shuffle = false;
  options.workers = o.workers;
  vit::DataLoader loader(dataset, transform, options);
  loader.start_epoch(0);
  const std::int64_t dim = model.config().embed_dim;
  std::vector<float> values;
  Features features;
  vit::ForwardOptions forward;
  forward.features = true;
  const auto start = std::chrono::steady_clock::now();
  while (std::optional<vit::Batch> batch = loader.next()) {
    const vit::ForwardResult<float> output = model.forward(batch->images, forward, context);
    values.insert(values.end(), output.features.data(), output.features.data() + output.features.numel());
    features.labels.insert(features.labels.end(), batch->labels.begin(), batch->labels.end());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "\r%s features: %zu/%lld  %.0f img/s   ", what, features.labels.size(),
                 (long long)dataset.size(), double(features.labels.size()) / seconds);
  }
  std::fprintf(stderr, "\n");
  features.values = vit::Tensor<float>::uninitialized({std::int64_t(features.labels.size()), dim});
  std::copy(values.begin(), values.end(), features.values.data());
  return features;
}

// Rows `order[begin:end]` of the features: one batch.
std::pair<vit::Tensor<float>, std::vector<int>> gather(const Features& features, const std::vector<std::int64_t>& order,
                                                       std::size_t begin, std::size_t end) {
  const std::int64_t dim = features.values.size(1);
  vit::Tensor<float> rows = vit::Tensor<float>::uninitialized({std::int64_t(end - begin), dim});
  std::vector<int> labels;
  for (std::size_t i = begin; i < end; ++i) {
    std::copy_n(features.values.data() + order[i] * dim, dim, rows.data() + std::int64_t(i - begin) * dim);
    labels.push_back(features.labels[std::size_t(order[i])]);
  }
  return {std::move(rows), std::move(labels)};
}

// Validation of the head on fixed features: loss (no smoothing), top-1, top-5.
vit::train::Evaluation evaluate_head(const vit::Model& model, const Features& features, const vit::Context& context) {
  const std::int64_t count = features.values.size(0), classes = model.config().num_classes;
  vit::Tensor<float> logits = vit::Tensor<float>::uninitialized({count, classes});
  vit::cpu::linear(context, features.values, model.weight("head.weight"), model.weight("head.bias"), logits);
  vit::train::Evaluation result;
  result.images = count;
  result.loss = vit::train::cross_entropy(logits, features.labels).loss;
  result.top1 = double(vit::train::top_k_hits(logits, features.labels, 1)) / double(count);
  result.top5 = double(vit::train::top_k_hits(logits, features.labels, 5)) / double(count);
  return result;
}

// One epoch's line on stdout and in OUT/log.csv.
struct EpochRecord {
  std::int64_t epoch = 0, steps = 0;  // epoch counts from 1
  double lr = 0, train_loss = 0, train_top1 = 0;
  vit::train::Evaluation val;
  double seconds = 0, images_per_second = 0;
};

// Where an epoch is reported: the log and the plot drawn from it (OUT/curves.png, titled with the run).
struct Report {
  std::string log_path, plot_path, title;
};

void report_epoch(const EpochRecord& r, int epochs, const Report& report) {
  std::printf("epoch %lld/%d: train loss %.4f top-1 %.2f%% | val loss %.4f top-1 %.2f%% top-5 %.2f%% | %.1f s, %.0f img/s\n",
              (long long)r.epoch, epochs, r.train_loss, 100 * r.train_top1, r.val.loss, 100 * r.val.top1,
              100 * r.val.top5, r.seconds, r.images_per_second);
  std::fflush(stdout);
  std::ofstream(report.log_path, std::ios::app) << r.epoch << ',' << r.steps << ',' << r.lr << ',' << r.train_loss << ','
                                         << r.train_top1 << ',' << r.val.loss << ',' << r.val.top1 << ','
                                         << r.val.top5 << ',' << r.seconds << ',' << r.images_per_second << '\n';
#ifdef VIT_TRAIN_PLOT
  try {  // a plot that cannot be drawn (a full disk) must not end the training run: say so and go on
    training_plot::plot_log(report.log_path, report.plot_path, report.title);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: no plot this epoch: %s\n", e.what());
  }
#endif
}

// A batch whose training step cannot fit in this machine's memory is refused before anything is allocated:
// the activation cache keeps about (16·D + 2·H·N) floats per token and block (model/forward.hpp), the backward
// pass about as much again for its gradients and scratch.
void check_step_memory(const vit::ViTConfig& config, int batch, int image_size) {
  const double tokens = config.num_prefix_tokens() + double(image_size / config.patch_size) * (image_size / config.patch_size);
  const double per_image = tokens * config.depth * (16.0 * config.embed_dim + 2.0 * config.num_heads * tokens) * 4 * 2;
  const double needed = per_image * batch;
  const std::uint64_t memory = vit::detail::physical_memory_bytes();
  if (memory > 0 && needed > double(memory))
    throw vit::Error("--batch " + std::to_string(batch) + ": a training step would need about " +
                     std::to_string(int(needed / 1e9)) + " GB of activations, more than this machine's " +
                     std::to_string(int(double(memory) / 1e9)) + " GB; use a smaller batch");
}

void save_state(const std::string& path, const vit::train::Optimizer& optimizer, std::int64_t epoch,
                std::int64_t batch_in_epoch) {
  std::map<std::string, vit::TensorView<const float>> tensors;
  if (!optimizer.first_moment().empty()) tensors.emplace("first_moment", optimizer.first_moment().view());
  if (!optimizer.second_moment().empty()) tensors.emplace("second_moment", optimizer.second_moment().view());
  vit::train::save_tensors(path, tensors,
                           {{"steps", std::to_string(optimizer.steps())},
                            {"epoch", std::to_string(epoch)},
                            {"batch_in_epoch", std::to_string(batch_in_epoch)}});
}

int run(const Options& o) {
  std::signal(SIGINT, on_interrupt);  // from the start: Ctrl-C while loading stops at the first step, saved
  std::filesystem::create_directories(o.out);
  const std::string model_dir = (std::filesystem::path(o.out) / "model").string();
  const std::string state_path = (std::filesystem::path(o.out) / "training_state.safetensors").string();
  const std::string log_path = (std::filesystem::path(o.out) / "log.csv").string();
  Report report{log_path, (std::filesystem::path(o.out) / "curves.png").string(), ""};
  vit::Context context;
  context.threads = o.threads;

  Data data = load_data(o);
  const int classes = o.classes > 0 ? o.classes : int(data.classes.size());
  if (classes < int(data.classes.size()))
    throw cli::UsageError("--classes " + std::to_string(classes) + ": the data has " +
                          std::to_string(data.classes.size()) + " classes");
  vit::Model model = make_model(o, data, classes);
  if (model.config().num_classes != classes)
    throw vit::Error(model_dir + ": the saved model has " + std::to_string(model.config().num_classes) +
                     " classes, the data " + std::to_string(classes));
  const auto [train_transform, eval_transform] = make_transforms(o, data, model);
  check_step_memory(model.config(), o.batch, train_transform.output_height());

  vit::DataLoaderOptions train_options;
  train_options.batch_size = o.batch;
  train_options.seed = o.seed;
  train_options.workers = o.workers;
  train_options.drop_last = true;
  vit::DataLoader train_loader(*data.train, train_transform, train_options);
  vit::DataLoaderOptions val_options = train_options;
  val_options.shuffle = false;
  val_options.drop_last = false;
  vit::DataLoader val_loader(*data.val, eval_transform, val_options);

  vit::train::ParameterGroupOptions group_options;
  group_options.trainable_blocks = trainable_blocks(o.freeze, model.config().depth);
  group_options.head_lr_scale = float(o.head_lr_scale);
  vit::train::OptimizerOptions optimizer_options;
  optimizer_options.kind = o.optimizer == "sgd" ? vit::train::OptimizerKind::Sgd : vit::train::OptimizerKind::AdamW;
  optimizer_options.weight_decay = float(o.weight_decay);
  optimizer_options.sgd.momentum = float(o.momentum);
  vit::train::Optimizer optimizer(vit::train::parameter_groups(model, group_options), model.parameters().numel(),
                                  optimizer_options);
  const std::int64_t steps_per_epoch = train_loader.batches_per_epoch();
  if (steps_per_epoch == 0) throw cli::UsageError("--batch " + std::to_string(o.batch) + " is larger than the training data");
  vit::train::CosineSchedule schedule{o.lr, std::int64_t(o.warmup * double(steps_per_epoch)),
                                      std::int64_t(o.epochs) * steps_per_epoch, std::min(o.min_lr, o.lr)};
  schedule.validate();
  vit::train::TrainStepOptions step_options;
  step_options.label_smoothing = o.label_smoothing;
  step_options.clip_grad_norm = o.clip;

  std::int64_t first_epoch = 0, skip_batches = 0;
  if (o.resume) {
    const vit::train::TensorFile state = vit::train::load_tensors(state_path);
    const vit::Shape shape{model.parameters().numel()};
    if (!optimizer.first_moment().empty())
      std::copy_n(state.at("first_moment", shape).data(), shape.numel(), optimizer.first_moment().data());
    if (!optimizer.second_moment().empty())
      std::copy_n(state.at("second_moment", shape).data(), shape.numel(), optimizer.second_moment().data());
    optimizer.set_steps(std::stoll(state.text("steps")));
    first_epoch = std::stoll(state.text("epoch"));
    skip_batches = std::stoll(state.text("batch_in_epoch"));
    std::fprintf(stderr, "resuming at epoch %lld, batch %lld (step %lld)\n", (long long)first_epoch + 1,
                 (long long)skip_batches, (long long)optimizer.steps());
  } else {
    std::ofstream(log_path) << "epoch,steps,lr,train_loss,train_top1,val_loss,val_top1,val_top5,epoch_seconds,"
                               "images_per_second\n";
  }
  vit::train::CheckpointOptions checkpoint;
  checkpoint.labels = data.classes;
  checkpoint.labels.resize(std::size_t(classes));
  for (std::size_t i = data.classes.size(); i < checkpoint.labels.size(); ++i) checkpoint.labels[i] = "class_" + std::to_string(i);
  if (data.grey) {  // record the preprocessing trained with: Fashion-MNIST resized to the input, no crop
    const vit::Transform& used = eval_transform;
    vit::TimmDataConfig grey;
    grey.in_chans = model.config().in_channels;
    grey.image_size = used.output_height();
    grey.mean.assign(used.preprocessing.mean.begin(), used.preprocessing.mean.begin() + grey.in_chans);
    grey.std.assign(used.preprocessing.stddev.begin(), used.preprocessing.stddev.begin() + grey.in_chans);
    grey.crop_pct = 1.0;
    checkpoint.data = grey;
  }

  std::printf("model: %s, %lld parameters (%lld trainable); data: %lld training, %lld validation images, %d classes\n",
              model.config().name.c_str(), (long long)model.parameters().numel(),
              (long long)vit::train::trainable_count(optimizer.groups()), (long long)data.train->size(),
              (long long)data.val->size(), classes);
  char lr_text[32];
  std::snprintf(lr_text, sizeof lr_text, "%g", o.lr);
  report.title = model.config().name + ": " + std::to_string(vit::train::trainable_count(optimizer.groups())) +
                 " trainable parameters, " + std::to_string(data.train->size()) + " training images, batch " +
                 std::to_string(o.batch) + ", " + o.optimizer + " lr " + lr_text;
  if (o.model.empty() && !o.resume)  // a new model's starting point, so another framework can start from it too
    vit::train::save_checkpoint(model, (std::filesystem::path(o.out) / "initial").string(), checkpoint);
  // A linear probe without augmentation: the features never change, so compute them once and train the head
  // on them (train::head_step), instead of a forward pass per image per epoch.
  const bool probe_on_features = group_options.trainable_blocks == 0 && o.no_augment && !o.resume &&
                                 !model.config().has_distillation_head();
  if (probe_on_features) {
    const auto start = std::chrono::steady_clock::now();
    const Features train_features = extract_features(model, *data.train, eval_transform, o, context, "training");
    const Features val_features = extract_features(model, *data.val, eval_transform, o, context, "validation");
    std::printf("features of %lld + %lld images in %.0f s\n", (long long)train_features.values.size(0),
                (long long)val_features.values.size(0),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    for (std::int64_t epoch = 0; epoch < o.epochs; ++epoch) {
      const auto epoch_start = std::chrono::steady_clock::now();
      const std::vector<std::int64_t> order = vit::epoch_permutation(train_features.values.size(0), o.seed, std::uint64_t(epoch));
      double loss_sum = 0;
      std::int64_t correct = 0, seen = 0;
      for (std::size_t begin = 0; begin + std::size_t(o.batch) <= order.size(); begin += std::size_t(o.batch)) {
        const auto [rows, labels] = gather(train_features, order, begin, begin + std::size_t(o.batch));
        const vit::train::TrainStepResult step = vit::train::head_step(
            model, optimizer, rows, labels, float(schedule.lr(optimizer.steps())), step_options, context);
        loss_sum += step.loss * double(labels.size());
        correct += step.correct;
        seen += std::int64_t(labels.size());
      }
      const vit::train::Evaluation val = evaluate_head(model, val_features, context);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
      report_epoch({epoch + 1, optimizer.steps(), schedule.lr(optimizer.steps() - 1), loss_sum / double(seen),
                    double(correct) / double(seen), val, seconds, double(seen) / seconds},
                   o.epochs, report);
      if (interrupted) {  // the probe is quick: stop at the end of the epoch, saved (not resumable on features)
        vit::train::save_checkpoint(model, model_dir, checkpoint);
        std::fprintf(stderr, "interrupted: saved %s after epoch %lld\n", model_dir.c_str(), (long long)epoch + 1);
        return 130;
      }
    }
    vit::train::save_checkpoint(model, model_dir, checkpoint);
    save_state(state_path, optimizer, o.epochs, 0);
    std::printf("saved %s (log: %s%s)\n", model_dir.c_str(), log_path.c_str(), kPlotNote);
    return 0;
  }
  for (std::int64_t epoch = first_epoch; epoch < o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::int64_t correct = 0, seen = 0, batch_number = 0;
    train_loader.start_epoch(epoch);
    while (std::optional<vit::Batch> batch = train_loader.next()) {
      if (batch_number++ < skip_batches) continue;  // resumed mid-epoch: same order, so skip what was done
      const float lr = float(schedule.lr(optimizer.steps()));
      const vit::train::TrainStepResult step =
          vit::train::train_step(model, optimizer, batch->images, batch->labels, lr, step_options, context);
      loss_sum += step.loss * double(batch->size());
      correct += step.correct;
      seen += batch->size();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "\repoch %lld/%d  %lld/%lld  loss %.4f  top-1 %.1f%%  %.0f img/s   ", (long long)epoch + 1,
                   o.epochs, (long long)batch_number, (long long)steps_per_epoch, loss_sum / double(seen),
                   100.0 * double(correct) / double(seen), double(seen) / seconds);
      if (interrupted || (o.stop_after_steps > 0 && optimizer.steps() >= o.stop_after_steps)) {
        vit::train::save_checkpoint(model, model_dir, checkpoint);
        save_state(state_path, optimizer, epoch, batch_number);
        std::fprintf(stderr, "\n%s: saved %s and %s; continue with --resume\n",
                     interrupted ? "interrupted" : "stopped", model_dir.c_str(), state_path.c_str());
        return 130;
      }
    }
    skip_batches = 0;
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const vit::train::Evaluation val = vit::train::evaluate(model, val_loader, 0, context);
    const double epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "\r%*s\r", 100, "");
    report_epoch({epoch + 1, optimizer.steps(), schedule.lr(optimizer.steps() - 1), seen ? loss_sum / double(seen) : 0.0,
                  seen ? double(correct) / double(seen) : 0.0, val, epoch_seconds, double(seen) / train_seconds},
                 o.epochs, report);
    vit::train::save_checkpoint(model, model_dir, checkpoint);
    save_state(state_path, optimizer, epoch + 1, 0);
  }
  std::printf("saved %s (log: %s%s)\n", model_dir.c_str(), log_path.c_str(), kPlotNote);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("", "train");
  Options options;
  define_options(app, options);
  return cli::main_with_errors(app, argc, argv, [&] { return run(options); });
}
