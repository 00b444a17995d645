// Transformer attribution (Chefer, Gur & Wolf, CVPR 2021) against the authors' own code: the fixtures in
// tests/data/lrp were made by running their ViT_LRP model and LRP generator in float64 on our weights
// (tools/make_lrp_fixtures.py; tests/data/lrp/README.md).
//  (a) a double build of the relevance rules on float64 activations (a double forward pass written out
//      below, checked against their float64 logits and head inputs) against their relevance at every
//      layer's attention and their maps: ≤ 1e-6 relative;
//  (b) the float path users run (float forward, float backward, float relprop) against their float64
//      maps: correlation and top-10% patch overlap, on the small fixtures and on the real DeiT-tiny with
//      the eight shared images (and a timing of one explanation at batch 1).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <string>
#include <vector>
#include <vit/explain.hpp>
#include <vit/explain/transformer_attribution.hpp>
#include <vit/io/image.hpp>
#include <vit/io/preprocess.hpp>
#include <vit/model/preprocessing.hpp>

#include "fixtures.hpp"
#include "model_builder.hpp"
#include "support.hpp"

namespace {

using vit::Tensor;
using vit::TensorView;

// ---------------------------------------------------------------------------------------------------------
// A double-precision forward pass of a fixture model, keeping what the relevance walk reads
// ---------------------------------------------------------------------------------------------------------
struct DoubleForward {
  std::vector<Tensor<double>> owned;
  vit::detail::LrpInputs<double> inputs;
  Tensor<double> logits, features, features_dist;
};

Tensor<double> widen(TensorView<const float> x) {
  Tensor<double> y = Tensor<double>::uninitialized(x.shape());
  std::copy_n(x.data(), x.numel(), y.data());
  return y;
}

// y[M, N] = x[M, K] · Wᵀ + b.
Tensor<double> linear(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b) {
  const std::int64_t rows = x.numel() / x.shape()[x.rank() - 1], in = w.size(1), out = w.size(0);
  Tensor<double> y({rows, out});
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t o = 0; o < out; ++o) {
      double sum = 0;
      for (std::int64_t i = 0; i < in; ++i) sum += x[r * in + i] * w[o * in + i];
      y[r * out + o] = sum + b[o];
    }
  return y;
}

// LayerNorm over rows of width w.numel(), biased variance (as PyTorch).
Tensor<double> layer_norm(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b, double eps) {
  const std::int64_t dim = w.numel(), rows = x.numel() / dim;
  Tensor<double> y = Tensor<double>::uninitialized(x.shape());
  for (std::int64_t r = 0; r < rows; ++r) {
    double mean = 0, variance = 0;
    for (std::int64_t i = 0; i < dim; ++i) mean += x[r * dim + i];
    mean /= double(dim);
    for (std::int64_t i = 0; i < dim; ++i) variance += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
    variance /= double(dim);
    const double inv_std = 1.0 / std::sqrt(variance + eps);
    for (std::int64_t i = 0; i < dim; ++i) y[r * dim + i] = (x[r * dim + i] - mean) * inv_std * w[i] + b[i];
  }
  return y;
}

Tensor<double> add(const Tensor<double>& a, const Tensor<double>& b) {
  Tensor<double> y = Tensor<double>::uninitialized(a.shape());
  for (std::int64_t i = 0; i < a.numel(); ++i) y[i] = a[i] + b[i];
  return y;
}

