// Training: each piece against an independent formula (double precision, written out here), then whole
// optimizer steps against PyTorch (tests/data/training, tools/make_training_fixtures.py).
#include <cmath>
#include <set>
#include <vit/train.hpp>
#include <vit/vit.hpp>

#include "support.hpp"
#include "training_parity.hpp"

namespace {

using vit::test::small_config;

vit::ViTConfig distilled_config() {
  vit::ViTConfig config = small_config();
  config.distillation_token = true;
  return config;
}

std::vector<float> copy_of(vit::TensorView<const float> view) { return {view.data(), view.data() + view.numel()}; }

}  // namespace

TEST_CASE("cross-entropy with label smoothing matches its definition and its gradient", "[train]") {
  const vit::Tensor<float> logits = vit::test::random_tensor({3, 6}, 5, 3.0f);
  const std::vector<int> labels{0, 5, 2};
  for (const double smoothing : {0.0, 0.1, 1.0}) {
    const auto result = vit::train::cross_entropy(logits, labels, smoothing);
    // loss(z) written out: mean over b of -Σ_c q_c log softmax(z)_c, q = (1-ε)·onehot + ε/C.
    const auto loss_of = [&](const std::vector<double>& z) {
      double total = 0;
      for (int b = 0; b < 3; ++b) {
        double denominator = 0;
        for (int c = 0; c < 6; ++c) denominator += std::exp(z[b * 6 + c]);
        for (int c = 0; c < 6; ++c) {
          const double q = (c == labels[b] ? 1 - smoothing : 0) + smoothing / 6;
          total -= q * std::log(std::exp(z[b * 6 + c]) / denominator);
        }
      }
      return total / 3;
    };
    std::vector<double> z(logits.data(), logits.data() + logits.numel());
    CHECK(result.loss == Approx(loss_of(z)).epsilon(1e-12));
    for (std::size_t i = 0; i < z.size(); ++i) {
      std::vector<double> plus = z, minus = z;
      plus[i] += 1e-6;
      minus[i] -= 1e-6;
      CHECK(result.d_logits[std::int64_t(i)] == Approx((loss_of(plus) - loss_of(minus)) / 2e-6).margin(1e-7));
    }
  }
  std::int64_t correct = 0;
  for (int b = 0; b < 3; ++b) {
    const float* row = logits.data() + b * 6;
    correct += std::max_element(row, row + 6) - row == labels[std::size_t(b)];
  }
  CHECK(vit::train::cross_entropy(logits, labels).correct == correct);
  VIT_REQUIRE_ERROR(vit::train::cross_entropy(logits, {0, 6, 1}), Catch::Contains("label 6 of image 1"));
  VIT_REQUIRE_ERROR(vit::train::cross_entropy(logits, {0, 1}), Catch::Contains("2 labels for a batch of 3"));
  VIT_REQUIRE_ERROR(vit::train::cross_entropy(logits, labels, 1.5), Catch::Contains("label smoothing"));
}

TEST_CASE("the cosine schedule warms up linearly and decays to its floor", "[train]") {
  const vit::train::CosineSchedule schedule{1e-3, 4, 24, 1e-5};
  schedule.validate();
  CHECK(schedule.lr(0) == Approx(0.25e-3));
  CHECK(schedule.lr(3) == Approx(1e-3));
  CHECK(schedule.lr(4) == Approx(1e-3));
  CHECK(schedule.lr(14) == Approx(1e-5 + (1e-3 - 1e-5) * 0.5));  // halfway through the decay
  CHECK(schedule.lr(24) == Approx(1e-5));
  for (int t = 5; t < 24; ++t) CHECK(schedule.lr(t) < schedule.lr(t - 1));
  VIT_REQUIRE_ERROR((vit::train::CosineSchedule{1e-3, 24, 24, 0}.validate()), Catch::Contains("warm-up must end"));
  VIT_REQUIRE_ERROR((vit::train::CosineSchedule{-1, 0, 24, 0}.validate()), Catch::Contains("must be positive"));
}

