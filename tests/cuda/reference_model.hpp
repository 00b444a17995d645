// The CUDA model's forward pass on the CPU, rounding exactly where the CUDA path rounds (vit/cuda/cuda_model.hpp)
// and nowhere else: the oracle for the CUDA tests' 16-bit bounds.
//
// The CUDA path stores in the activation dtype (fp32, fp16 or bf16): the unfolded patches, every weight matrix,
// the LayerNorm outputs, q/k/v (after the bias), the attention output, the GELU output and the classifier's
// input; everything else (GEMM accumulators, biases, the residual stream, LayerNorm and softmax statistics, the
// features, the attention maps, the logits) is fp32. This reference rounds to the activation dtype at exactly
// those points, each value going through fp32 first as on the device (round-to-nearest-even both times), and
// computes everything between them in double: GEMMs of the rounded inputs, LayerNorm, softmax, GELU.
//
// So the CUDA results differ from it only by fp32 arithmetic (relative ~1e-7 per operation, some ~1e-6 over a
// K-term dot product), and by the few 16-bit roundings that this fp32 noise tips across a rounding boundary,
// each one ulp of one element. Whole-model bounds in units of the dtype's roundoff (tests/tolerances.hpp) are
// measured against it, instead of the estimates a reference that never rounds would need.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <string>
#include <vector>
#include <vit/core/dtype.hpp>
#include <vit/cpu/patch_unfold.hpp>
#include <vit/model/forward.hpp>
#include <vit/model/vision_transformer.hpp>

namespace vit::test {

namespace detail {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// What the device stores: the value rounded to fp32 by the arithmetic, then to `dtype` by the store.
inline double stored(DType dtype, double value) {
  unsigned char bytes[4];
  store_as(dtype, float(value), bytes);
  return double(load_as(dtype, bytes));
}

inline Matrix stored(DType dtype, const Matrix& values) {
  return values.unaryExpr([dtype](double value) { return stored(dtype, value); });
}

// A weight matrix [out, in] as uploaded by CudaModel: converted to the activation dtype.
inline Matrix stored_weight(const Model& model, DType dtype, const std::string& name, std::int64_t rows,
                            std::int64_t cols) {
  const TensorView<const float> weight = model.weight(name);
  Matrix out(rows, cols);
  for (std::int64_t i = 0; i < rows * cols; ++i) out.data()[i] = stored(dtype, weight[i]);
  return out;
}

inline Eigen::RowVectorXd vector_of(const Model& model, const std::string& name) {
  const TensorView<const float> values = model.weight(name);
  Eigen::RowVectorXd out(values.numel());
  for (std::int64_t i = 0; i < values.numel(); ++i) out[i] = values[i];
  return out;
}

// LayerNorm of each row of x (two-pass mean and variance), in double.
inline Matrix layer_norm(const Matrix& x, const Eigen::RowVectorXd& gamma, const Eigen::RowVectorXd& beta, double eps) {
  Matrix out(x.rows(), x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const double mean = x.row(r).mean();
    const double variance = (x.row(r).array() - mean).square().mean();
    out.row(r) = ((x.row(r).array() - mean) / std::sqrt(variance + eps)).matrix().cwiseProduct(gamma) + beta;
  }
  return out;
}

inline Tensor<float> to_tensor(const Matrix& values, Shape shape) {
  Tensor<float> out = Tensor<float>::uninitialized(shape);
  for (std::int64_t i = 0; i < out.numel(); ++i) out[i] = float(values.data()[i]);
  return out;
}

}  // namespace detail

// images: [B, C, H, W] host fp32, as for CudaModel::forward; the same results, computed as described above.
inline ForwardResult<float> cuda_reference_forward(const Model& model, DType dtype, TensorView<const float> images,
                                                   const ForwardOptions& options = {}) {
  using detail::Matrix;
  using detail::stored;
  const ViTConfig& config = model.config();
  const std::int64_t batch = images.size(0), patch = config.patch_size, dim = config.embed_dim;
  const std::int64_t grid_h = images.size(2) / patch, grid_w = images.size(3) / patch, patches = grid_h * grid_w;
  const std::int64_t prefix = config.num_prefix_tokens(), tokens = prefix + patches, rows = batch * tokens;
  const std::int64_t heads = config.num_heads, head_dim = config.head_dim(),
                     row_size = config.in_channels * patch * patch;
  const double eps = config.layer_norm_eps;
  const auto linear = [&](const Matrix& input, const std::string& stem, std::int64_t out, std::int64_t in,
                          bool bias = true) {
    Matrix y = input * detail::stored_weight(model, dtype, stem + ".weight", out, in).transpose();
    if (bias) y.rowwise() += detail::vector_of(model, stem + ".bias");
    return y;
  };
  const auto norm = [&](const Matrix& x, const std::string& stem) {
    return detail::layer_norm(x, detail::vector_of(model, stem + ".weight"), detail::vector_of(model, stem + ".bias"),
                              eps);
  };

  // Patch embedding (the only rounding of the images) and the tokens: x [B·N, D], the residual stream.
  Tensor<float> unfolded = Tensor<float>::uninitialized({batch * patches, row_size});
  cpu::patch_unfold(Context{}, images, int(patch), unfolded);
  Matrix patch_input(batch * patches, row_size);
  for (std::int64_t i = 0; i < unfolded.numel(); ++i) patch_input.data()[i] = stored(dtype, unfolded[i]);
  const Matrix patch_tokens = linear(patch_input, "patch_embed.proj", dim, row_size);
  const Tensor<float> position = model.position_embedding(grid_h, grid_w);
  Matrix x(rows, dim);
  for (std::int64_t image = 0; image < batch; ++image)
    for (std::int64_t token = 0; token < tokens; ++token)
      for (std::int64_t d = 0; d < dim; ++d) {
        double value = 0;
        if (token < prefix)
          value = model.weight(token == 0 && config.class_token ? "cls_token" : "dist_token")[d];
        else
          value = patch_tokens(image * patches + token - prefix, d);
        x(image * tokens + token, d) = value + position[token * dim + d];
      }

  ForwardResult<float> result;
  const double scale = 1.0 / std::sqrt(double(float(head_dim)));
  for (int layer = 0; layer < config.depth; ++layer) {
    const std::string stem = ::vit::detail::concat("blocks.", layer, ".");
    // Attention: q, k, v and its output in the activation dtype; scores, softmax and maps in double (maps fp32).
    const Matrix qkv =
        stored(dtype, linear(stored(dtype, norm(x, stem + "norm1")), stem + "attn.qkv", 3 * dim, dim, config.qkv_bias));
    Matrix attended(rows, dim);
    Tensor<float> maps;
    if (options.attentions) maps = Tensor<float>::uninitialized({batch, heads, tokens, tokens});
    std::vector<double> p(static_cast<std::size_t>(tokens));
    for (std::int64_t image = 0; image < batch; ++image)
      for (std::int64_t head = 0; head < heads; ++head)
        for (std::int64_t query = 0; query < tokens; ++query) {
          const auto q = qkv.row(image * tokens + query).segment(head * head_dim, head_dim);
          double max_score = -INFINITY, sum = 0;
          for (std::int64_t key = 0; key < tokens; ++key) {
            const auto k = qkv.row(image * tokens + key).segment(dim + head * head_dim, head_dim);
            p[std::size_t(key)] = q.dot(k) * scale;
            max_score = std::max(max_score, p[std::size_t(key)]);
          }
          for (double& value : p) sum += (value = std::exp(value - max_score));
          Eigen::RowVectorXd out = Eigen::RowVectorXd::Zero(head_dim);
          for (std::int64_t key = 0; key < tokens; ++key) {
            const double weight = p[std::size_t(key)] / sum;
            out += weight * qkv.row(image * tokens + key).segment(2 * dim + head * head_dim, head_dim);
            if (options.attentions) maps[((image * heads + head) * tokens + query) * tokens + key] = float(weight);
          }
          attended.row(image * tokens + query).segment(head * head_dim, head_dim) = out;
        }
    if (options.attentions) result.attentions.push_back(std::move(maps));
    x += linear(stored(dtype, attended), stem + "attn.proj", dim, dim);
    // MLP: GELU's output in the activation dtype.
    Matrix hidden = linear(stored(dtype, norm(x, stem + "norm2")), stem + "mlp.fc1", config.mlp_dim, dim);
    hidden = hidden.unaryExpr([](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); });
    x += linear(stored(dtype, hidden), stem + "mlp.fc2", dim, config.mlp_dim);
  }