// The model's forward pass in double, from its float weights (exact in double), written from the formulas:
// conv patch embedding, prefix tokens, positional embedding (native grid), pre-norm blocks with softmax
// attention (scale d^-1/2) and exact GELU, final norm and pooling, head(s).
// eps: the checkpoint's LayerNorm eps as PyTorch has it (a double; ViTConfig keeps a float).
DoubleForward double_forward(const vit::Model& model, TensorView<const float> images, double eps) {
  const vit::ViTConfig& config = model.config();
  const auto weight = [&](const std::string& name) { return widen(model.weight(name)); };
  const std::int64_t batch = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3),
                     patch = config.patch_size;
  const std::int64_t grid_h = height / patch, grid_w = width / patch, prefix = config.num_prefix_tokens();
  const std::int64_t tokens = prefix + grid_h * grid_w, dim = config.embed_dim, heads = config.num_heads;
  const std::int64_t head_dim = dim / heads, unfolded = channels * patch * patch;
  REQUIRE(tokens == config.num_tokens());  // the native grid: the positional embedding is used as stored

  DoubleForward result;
  const auto keep = [&](Tensor<double> tensor) -> TensorView<const double> {
    result.owned.push_back(std::move(tensor));
    return result.owned.back();
  };
  result.owned.reserve(16 * std::size_t(config.depth) + 16);

  // Tokens: [cls, (dist), patches] + pos_embed.
  Tensor<double> x({batch, tokens, dim});
  {
    const Tensor<double> w = weight("patch_embed.proj.weight"), b = weight("patch_embed.proj.bias");
    const Tensor<double> pos = weight("pos_embed"), cls = weight("cls_token");
    std::vector<double> pixels(static_cast<std::size_t>(unfolded));
    for (std::int64_t image = 0; image < batch; ++image) {
      for (std::int64_t i = 0; i < dim; ++i) {
        x[(image * tokens) * dim + i] = cls[i];
        if (config.distillation_token) x[(image * tokens + 1) * dim + i] = weight("dist_token")[i];
      }
      for (std::int64_t gy = 0; gy < grid_h; ++gy)
        for (std::int64_t gx = 0; gx < grid_w; ++gx) {
          for (std::int64_t c = 0; c < channels; ++c)
            for (std::int64_t py = 0; py < patch; ++py)
              for (std::int64_t px = 0; px < patch; ++px)
                pixels[std::size_t((c * patch + py) * patch + px)] =
                    images[((image * channels + c) * height + gy * patch + py) * width + gx * patch + px];
          double* token = x.data() + (image * tokens + prefix + gy * grid_w + gx) * dim;
          for (std::int64_t o = 0; o < dim; ++o) {
            double sum = 0;
            for (std::int64_t i = 0; i < unfolded; ++i) sum += w[o * unfolded + i] * pixels[std::size_t(i)];
            token[o] = sum + b[o];
          }
        }
      for (std::int64_t t = 0; t < tokens; ++t)
        for (std::int64_t i = 0; i < dim; ++i) x[(image * tokens + t) * dim + i] += pos[t * dim + i];
    }
  }

  vit::detail::LrpInputs<double>& in = result.inputs;
  in.num_heads = config.num_heads;
  in.prefix_tokens = int(prefix);
  in.pooling = config.pooling;
  const double scale = std::pow(double(head_dim), -0.5);
  for (int l = 0; l < config.depth; ++l) {
    const std::string stem = vit::detail::concat("blocks.", l, ".");
    vit::detail::LrpBlockInputs<double> block;
    block.qkv_weight = keep(weight(stem + "attn.qkv.weight"));
    block.proj_weight = keep(weight(stem + "attn.proj.weight"));
    block.fc1_weight = keep(weight(stem + "mlp.fc1.weight"));
    block.fc2_weight = keep(weight(stem + "mlp.fc2.weight"));
    Tensor<double> normed1 = layer_norm(x, weight(stem + "norm1.weight"), weight(stem + "norm1.bias"), eps);
    Tensor<double> qkv = linear(normed1, weight(stem + "attn.qkv.weight"), weight(stem + "attn.qkv.bias"));
    Tensor<double> attention({batch, heads, tokens, tokens});
    Tensor<double> heads_out({batch, tokens, dim});
    for (std::int64_t image = 0; image < batch; ++image)
      for (std::int64_t h = 0; h < heads; ++h) {
        const auto at = [&](std::int64_t t, int which, std::int64_t i) {
          return qkv[(image * tokens + t) * 3 * dim + which * dim + h * head_dim + i];
        };
        double* a = attention.data() + (image * heads + h) * tokens * tokens;
        for (std::int64_t i = 0; i < tokens; ++i) {
          double max_value = -INFINITY;
          for (std::int64_t j = 0; j < tokens; ++j) {
            double dot = 0;
            for (std::int64_t e = 0; e < head_dim; ++e) dot += at(i, 0, e) * at(j, 1, e);
            a[i * tokens + j] = dot * scale;
            max_value = std::max(max_value, a[i * tokens + j]);
          }
          double sum = 0;
          for (std::int64_t j = 0; j < tokens; ++j)
            sum += (a[i * tokens + j] = std::exp(a[i * tokens + j] - max_value));
          for (std::int64_t j = 0; j < tokens; ++j) a[i * tokens + j] /= sum;
          for (std::int64_t e = 0; e < head_dim; ++e) {
            double value = 0;
            for (std::int64_t j = 0; j < tokens; ++j) value += a[i * tokens + j] * at(j, 2, e);
            heads_out[(image * tokens + i) * dim + h * head_dim + e] = value;
          }
        }
      }
    Tensor<double> attn_out = linear(heads_out, weight(stem + "attn.proj.weight"), weight(stem + "attn.proj.bias"));
    Tensor<double> mid = add(x, attn_out);
    Tensor<double> normed2 = layer_norm(mid, weight(stem + "norm2.weight"), weight(stem + "norm2.bias"), eps);
    Tensor<double> fc1 = linear(normed2, weight(stem + "mlp.fc1.weight"), weight(stem + "mlp.fc1.bias"));
    Tensor<double> hidden = Tensor<double>::uninitialized(fc1.shape());
    for (std::int64_t i = 0; i < fc1.numel(); ++i) hidden[i] = 0.5 * fc1[i] * (1.0 + std::erf(fc1[i] / std::sqrt(2.0)));
    Tensor<double> mlp_out = linear(hidden, weight(stem + "mlp.fc2.weight"), weight(stem + "mlp.fc2.bias"));
    Tensor<double> out = Tensor<double>::uninitialized(x.shape());
    for (std::int64_t i = 0; i < out.numel(); ++i) out[i] = mid[i] + mlp_out[i];

    block.input = keep(std::move(x));
    block.normed1 = keep(std::move(normed1));
    block.qkv = keep(std::move(qkv)).reshape({batch, tokens, 3 * dim});
    block.attention = keep(std::move(attention));
    block.heads = keep(std::move(heads_out));
    block.attn_out = keep(std::move(attn_out)).reshape({batch, tokens, dim});
    block.mid = keep(std::move(mid));
    block.normed2 = keep(std::move(normed2)).reshape({batch, tokens, dim});
    block.fc1 = keep(std::move(fc1));
    block.hidden = keep(std::move(hidden));
    block.qkv_bias = keep(weight(stem + "attn.qkv.bias"));
    block.proj_bias = keep(weight(stem + "attn.proj.bias"));
    block.fc1_bias = keep(weight(stem + "mlp.fc1.bias"));
    block.fc2_bias = keep(weight(stem + "mlp.fc2.bias"));
    block.mlp_out = keep(std::move(mlp_out)).reshape({batch, tokens, dim});
    in.blocks.push_back(block);
    x = std::move(out);
  }

  // Pooling, final norm, head(s).
  const std::int64_t classes = config.num_classes;
  result.features = Tensor<double>({batch, dim});
  if (config.pooling == vit::Pooling::ClassToken) {
    const Tensor<double> normed = layer_norm(x, weight("norm.weight"), weight("norm.bias"), eps);
    if (config.has_distillation_head()) result.features_dist = Tensor<double>({batch, dim});
    for (std::int64_t image = 0; image < batch; ++image)
      for (std::int64_t i = 0; i < dim; ++i) {
        result.features[image * dim + i] = normed[(image * tokens) * dim + i];
        if (config.has_distillation_head())
          result.features_dist[image * dim + i] = normed[(image * tokens + 1) * dim + i];
      }
  } else {
    Tensor<double> tokens_read =
        config.fc_norm ? x.clone() : layer_norm(x, weight("norm.weight"), weight("norm.bias"), eps);
    Tensor<double> pooled({batch, dim});
    for (std::int64_t image = 0; image < batch; ++image)
      for (std::int64_t i = 0; i < dim; ++i) {
        double sum = 0;
        for (std::int64_t t = prefix; t < tokens; ++t) sum += tokens_read[(image * tokens + t) * dim + i];
        pooled[image * dim + i] = sum / double(tokens - prefix);
      }
    result.features =
        config.fc_norm ? layer_norm(pooled, weight("fc_norm.weight"), weight("fc_norm.bias"), eps) : std::move(pooled);
    in.pooled_tokens = keep(std::move(tokens_read));
  }
  in.features = result.features;
  in.head_weight = keep(weight("head.weight"));
  in.head_bias = keep(weight("head.bias"));
  result.logits = linear(result.features, weight("head.weight"), weight("head.bias"));
  if (config.has_distillation_head()) {
    in.features_dist = result.features_dist;
    in.head_dist_weight = keep(weight("head_dist.weight"));
    in.head_dist_bias = keep(weight("head_dist.bias"));
    const Tensor<double> dist = linear(result.features_dist, weight("head_dist.weight"), weight("head_dist.bias"));
    for (std::int64_t i = 0; i < batch * classes; ++i) result.logits[i] = (result.logits[i] + dist[i]) / 2;
  }
  return result;
}