TEST_CASE("parameter groups decay, freeze and scale as timm's fine-tuning does", "[train]") {
  const vit::Model model = vit::train::new_model(distilled_config(), 1);
  const auto all = vit::train::parameter_groups(model);
  std::set<std::string> decays;
  std::int64_t covered = 0;
  for (const auto& group : all) {
    if (group.decay) decays.insert(group.name);
    CHECK(group.trainable);
    CHECK(group.offset == covered);  // the groups tile the arena in order
    covered += group.count;
  }
  CHECK(covered == model.parameters().numel());
  // Exactly the matrices decay: patch embedding, qkv, proj, fc1, fc2 of each block, and the two heads.
  std::set<std::string> matrices{"patch_embed.proj.weight", "head.weight", "head_dist.weight"};
  for (int block = 0; block < 2; ++block)
    for (const char* layer : {"attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"})
      matrices.insert("blocks." + std::to_string(block) + "." + layer + ".weight");
  CHECK(decays == matrices);

  vit::train::ParameterGroupOptions probe;
  probe.trainable_blocks = 0;
  probe.head_lr_scale = 10;
  for (const auto& group : vit::train::parameter_groups(model, probe)) {
    const bool head = group.name.rfind("head", 0) == 0;
    CHECK(group.trainable == head);
    CHECK(group.lr_scale == (head ? 10.f : 1.f));
  }
  vit::train::ParameterGroupOptions last_block;
  last_block.trainable_blocks = 1;
  for (const auto& group : vit::train::parameter_groups(model, last_block)) {
    const bool expected = group.name.rfind("head", 0) == 0 || group.name.rfind("norm.", 0) == 0 ||
                          group.name.rfind("blocks.1.", 0) == 0;
    CHECK(group.trainable == expected);
  }
  vit::train::ParameterGroupOptions too_many;
  too_many.trainable_blocks = 3;
  VIT_REQUIRE_ERROR(vit::train::parameter_groups(model, too_many), Catch::Contains("the model has 2"));
}

TEST_CASE("AdamW and SGD steps follow their update rules", "[train]") {
  const vit::Model model = vit::train::new_model(small_config(), 2);
  auto groups = vit::train::parameter_groups(model);
  const std::int64_t count = model.parameters().numel();
  const vit::Tensor<float> g1 = vit::test::random_tensor({count}, 3), g2 = vit::test::random_tensor({count}, 4);
  const std::vector<float> start = copy_of(model.parameters());

  SECTION("AdamW: decoupled decay, bias-corrected moments") {
    vit::train::OptimizerOptions options;
    options.weight_decay = 0.1f;
    vit::train::Optimizer optimizer(groups, count, options);
    vit::Tensor<float> theta({count});
    std::copy(start.begin(), start.end(), theta.data());
    optimizer.step(theta, g1, 0.01f);
    optimizer.step(theta, g2, 0.02f);
    for (const auto& group : groups)
      for (std::int64_t i = group.offset; i < group.offset + group.count; i += 7) {
        double p = start[std::size_t(i)], m = 0, v = 0;
        const double lambda = group.decay ? 0.1 : 0.0;
        int t = 0;
        for (const auto& [g, lr] : {std::pair<double, double>{g1[i], 0.01}, {g2[i], 0.02}}) {
          ++t;
          p *= 1 - lr * lambda;
          m = 0.9 * m + 0.1 * g;
          v = 0.999 * v + 0.001 * g * g;
          p -= lr * (m / (1 - std::pow(0.9, t))) / (std::sqrt(v / (1 - std::pow(0.999, t))) + 1e-8);
        }
        CHECK(theta[i] == Approx(p).margin(1e-6));
      }
    CHECK(optimizer.steps() == 2);
  }
  SECTION("SGD: coupled decay, momentum buffer, frozen groups untouched") {
    vit::train::ParameterGroupOptions probe;
    probe.trainable_blocks = 0;
    groups = vit::train::parameter_groups(model, probe);
    vit::train::OptimizerOptions options;
    options.kind = vit::train::OptimizerKind::Sgd;
    options.weight_decay = 0.1f;
    vit::train::Optimizer optimizer(groups, count, options);
    vit::Tensor<float> theta({count});
    std::copy(start.begin(), start.end(), theta.data());
    optimizer.step(theta, g1, 0.01f);
    optimizer.step(theta, g2, 0.01f);
    for (const auto& group : groups)
      for (std::int64_t i = group.offset; i < group.offset + group.count; i += 5) {
        if (!group.trainable) {
          CHECK(theta[i] == start[std::size_t(i)]);
          continue;
        }
        const double lambda = group.decay ? 0.1 : 0.0;
        double p = start[std::size_t(i)];
        const double d1 = g1[i] + lambda * p;
        p -= 0.01 * d1;
        const double d2 = g2[i] + lambda * p;
        p -= 0.01 * (0.9 * d1 + d2);
        CHECK(theta[i] == Approx(p).margin(1e-6));
      }
  }
}