  // Pooling and the final norm: fp32 features, one row per image (and one per image for the distillation head).
  const bool distilled = config.has_distillation_head();
  const std::string final_norm = config.fc_norm ? "fc_norm" : "norm";
  Matrix pooled(distilled ? 2 * batch : batch, dim);
  if (config.pooling == Pooling::Mean) {
    const Matrix source = config.fc_norm ? x : norm(x, final_norm);
    for (std::int64_t image = 0; image < batch; ++image)
      pooled.row(image) = source.middleRows(image * tokens + prefix, patches).colwise().mean();
    if (config.fc_norm) pooled = norm(pooled, final_norm);
  } else {
    for (std::int64_t image = 0; image < batch; ++image) {
      pooled.row(image) = x.row(image * tokens);
      if (distilled) pooled.row(batch + image) = x.row(image * tokens + 1);
    }
    pooled = norm(pooled, final_norm);
  }
  const Matrix features = stored(DType::F32, pooled);
  if (options.features) result.features = detail::to_tensor(features.topRows(batch), {batch, dim});
  if (config.num_classes > 0) {
    const std::int64_t classes = config.num_classes;
    const Matrix head_in = stored(dtype, features);
    const Matrix logits = stored(DType::F32, linear(head_in.topRows(batch), "head", classes, dim));
    result.logits = detail::to_tensor(logits, {batch, classes});
    if (distilled) {
      const Matrix logits_dist = stored(DType::F32, linear(head_in.bottomRows(batch), "head_dist", classes, dim));
      for (std::int64_t i = 0; i < batch * classes; ++i)
        result.logits[i] = (float(logits.data()[i]) + float(logits_dist.data()[i])) * 0.5f;
    }
  }
  return result;
}

}  // namespace vit::test