// The float activations and weights of `in` widened to double, for running the rules in double on them.
struct WidenedInputs {
  std::vector<Tensor<double>> owned;
  vit::detail::LrpInputs<double> inputs;
};

WidenedInputs widen_inputs(const vit::detail::LrpInputs<float>& in) {
  WidenedInputs result;
  const auto w = [&](TensorView<const float> x) -> TensorView<const double> {
    if (x.data() == nullptr) return {};
    result.owned.push_back(widen(x));
    return result.owned.back();
  };
  vit::detail::LrpInputs<double>& out = result.inputs;
  out.num_heads = in.num_heads;
  out.prefix_tokens = in.prefix_tokens;
  out.pooling = in.pooling;
  for (const vit::detail::LrpBlockInputs<float>& b : in.blocks)
    out.blocks.push_back({w(b.input), w(b.normed1), w(b.qkv), w(b.attention), w(b.heads), w(b.attn_out), w(b.mid),
                          w(b.normed2), w(b.fc1), w(b.hidden), w(b.mlp_out), w(b.qkv_weight), w(b.proj_weight),
                          w(b.fc1_weight), w(b.fc2_weight), w(b.qkv_bias), w(b.proj_bias), w(b.fc1_bias),
                          w(b.fc2_bias)});
  out.pooled_tokens = w(in.pooled_tokens);
  out.features = w(in.features);
  out.features_dist = w(in.features_dist);
  out.head_weight = w(in.head_weight);
  out.head_bias = w(in.head_bias);
  out.head_dist_weight = w(in.head_dist_weight);
  out.head_dist_bias = w(in.head_dist_bias);
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------
struct LrpCase {
  std::string name;      // tests/data/lrp/<name>.lrp.safetensors
  std::string model;     // the model case of tests/data (weights, expected input)
  bool prenorm = false;  // meanpool weights with fc_norm.* renamed norm.* (final norm on every token)
};

const std::vector<LrpCase>& lrp_cases() {
  static const std::vector<LrpCase> cases = {{"vit_timm", "vit_timm"},
                                             {"deit_distilled_timm", "deit_distilled_timm"},
                                             {"vit_timm_meanpool", "vit_timm_meanpool"},
                                             {"vit_timm_meanpool_prenorm", "vit_timm_meanpool", true}};
  return cases;
}

struct LoadedCase {
  vit::SafetensorsFile expected;  // NAME.expected.safetensors: input, config
  vit::SafetensorsFile fixture;   // lrp/NAME.lrp.safetensors
  vit::Model model;
  Tensor<float> input;
  std::vector<std::vector<int>> targets;  // [image][slot]
  double eps;                             // LayerNorm eps, exactly as the fixture's JSON has it
};

LoadedCase load_case(const LrpCase& lrp_case) {
  vit::SafetensorsFile expected =
      vit::SafetensorsFile::open(vit::test::data_path(lrp_case.model + ".expected.safetensors"));
  vit::SafetensorsFile fixture =
      vit::SafetensorsFile::open(vit::test::data_path("lrp/" + lrp_case.name + ".lrp.safetensors"));
  vit::ViTConfig config = vit::test::fixture_config(expected);
  const std::string weights = vit::test::data_path(lrp_case.model + ".safetensors");
  vit::Model model = [&] {
    if (!lrp_case.prenorm) return vit::load_model(weights, config);
    // The same weights with fc_norm.* stored as norm.*: mean pooling after a final norm on every token.
    const vit::SafetensorsFile original = vit::SafetensorsFile::open(weights);
    std::vector<std::pair<std::string, Tensor<float>>> renamed;
    for (const vit::SafetensorsEntry& entry : original.entries()) {
      std::string name = entry.name;
      if (name.rfind("fc_norm.", 0) == 0) name = name.substr(3);
      renamed.emplace_back(name, original.read_float(entry));
    }
    std::vector<vit::SafetensorsTensor> views;
    for (const auto& [name, tensor] : renamed) views.push_back({name, tensor.view(), vit::DType::F32});
    config.fc_norm = false;
    return vit::load_model(vit::SafetensorsFile::parse(vit::encode_safetensors(views), "prenorm"), config);
  }();
  Tensor<float> input = expected.read_float("input");
  const nlohmann::json targets = nlohmann::json::parse(fixture.metadata().at("targets"));
  const double eps = nlohmann::json::parse(expected.metadata().at("config")).at("layer_norm_eps");
  return {std::move(expected),
          std::move(fixture),
          std::move(model),
          std::move(input),
          targets.get<std::vector<std::vector<int>>>(),
          eps};
}

std::vector<int> slot_targets(const LoadedCase& loaded, int slot) {
  std::vector<int> targets;
  for (const auto& pair : loaded.targets) targets.push_back(pair[std::size_t(slot)]);
  return targets;
}

const char* const kSlots[] = {"top1", "top2"};

// Per image (leading dimension), max |a - b| / max |b|; 0 when both are all zero, inf when only b is.
template <typename A, typename B>
double max_relative_error(const A& actual, const B& expected) {
  REQUIRE(actual.shape() == expected.shape());
  const std::int64_t images = expected.size(0), per_image = expected.numel() / images;
  double worst = 0;
  for (std::int64_t b = 0; b < images; ++b) {
    double max_error = 0, max_value = 0;
    for (std::int64_t i = b * per_image; i < (b + 1) * per_image; ++i) {
      max_error = std::max(max_error, std::abs(double(actual[i]) - double(expected[i])));
      max_value = std::max(max_value, std::abs(double(expected[i])));
    }
    worst = std::max(worst, max_value > 0 ? max_error / max_value : (max_error > 0 ? INFINITY : 0.0));
  }
  return worst;
}

double pearson(const double* a, const double* b, std::int64_t n) {
  double mean_a = 0, mean_b = 0;
  for (std::int64_t i = 0; i < n; ++i) mean_a += a[i] / double(n), mean_b += b[i] / double(n);
  double ab = 0, aa = 0, bb = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    ab += (a[i] - mean_a) * (b[i] - mean_b);
    aa += (a[i] - mean_a) * (a[i] - mean_a);
    bb += (b[i] - mean_b) * (b[i] - mean_b);
  }
  return ab / std::sqrt(aa * bb);
}