TEST_CASE("gradient clipping scales the trainable gradients to the global norm", "[train]") {
  const vit::Model model = vit::train::new_model(small_config(), 3);
  vit::train::ParameterGroupOptions last_block;
  last_block.trainable_blocks = 1;
  const auto groups = vit::train::parameter_groups(model, last_block);
  vit::Tensor<float> gradients = vit::test::random_tensor({model.parameters().numel()}, 9);
  const std::vector<float> before = copy_of(gradients);
  double squares = 0;
  for (const auto& group : groups)
    for (std::int64_t i = group.offset; group.trainable && i < group.offset + group.count; ++i)
      squares += double(before[std::size_t(i)]) * before[std::size_t(i)];
  const double norm = vit::train::clip_grad_norm(gradients, groups, 1.0);
  CHECK(norm == Approx(std::sqrt(squares)).epsilon(1e-12));
  CHECK(vit::train::gradient_norm(gradients, groups) == Approx(1.0).epsilon(1e-6));
  for (const auto& group : groups)
    for (std::int64_t i = group.offset; !group.trainable && i < group.offset + group.count; ++i)
      CHECK(gradients[i] == before[std::size_t(i)]);
  // Below the bound nothing changes.
  const std::vector<float> clipped = copy_of(gradients);
  vit::train::clip_grad_norm(gradients, groups, 10.0);
  CHECK(copy_of(gradients) == clipped);
}

TEST_CASE("a new model is initialised as timm does, reproducibly from its seed", "[train]") {
  vit::ViTConfig config = distilled_config();
  config.embed_dim = 96;
  config.num_heads = 4;
  config.mlp_dim = 384;
  const vit::Model model = vit::train::new_model(config, 7);
  CHECK(copy_of(vit::train::new_model(config, 7).parameters()) == copy_of(model.parameters()));
  CHECK(copy_of(vit::train::new_model(config, 8).parameters()) != copy_of(model.parameters()));
  const auto moments = [](vit::TensorView<const float> values) {
    double sum = 0, squares = 0, largest = 0;
    for (std::int64_t i = 0; i < values.numel(); ++i) {
      sum += values[i];
      squares += double(values[i]) * values[i];
      largest = std::max(largest, double(std::abs(values[i])));
    }
    const double mean = sum / double(values.numel());
    return std::array<double, 3>{mean, std::sqrt(squares / double(values.numel()) - mean * mean), largest};
  };
  const auto fc1 = moments(model.weight("blocks.0.mlp.fc1.weight"));  // 36,864 draws of N(0, 0.02²)
  CHECK(std::abs(fc1[0]) < 3e-4);
  CHECK(fc1[1] == Approx(0.02).epsilon(0.02));
  const auto pos = moments(model.weight("pos_embed"));
  CHECK(pos[1] == Approx(0.02).epsilon(0.1));
  CHECK(moments(model.weight("dist_token"))[1] == Approx(0.02).epsilon(0.4));
  CHECK(moments(model.weight("cls_token"))[2] < 1e-5);  // std 1e-6
  // The patch embedding's Conv2d: uniform in ±1/√(C·P·P), standard deviation bound/√3.
  const double bound = 1 / std::sqrt(3.0 * 8 * 8);
  const auto patch = moments(model.weight("patch_embed.proj.weight"));
  CHECK(patch[2] <= bound);
  CHECK(patch[1] == Approx(bound / std::sqrt(3.0)).epsilon(0.05));
  CHECK(moments(model.weight("patch_embed.proj.bias"))[2] <= bound);
  for (const char* name : {"blocks.1.norm2.weight", "norm.weight"})
    for (float value : copy_of(model.weight(name))) CHECK(value == 1.f);
  for (const char* name : {"blocks.1.norm2.bias", "blocks.0.attn.qkv.bias", "head.bias", "head_dist.bias"})
    for (float value : copy_of(model.weight(name))) CHECK(value == 0.f);
  CHECK(model.forward(vit::test::random_tensor({2, 3, 32, 32}, 1)).logits.shape() == vit::Shape{2, 5});
}