// Share of the top 10% (rounded, at least one) of b's entries that are also among a's top 10%.
double top_overlap(const double* a, const double* b, std::int64_t n) {
  const auto k = std::max<std::int64_t>(1, std::llround(0.1 * double(n)));
  const auto top = [&](const double* values) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t(0));
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t i, std::int64_t j) { return values[i] > values[j]; });
    return std::set<std::int64_t>(order.begin(), order.begin() + k);
  };
  const std::set<std::int64_t> top_a = top(a), top_b = top(b);
  std::int64_t common = 0;
  for (std::int64_t i : top_a) common += top_b.count(i);
  return double(common) / double(k);
}

// One image's map of `maps` [B, h, w] as doubles.
std::vector<double> image_map(const Tensor<float>& maps, std::int64_t image) {
  const std::int64_t per = maps.numel() / maps.size(0);
  return std::vector<double>(maps.data() + image * per, maps.data() + (image + 1) * per);
}
std::vector<double> image_map(const Tensor<double>& maps, std::int64_t image) {
  const std::int64_t per = maps.numel() / maps.size(0);
  return std::vector<double>(maps.data() + image * per, maps.data() + (image + 1) * per);
}

// Forward with a cache and the backward pass of each image's target logit to the attention probabilities.
struct Explained {
  vit::ForwardResult<float> forward;
  vit::BackwardResult<float> gradients;
};
Explained forward_backward(const vit::Model& model, TensorView<const float> images, const std::vector<int>& targets,
                           const vit::Context& context = {}) {
  vit::ForwardOptions forward_options;
  forward_options.cache = true;
  Explained result{model.forward(images, forward_options, context), {}};
  const std::int64_t classes = model.config().num_classes;
  Tensor<float> d_logits({images.size(0), classes});
  for (std::size_t b = 0; b < targets.size(); ++b) d_logits[std::int64_t(b) * classes + targets[b]] = 1.0f;
  vit::BackwardOptions backward_options;
  backward_options.images = false;
  backward_options.attentions = true;
  backward_options.parameters = false;
  result.gradients = model.backward(result.forward.cache, d_logits, backward_options, context);
  return result;
}

vit::PatchGrid grid_of(const vit::Model& model, const vit::ActivationCache& cache) {
  return {model.config().num_prefix_tokens(), int(cache.grid_h), int(cache.grid_w)};
}

}  // namespace

TEST_CASE("safetensors read_double reads F64 exactly and widens F32", "[safetensors][transformer-attribution]") {
  // An F64 tensor written by hand: header, then the little-endian doubles.
  const std::vector<double> values = {1.0 / 3.0, -2.5e-300, 1e300, 0.0};
  const std::string header = R"({"d":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]}})";
  std::vector<std::uint8_t> bytes(8 + header.size() + 32);
  const std::uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  std::memcpy(bytes.data() + 8 + header.size(), values.data(), 32);
  const vit::SafetensorsFile file = vit::SafetensorsFile::parse(bytes, "f64");
  const Tensor<double> read = file.read_double("d");
  REQUIRE(read.shape() == vit::Shape{2, 2});
  for (std::size_t i = 0; i < values.size(); ++i) CHECK(read[std::int64_t(i)] == values[i]);
  VIT_REQUIRE_ERROR(file.read_float("d"), Catch::Contains("F64"));

  const Tensor<float> small = vit::test::random_tensor({3}, 5);
  const vit::SafetensorsFile f32 = vit::SafetensorsFile::parse(vit::encode_safetensors({{"x", small.view()}}), "f32");
  const Tensor<double> widened = f32.read_double("x");
  for (std::int64_t i = 0; i < 3; ++i) CHECK(widened[i] == double(small[i]));
}

TEST_CASE("LRP rules: safe_divide and the Add rule's renormalisation", "[transformer-attribution]") {
  // safe_divide(a, b) = a / (b + 1e-9), 0 where b = 0 (their den = clamp(b, min=ε) + clamp(b, max=ε)).
  CHECK(vit::lrp::safe_divide(1.0, 0.0) == 0.0);
  CHECK(vit::lrp::safe_divide(1.0, 2.0) == 1.0 / (2.0 + 1e-9));
  CHECK(vit::lrp::safe_divide(1.0, -2.0) == 1.0 / (-2.0 + 1e-9));
  CHECK(vit::lrp::safe_divide(1.0, -1e-9) == 1.0 / 1e-9);  // b + ε = 0 → den = ε
  CHECK(vit::lrp::safe_divide(3.0f, 1e-10f) == 3.0f / (1e-10f + 1e-9f));
  // Add: shares proportional to |Σ x_i ⊙ S|, total relevance conserved.
  const double x0[] = {1.0, -3.0}, x1[] = {2.0, 1.0}, r[] = {0.5, 0.25};
  double r0[2], r1[2];
  vit::lrp::add(x0, x1, r, 2, r0, r1);
  // Conserved up to safe_divide's ε in |A| / (|A| + |B| + ε).
  CHECK(r0[0] + r0[1] + r1[0] + r1[1] == Approx(0.75).epsilon(1e-8));
  const double a = 1.0 * 0.5 / 3.0 + -3.0 * 0.25 / -2.0, b = 2.0 * 0.5 / 3.0 + 1.0 * 0.25 / -2.0;
  CHECK(r0[0] + r0[1] == Approx(std::abs(a) / (std::abs(a) + std::abs(b)) * 0.75).epsilon(1e-8));
}

TEST_CASE("transformer attribution in double matches the authors' code run in float64", "[transformer-attribution]") {
  const vit::Context context;
  for (const LrpCase& lrp_case : lrp_cases()) {
    SECTION(lrp_case.name) {
      const LoadedCase loaded = load_case(lrp_case);
      const vit::ViTConfig& config = loaded.model.config();
      const DoubleForward forward = double_forward(loaded.model, loaded.input, loaded.eps);
      // The activations are theirs: our double forward reproduces their float64 logits and head inputs.
      const double logits_error = max_relative_error(forward.logits, loaded.fixture.read_double("logits"));
      const double features_error = max_relative_error(forward.features, loaded.fixture.read_double("features"));
      CHECK(logits_error < 1e-12);
      CHECK(features_error < 1e-12);
      if (config.has_distillation_head())
        CHECK(max_relative_error(forward.features_dist, loaded.fixture.read_double("features_dist")) < 1e-12);

      // Both ways of the Linear rule's Z: from the layers' outputs (what the library runs) and from the inputs.
      vit::detail::LrpInputs<double> from_inputs = forward.inputs;
      for (vit::detail::LrpBlockInputs<double>& block : from_inputs.blocks) block.fc1 = {};

      const std::int64_t grid = config.grid_size(), prefix = config.num_prefix_tokens();
      double worst_relevance = 0, worst_map = 0;
      for (int slot = 0; slot < 2; ++slot)
        for (const vit::detail::LrpInputs<double>* inputs :
             {&forward.inputs, static_cast<const vit::detail::LrpInputs<double>*>(&from_inputs)}) {
          const std::vector<int> targets = slot_targets(loaded, slot);
          std::vector<Tensor<double>> gradient_tensors;
          std::vector<TensorView<const double>> gradients;
          for (int l = 0; l < config.depth; ++l)
            gradient_tensors.push_back(
                loaded.fixture.read_double(vit::detail::concat("attention_gradient.", kSlots[slot], ".", l)));
          for (const Tensor<double>& g : gradient_tensors) gradients.push_back(g);
          for (int start = 0; start < 2; ++start) {
            const std::vector<Tensor<double>> relevance =
                vit::detail::attention_relevance<double>(*inputs, targets, start, context);
            for (int l = start; l < config.depth; ++l) {
              const double error = max_relative_error(
                  relevance[std::size_t(l)],
                  loaded.fixture.read_double(vit::detail::concat("attention_relevance.", kSlots[slot], ".", l)));
              INFO(lrp_case.name << " " << kSlots[slot] << " start " << start << " layer " << l);
              CHECK(error <= 1e-6);
              worst_relevance = std::max(worst_relevance, error);
            }
            for (int token = 0; token < int(prefix); ++token) {
              const Tensor<double> maps = vit::detail::attribution_maps<double, double>(relevance, gradients, start,
                                                                                        token, int(prefix), grid, grid);
              const std::string name =
                  vit::detail::concat("map.", kSlots[slot], ".start", start, ".", token == 0 ? "cls" : "dist");
              const double error = max_relative_error(maps, loaded.fixture.read_double(name));
              INFO(lrp_case.name << " " << name);
              CHECK(error <= 1e-6);
              worst_map = std::max(worst_map, error);
            }
          }
        }
      std::cout << "transformer attribution, double vs their float64, " << lrp_case.name << ": activations "
                << std::max(logits_error, features_error) << ", attention relevance max rel error " << worst_relevance
                << ", maps max rel error " << worst_map << "\n";
    }
  }
}