TEST_CASE("a new head keeps the backbone and gives the new class count", "[train]") {
  const vit::Model model = vit::train::new_model(distilled_config(), 4);
  const vit::Model tuned = vit::train::with_new_head(model, 11, 5);
  CHECK(tuned.config().num_classes == 11);
  for (const auto& weight : vit::expected_weights(tuned.config())) {
    if (weight.name.rfind("head", 0) == 0) {
      CHECK(tuned.weight(weight.name).shape()[0] == 11);
      continue;
    }
    CHECK(copy_of(tuned.weight(weight.name)) == copy_of(model.weight(weight.name)));
  }
  vit::ForwardOptions options;
  options.features = true;
  const vit::Tensor<float> images = vit::test::random_tensor({2, 3, 32, 32}, 6);
  const auto before = model.forward(images, options), after = tuned.forward(images, options);
  CHECK(copy_of(after.features) == copy_of(before.features));
  CHECK(after.logits.shape() == vit::Shape{2, 11});
  VIT_REQUIRE_ERROR(vit::train::with_new_head(model, 0, 1), Catch::Contains("class count must be positive"));
}

TEST_CASE("a training step reports bad labels and a diverging loss", "[train]") {
  vit::Model model = vit::train::new_model(small_config(), 6);
  vit::train::Optimizer optimizer(vit::train::parameter_groups(model), model.parameters().numel(), {});
  const vit::Tensor<float> images = vit::test::random_tensor({2, 3, 32, 32}, 7);
  const std::vector<float> before = copy_of(model.parameters());
  VIT_REQUIRE_ERROR(vit::train::train_step(model, optimizer, images, {0, 9}, 1e-3f), Catch::Contains("label 9"));
  CHECK(copy_of(model.parameters()) == before);  // a refused step changes nothing
  CHECK(optimizer.steps() == 0);
  model.parameters()[0] = std::nanf("");  // a poisoned class token: every logit is NaN
  VIT_REQUIRE_ERROR(vit::train::train_step(model, optimizer, images, {0, 1}, 1e-3f),
                    Catch::Contains("loss is not finite"));
}

TEST_CASE("training steps match PyTorch's: losses, learning rates, gradient norms and weights", "[train][parity]") {
  for (const std::string& name : vit::test::training_cases()) {
    const vit::test::TrainingParity parity = vit::test::check_training_parity(name);
    INFO(parity.describe());
    CHECK(parity.passes());
    WARN(parity.describe());  // the measured errors, for the record (README, Training)
  }
}

TEST_CASE("training is bit-reproducible for a given thread count", "[train]") {
  const auto run = [] {
    vit::Model model = vit::train::new_model(small_config(), 10);
    vit::train::Optimizer optimizer(vit::train::parameter_groups(model), model.parameters().numel(), {});
    for (int step = 0; step < 3; ++step) {
      const vit::Tensor<float> images = vit::test::random_tensor({4, 3, 32, 32}, std::uint32_t(20 + step));
      vit::train::train_step(model, optimizer, images, {0, 1, 2, 3}, 1e-3f);
    }
    return copy_of(model.parameters());
  };
  CHECK(run() == run());
}