TEST_CASE("transformer attribution in float (forward, backward, relprop) tracks the float64 reference",
          "[transformer-attribution]") {
  for (const LrpCase& lrp_case : lrp_cases()) {
    SECTION(lrp_case.name) {
      const LoadedCase loaded = load_case(lrp_case);
      const vit::ViTConfig& config = loaded.model.config();
      const std::int64_t batch = loaded.input.size(0), prefix = config.num_prefix_tokens();
      double worst_error = 0, worst_correlation = 1, worst_gradient = 0, worst_arithmetic = 0;
      for (int slot = 0; slot < 2; ++slot) {
        const std::vector<int> targets = slot_targets(loaded, slot);
        const Explained explained = forward_backward(loaded.model, loaded.input, targets);
        for (int l = 0; l < config.depth; ++l)
          worst_gradient =
              std::max(worst_gradient, max_relative_error(explained.gradients.attentions[std::size_t(l)],
                                                          loaded.fixture.read_double(vit::detail::concat(
                                                              "attention_gradient.", kSlots[slot], ".", l))));
        // The same rules in double on the same float activations: what float arithmetic adds in the rules.
        {
          const vit::detail::CachedLrpInputs cached =
              vit::detail::lrp_inputs_from_cache(loaded.model, explained.forward.cache, 0, {});
          const WidenedInputs wide = widen_inputs(cached.inputs);
          std::vector<Tensor<double>> wide_gradients;
          std::vector<TensorView<const double>> gradient_views;
          for (const Tensor<float>& g : explained.gradients.attentions) wide_gradients.push_back(widen(g));
          for (const Tensor<double>& g : wide_gradients) gradient_views.push_back(g);
          const Tensor<double> in_double = vit::detail::attribution_maps<double, double>(
              vit::detail::attention_relevance<double>(wide.inputs, targets, 0), gradient_views, 0, 0, int(prefix),
              config.grid_size(), config.grid_size());
          const Tensor<float> in_float =
              vit::transformer_attribution(loaded.model, explained.forward.cache, explained.gradients, targets,
                                           grid_of(loaded.model, explained.forward.cache));
          worst_arithmetic = std::max(worst_arithmetic, max_relative_error(in_float, in_double));
        }
        for (int start = 0; start < 2; ++start)
          for (int token = 0; token < int(prefix); ++token) {
            vit::TransformerAttributionOptions options;
            options.start_layer = start;
            options.token = token;
            const Tensor<float> maps =
                vit::transformer_attribution(loaded.model, explained.forward.cache, explained.gradients, targets,
                                             grid_of(loaded.model, explained.forward.cache), options);
            const Tensor<double> reference = loaded.fixture.read_double(
                vit::detail::concat("map.", kSlots[slot], ".start", start, ".", token == 0 ? "cls" : "dist"));
            const double error = max_relative_error(maps, reference);
            INFO(lrp_case.name << " " << kSlots[slot] << " start " << start << " token " << token);
            // LRP divides by sums of activations that the float forward rounds: up to 2e-3 on these fixtures
            // (vit_timm_meanpool_prenorm), while the rules in double on the same float activations give the
            // float rules' maps to 5e-6 (worst_arithmetic): the spread comes from the float activations.
            CHECK(error < 5e-3);
            worst_error = std::max(worst_error, error);
            for (std::int64_t b = 0; b < batch; ++b) {
              const std::vector<double> ours = image_map(maps, b), theirs = image_map(reference, b);
              if (*std::max_element(theirs.begin(), theirs.end()) == 0) continue;  // an all-zero map (see README)
              worst_correlation =
                  std::min(worst_correlation, pearson(ours.data(), theirs.data(), std::int64_t(ours.size())));
            }
          }
      }
      CHECK(worst_correlation > 0.9999);
      CHECK(worst_arithmetic < 1e-4);
      std::cout << "transformer attribution, float vs their float64, " << lrp_case.name << ": attention gradients "
                << worst_gradient << " max rel error, maps " << worst_error
                << " max rel error, correlation >= " << worst_correlation
                << "; float rules vs double rules on the same float activations " << worst_arithmetic << "\n";
    }
  }
}