TEST_CASE("a backward pass that stops at a block gives the same gradients above it and none below", "[train]") {
  const vit::Model model = vit::train::new_model(distilled_config(), 12);
  vit::ForwardOptions forward;
  forward.cache = true;
  const auto output = model.forward(vit::test::random_tensor({3, 3, 32, 32}, 13), forward);
  const vit::Tensor<float> d_logits = vit::test::random_tensor({3, 5}, 14);
  vit::BackwardOptions full;
  full.images = false;
  const auto all = model.backward(output.cache, d_logits, full);
  for (const int first_block : {1, 2}) {
    vit::BackwardOptions partial = full;
    partial.first_block = first_block;
    const auto some = model.backward(output.cache, d_logits, partial);
    for (const auto& [name, view] : all.parameters.by_name) {
      const int block = vit::train::detail::block_index(name);
      const bool above = name.rfind("head", 0) == 0 || name.rfind("norm.", 0) == 0 || block >= first_block;
      if (above)
        CHECK(copy_of(some.parameters.at(name)) == copy_of(view));
      else
        CHECK(copy_of(some.parameters.at(name)) == std::vector<float>(std::size_t(view.numel()), 0.f));
    }
  }
  vit::BackwardOptions bad = full;
  bad.first_block = 3;
  VIT_REQUIRE_ERROR(model.backward(output.cache, d_logits, bad), Catch::Contains("not a block of a 2-block model"));
  bad.first_block = 1;
  bad.images = true;
  VIT_REQUIRE_ERROR(model.backward(output.cache, d_logits, bad), Catch::Contains("parameter gradients only"));
  vit::train::ParameterGroupOptions last_block;
  last_block.trainable_blocks = 1;
  CHECK(vit::train::lowest_trainable_block(vit::train::parameter_groups(model, last_block), 2) == 1);
  last_block.trainable_blocks = 0;
  CHECK(vit::train::lowest_trainable_block(vit::train::parameter_groups(model, last_block), 2) == 2);
  CHECK(vit::train::lowest_trainable_block(vit::train::parameter_groups(model), 2) == 0);
}

TEST_CASE("a linear probe's step on fixed features equals a full step with everything but the head frozen", "[train]") {
  const vit::Model start = vit::train::new_model(small_config(), 15);
  vit::train::ParameterGroupOptions probe;
  probe.trainable_blocks = 0;
  vit::train::TrainStepOptions options;
  options.label_smoothing = 0.1;
  options.clip_grad_norm = 0.5;
  const vit::Tensor<float> images = vit::test::random_tensor({4, 3, 32, 32}, 16);
  const std::vector<int> labels{1, 0, 4, 2};
  vit::Model full = vit::train::with_new_head(start, 5, 17), head_only = vit::train::with_new_head(start, 5, 17);
  vit::train::Optimizer full_optimizer(vit::train::parameter_groups(full, probe), full.parameters().numel(), {});
  vit::train::Optimizer head_optimizer(vit::train::parameter_groups(head_only, probe), head_only.parameters().numel(), {});
  vit::ForwardOptions features;
  features.features = true;
  const vit::Tensor<float> pooled = head_only.forward(images, features).features.clone();
  for (int step = 0; step < 3; ++step) {
    const auto a = vit::train::train_step(full, full_optimizer, images, labels, 1e-2f, options);
    const auto b = vit::train::head_step(head_only, head_optimizer, pooled, labels, 1e-2f, options);
    CHECK(a.loss == Approx(b.loss).epsilon(1e-6));
    CHECK(a.gradient_norm == Approx(b.gradient_norm).epsilon(1e-5));
  }
  const std::vector<float> x = copy_of(full.parameters()), y = copy_of(head_only.parameters());
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, double(std::abs(x[i] - y[i])));
  CHECK(worst < 1e-6);
  vit::train::Optimizer everything(vit::train::parameter_groups(head_only), head_only.parameters().numel(), {});
  VIT_REQUIRE_ERROR(vit::train::head_step(head_only, everything, pooled, labels, 1e-2f), Catch::Contains("only the head"));
}