TEST_CASE("transformer attribution refuses what it cannot explain, naming the problem",
          "[transformer-attribution][errors]") {
  const vit::ViTConfig config = vit::test::small_config();
  const vit::test::NamedTensors tensors = vit::test::random_checkpoint(config);
  const vit::Model model = vit::load_model(vit::SafetensorsFile::parse(tensors.encode(), "random"), config);
  const Tensor<float> images = vit::test::random_tensor({2, 3, 32, 32}, 41);
  const Explained explained = forward_backward(model, images, {1, 4});
  const vit::ActivationCache& cache = explained.forward.cache;
  const vit::PatchGrid grid = grid_of(model, cache);
  const auto explain = [&](const std::vector<int>& targets, vit::TransformerAttributionOptions options = {}) {
    return vit::transformer_attribution(model, cache, explained.gradients, targets, grid, options);
  };
  CHECK(explain({1, 4}).shape() == vit::Shape{2, 4, 4});
  VIT_REQUIRE_ERROR(explain({1, 5}), Catch::Contains("target class 5 of image 1 is outside [0, 5)"));
  VIT_REQUIRE_ERROR(explain({-1, 0}), Catch::Contains("target class -1"));
  VIT_REQUIRE_ERROR(explain({1}), Catch::Contains("1 target classes for a batch of 2"));
  vit::TransformerAttributionOptions past;
  past.start_layer = 2;
  VIT_REQUIRE_ERROR(explain({1, 4}, past), Catch::Contains("start layer 2 is outside [0, 2)"));
  vit::TransformerAttributionOptions dist;
  dist.token = 1;
  VIT_REQUIRE_ERROR(explain({1, 4}, dist), Catch::Contains("token 1 is not one of the 1 prefix tokens"));
  VIT_REQUIRE_ERROR(vit::transformer_attribution(model, cache, explained.gradients, {1, 4}, vit::PatchGrid{1, 2, 8}),
                    Catch::Contains("does not match the cache"));

  // Gradients that do not belong to the cache: none asked for, or from another batch.
  vit::BackwardOptions without;
  without.attentions = false;
  without.parameters = false;
  Tensor<float> d_logits({2, 5});
  const vit::BackwardResult<float> no_attention = model.backward(cache, d_logits, without);
  VIT_REQUIRE_ERROR(vit::transformer_attribution(model, cache, no_attention, {1, 4}, grid),
                    Catch::Contains("BackwardOptions::attentions = true"));
  const Explained single = forward_backward(model, images.view().rows(0, 1), {1});
  VIT_REQUIRE_ERROR(vit::transformer_attribution(model, cache, single.gradients, {1, 4}, grid),
                    Catch::Contains("attention gradient of layer 0 has shape [1, 3, 17, 17]"));
  VIT_REQUIRE_ERROR(vit::transformer_attribution(model, vit::ActivationCache{}, explained.gradients, {1, 4}, grid),
                    Catch::Contains("ForwardOptions::cache = true"));

  // A cache from another model.
  vit::ViTConfig deeper = config;
  deeper.depth = 3;
  const vit::Model other =
      vit::load_model(vit::SafetensorsFile::parse(vit::test::random_checkpoint(deeper).encode(), "deeper"), deeper);
  VIT_REQUIRE_ERROR(vit::transformer_attribution(other, cache, explained.gradients, {1, 4}, grid),
                    Catch::Contains("does not come from this model"));

  // A model without a classification head has no class score.
  vit::ViTConfig headless = config;
  headless.num_classes = 0;
  const vit::Model backbone = vit::load_model(
      vit::SafetensorsFile::parse(vit::test::random_checkpoint(headless).encode(), "headless"), headless);
  VIT_REQUIRE_ERROR(vit::transformer_attribution(backbone, cache, explained.gradients, {1, 4}, grid),
                    Catch::Contains("no classification head"));

  // vit::explain runs the same passes.
  vit::ExplainOptions options;
  options.method = vit::ExplanationMethod::TransformerAttribution;
  options.targets = {1, 4};
  const Tensor<float> direct = vit::explain(model, images, options).maps;
  const Tensor<float> cached = explain({1, 4});
  for (std::int64_t i = 0; i < direct.numel(); ++i) CHECK(direct[i] == cached[i]);
}

TEST_CASE("real DeiT-tiny: transformer attribution in float against the authors' code in float64",
          "[transformer-attribution][real]") {
  const std::string weights = vit::test::shared_path("models/deit_tiny_patch16_224.safetensors");
  const std::string images_dir = vit::test::shared_path("images");
  if (weights.empty() || images_dir.empty()) {
    WARN("SKIPPED: ../shared/models or ../shared/images is not present");
    return;
  }
  const vit::SafetensorsFile fixture =
      vit::SafetensorsFile::open(vit::test::data_path("lrp/deit_tiny_real.lrp.safetensors"));
  const std::vector<std::string> names = nlohmann::json::parse(fixture.metadata().at("images"));
  const std::vector<std::vector<int>> targets = nlohmann::json::parse(fixture.metadata().at("targets"));
  const vit::Model model = vit::load_model(weights);
  const vit::Preprocessing preprocessing = vit::preprocessing_for_checkpoint(weights, model.config(), model.naming());
  std::vector<vit::Image> images;
  for (const std::string& name : names) images.push_back(vit::load_image(images_dir + "/" + name));
  const Tensor<float> input = vit::preprocess(images, preprocessing);
  const std::int64_t batch = input.size(0);

  // The targets were the float64 top-1 and top-2 logits; the float model must rank the same classes.
  const vit::ForwardResult<float> plain = model.forward(input);
  for (std::int64_t b = 0; b < batch; ++b) {
    std::vector<int> order(1000);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 2, order.end(),
                      [&](int i, int j) { return plain.logits[b * 1000 + i] > plain.logits[b * 1000 + j]; });
    REQUIRE(order[0] == targets[std::size_t(b)][0]);
    REQUIRE(order[1] == targets[std::size_t(b)][1]);
  }

  struct Case {
    int slot, start;
  };
  std::cout << "transformer attribution, real DeiT-tiny, ours (float) and theirs (float32) against their float64:\n";
  std::cout
      << "  image          map          ours: r       top-10%   theirs: r     top-10%   (ours vs other class: r)\n";
  double sum_correlation = 0, min_correlation = 1, sum_overlap = 0;
  int count = 0;
  for (const Case& c : {Case{0, 0}, Case{1, 0}, Case{0, 1}}) {
    std::vector<int> slot_targets;
    for (const auto& pair : targets) slot_targets.push_back(pair[std::size_t(c.slot)]);
    const Explained explained = forward_backward(model, input, slot_targets);
    vit::TransformerAttributionOptions options;
    options.start_layer = c.start;
    const Tensor<float> maps =
        vit::transformer_attribution(model, explained.forward.cache, explained.gradients, slot_targets,
                                     grid_of(model, explained.forward.cache), options);
    const std::string name = vit::detail::concat("map.", kSlots[c.slot], ".start", c.start, ".cls");
    const Tensor<double> reference = fixture.read_double(name);
    const Tensor<double> other = fixture.read_double(vit::detail::concat("map.", kSlots[1 - c.slot], ".start0.cls"));
    const bool has_theirs = c.start == 0;
    const Tensor<double> theirs32 =
        has_theirs ? fixture.read_double(vit::detail::concat("map32.", kSlots[c.slot], ".start0.cls"))
                   : Tensor<double>();
    for (std::int64_t b = 0; b < batch; ++b) {
      const std::vector<double> ours = image_map(maps, b), ref = image_map(reference, b), wrong = image_map(other, b);
      const double r = pearson(ours.data(), ref.data(), 196), overlap = top_overlap(ours.data(), ref.data(), 196);
      std::cout << "  " << std::left << std::setw(14) << names[std::size_t(b)] << " " << std::setw(12)
                << (std::string(kSlots[c.slot]) + " s" + std::to_string(c.start)) << std::right << std::fixed
                << std::setprecision(5) << std::setw(9) << r << std::setw(10) << std::setprecision(2) << overlap;
      if (has_theirs) {
        const std::vector<double> t32 = image_map(theirs32, b);
        std::cout << std::setprecision(5) << std::setw(14) << pearson(t32.data(), ref.data(), 196) << std::setw(10)
                  << std::setprecision(2) << top_overlap(t32.data(), ref.data(), 196);
      } else {
        std::cout << std::setw(24) << "";
      }
      std::cout << std::setprecision(3) << std::setw(12) << pearson(ours.data(), wrong.data(), 196) << "\n"
                << std::defaultfloat;
      sum_correlation += r;
      sum_overlap += overlap;
      min_correlation = std::min(min_correlation, r);
      ++count;
      // Float LRP is this unstable by nature (the rules run in double on the same float activations leave
      // these correlations unchanged to 1e-4: it is the float activations): the authors' own float32 run has
      // mean r 0.983 and min 0.86 here, ours mean 0.994 / min 0.967 with oneDNN's GEMMs and 0.989 / 0.957
      // with Eigen's, whose rounding moves single images a lot. A map of the wrong class correlates at
      // 0.43-0.89 (last column), mean 0.6.
      CHECK(r > 0.8);
      CHECK(overlap >= 0.5);
    }
  }
  std::cout << "  mean r " << sum_correlation / count << ", min r " << min_correlation << ", mean top-10% overlap "
            << sum_overlap / count << "\n";
  CHECK(sum_correlation / count > 0.97);
  CHECK(sum_overlap / count > 0.85);
}

TEST_CASE("transformer attribution reads Hugging Face checkpoints through their canonical names",
          "[transformer-attribution]") {
  // vit_hf holds vit_timm's weights under HF names (eps 1e-12 instead of 1e-6, so the maps differ a little).
  const vit::Model hf = vit::load_model(vit::test::data_path("vit_hf/model.safetensors"));
  const LoadedCase timm = load_case(lrp_cases().front());
  const std::vector<int> targets = slot_targets(timm, 0);
  vit::ExplainOptions options;
  options.method = vit::ExplanationMethod::TransformerAttribution;
  options.targets = targets;
  const Tensor<float> hf_maps = vit::explain(hf, timm.input, options).maps;
  const Tensor<float> timm_maps = vit::explain(timm.model, timm.input, options).maps;
  REQUIRE(hf_maps.shape() == timm_maps.shape());
  for (std::int64_t b = 0; b < hf_maps.size(0); ++b) {
    const std::vector<double> a = image_map(hf_maps, b), c = image_map(timm_maps, b);
    CHECK(pearson(a.data(), c.data(), std::int64_t(a.size())) > 0.9);
  }
}
