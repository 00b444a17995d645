// The LRP relevance rules of Chefer, Gur & Wolf's reference code (CVPR 2021, "Transformer Interpretability
// Beyond Attention Visualization"; modules/layers_ours.py and baselines/ViT/ViT_LRP.py of
// github.com/hila-chefer/Transformer-Explainability), written out from their code for one image at a time
// and templated on the scalar type: LRP divides by sums that can be tiny, so the rules also run in double
// (the tests compare a double build against the authors' code run in float64).
//
// Notation: a module computes Z from its input(s) X; R is the relevance at Z, and a rule returns the
// relevance at X. ε = 1e-9, and sd is their safe_divide:
//   sd(a, b) = 0 where b = 0, else a / den with den = clamp(b, min=ε) + clamp(b, max=ε) = b + ε
//              (den = ε where b + ε is exactly 0)
// Rules (their class names; every one is their code's formula, nothing added):
//   Linear (alpha = 1, beta = 0; the bias is left out):
//       Z = X⁺·W⁺ᵀ + X⁻·W⁻ᵀ (≥ 0), S = sd(R, Z), R_X = X⁺ ⊙ (S·W⁺) + X⁻ ⊙ (S·W⁻)
//       (X⁺ = max(X, 0), X⁻ = min(X, 0), likewise W; row by row, so a zero row of R gives a zero row)
//   Add (Z = X₀ + X₁; "RelPropSimple" followed by their renormalisation):
//       S = sd(R, Z), a = X₀ ⊙ S, b = X₁ ⊙ S, with sums over the whole (one-image) tensor
//       A = Σa, B = Σb: R₀ = a · sd(sd(|A|, |A| + |B|) · ΣR, A), R₁ = b · sd(sd(|B|, |A| + |B|) · ΣR, B)
//   Clone (X copied into two branches with relevances R₀, R₁): R_X = X ⊙ (sd(R₀, X) + sd(R₁, X))
//   IndexSelect (the selected rows; other rows get 0): R_X = X ⊙ sd(R, X)
//   einsum 'bhij,bhjd->bhid' (O = A·V per head; RelPropSimple with Z = A·V recomputed, i.e. the heads
//       output): S = sd(R, O), R_A = A ⊙ (S·Vᵀ), R_V = V ⊙ (Aᵀ·S)
//   einsum 'bhid,bhjd->bhij' (Z = Q·Kᵀ, unscaled: their scale multiplies after this module):
//       S = sd(R, Z), R_Q = Q ⊙ (S·K), R_K = K ⊙ (Sᵀ·Q)
//   mean of rows (their RelPropSimple applied to a mean, as AvgPool2d/AdaptiveAvgPool2d in their code;
//       used for mean pooling, which their ViT does not have): Z = mean_t X_t, S = sd(R, Z),
//       R_X_t = X_t ⊙ S / G for the G averaged rows
//   LayerNorm, GELU, Softmax, Dropout: R passes unchanged (their RelProp base class returns R).
// The attention-specific halving (cam1 /= 2, cam_v /= 2, cam_q /= 2, cam_k /= 2) belongs to their
// Attention.relprop and sits with the model walk in transformer_attribution.hpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/eigen.hpp"
#include "vit/cpu/gemm.hpp"
#include "vit/cpu/parallel.hpp"

namespace vit::lrp {

inline constexpr double kSafeDivideEpsilon = 1e-9;

// Their safe_divide for one element (ε rounded to T first, as PyTorch does with a Python scalar).
// Written as selects, without branches, so that loops over it vectorise.
template <typename T>
T safe_divide(T a, T b) {
  const T den = b + T(kSafeDivideEpsilon);
  const T quotient = a / (den == T(0) ? T(kSafeDivideEpsilon) : den);
  return b == T(0) ? T(0) : quotient;
}

// A row-major matrix inside a larger buffer: rows × cols, consecutive rows `stride` elements apart.
template <typename T>
struct Matrix {
  T* data;
  std::int64_t rows, cols, stride;
  T& operator()(std::int64_t row, std::int64_t col) const { return data[row * stride + col]; }
};
template <typename T>
Matrix<T> dense(T* data, std::int64_t rows, std::int64_t cols) {
  return {data, rows, cols, cols};
}

using cpu::detail::ALayout;
using cpu::detail::BLayout;

// c = op(a) · op(b) (+ c with Output::Accumulate), single-threaded: float through the library's GEMM
// (oneDNN or Eigen), double through Eigen.
template <typename T>
void gemm(Matrix<const T> a, ALayout a_layout, Matrix<const T> b, BLayout b_layout, Matrix<T> c,
          Output output = Output::Overwrite) {
  if constexpr (std::is_same_v<T, float>) {
    cpu::detail::gemm({a.data, a.rows, a.cols, a.stride}, a_layout, {b.data, b.rows, b.cols, b.stride}, b_layout, 1.0f,
                      {c.data, c.rows, c.cols, c.stride}, output);
  } else {
    using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using ConstMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
    using Map = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;
    const ConstMap a_map(a.data, a.rows, a.cols, Eigen::OuterStride<>(a.stride));
    const ConstMap b_map(b.data, b.rows, b.cols, Eigen::OuterStride<>(b.stride));
    Map c_map(c.data, c.rows, c.cols, Eigen::OuterStride<>(c.stride));
    const auto assign = [&](const auto& product) {
      if (output == Output::Accumulate)
        c_map.noalias() += product;
      else
        c_map.noalias() = product;
    };
    if (a_layout == ALayout::MByK) {
      if (b_layout == BLayout::NByK)
        assign(a_map * b_map.transpose());
      else
        assign(a_map * b_map);
    } else {
      if (b_layout == BLayout::NByK)
        assign(a_map.transpose() * b_map.transpose());
      else
        assign(a_map.transpose() * b_map);
    }
  }
}

// Scratch memory whose contents are about to be overwritten (not zero-filled).
template <typename T>
std::unique_ptr<T[]> scratch(std::int64_t count) {
  return std::unique_ptr<T[]>(new T[std::size_t(count)]);
}

template <typename T>
Matrix<const T> as_const(Matrix<T> m) {
  return {m.data, m.rows, m.cols, m.stride};
}

// Linear, alpha = 1, beta = 0: x: [M, K], weight: [N, K] (PyTorch layout), r: [M, N] → r_x: [M, K].
//
// S·W⁺ and S·W⁻ come from one GEMM, S·[W⁺ | W⁻] with W⁺ and W⁻ laid side by side once ([N, 2K]).
// Z = X⁺·W⁺ᵀ + X⁻·W⁻ᵀ is one GEMM of depth 2K, [X⁺ | X⁻]·[W⁺ | W⁻]ᵀ — or, when the layer's output
// y = x·Wᵀ + bias is given (as the forward computed it; bias [N] or empty), half of that: since
// x·Wᵀ + |x|·|W|ᵀ = 2 (X⁺·W⁺ᵀ + X⁻·W⁻ᵀ), Z = (y - bias + |x|·|W|ᵀ) / 2, one GEMM of depth K (the
// rule's three GEMMs instead of four: 15% faster at DeiT shapes). The sum cancels where Z is small
// against |x|·|W|ᵀ + |bias|; there (Z below 2⁻¹⁰ of that) Z is recomputed term by term, so Z keeps a
// relative error of at most about 2¹⁰ ulp, usually a few ulp. (The rules in float and in double on the
// same float activations agree to 5e-6 on the fixtures: the spread of float LRP comes from the
// activations, not from this.)
// Rows of r that are all zero (the relevance of a class token before it spreads) are skipped: their
// relevance at x is zero.
template <typename T>
void linear(const Context& context, TensorView<const T> x, TensorView<const T> weight, TensorView<const T> r,
            TensorView<T> r_x, TensorView<const T> y = {}, TensorView<const T> bias = {}) {
  const std::int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  const bool from_output = !y.empty();
  const auto split = scratch<T>(out * 2 * in);                    // [W⁺ | W⁻]
  const auto magnitude = scratch<T>(from_output ? out * in : 0);  // |W|
  cpu::parallel_for(context.threads, out, 64, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t o = begin; o < end; ++o)
      for (std::int64_t i = 0; i < in; ++i) {
        const T w = weight[o * in + i];
        split[o * 2 * in + i] = w > T(0) ? w : T(0);
        split[o * 2 * in + in + i] = w < T(0) ? w : T(0);
        if (from_output) magnitude[o * in + i] = std::abs(w);
      }
  });
  std::vector<std::int64_t> live;  // rows of r with some nonzero relevance
  live.reserve(std::size_t(rows));
  for (std::int64_t row = 0; row < rows; ++row) {
    bool any = false;
    for (std::int64_t o = 0; o < out && !any; ++o) any = r[row * out + o] != T(0);
    if (any)
      live.push_back(row);
    else
      std::fill_n(r_x.data() + row * in, in, T(0));
  }
  const Matrix<const T> w_split{split.get(), out, 2 * in, 2 * in};
  const auto count = std::int64_t(live.size());
  cpu::parallel_for(context.threads, count, 16, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t m = end - begin;
    const auto x_split = scratch<T>(m * 2 * in), z = scratch<T>(m * out), c = scratch<T>(m * 2 * in);
    for (std::int64_t j = 0; j < m; ++j) {
      const T* x_row = x.data() + live[std::size_t(begin + j)] * in;
      T* split_row = x_split.get() + j * 2 * in;
      for (std::int64_t i = 0; i < in; ++i) {
        split_row[i] = x_row[i] > T(0) ? x_row[i] : T(0);
        split_row[in + i] = x_row[i] < T(0) ? x_row[i] : T(0);
      }
    }
    if (!from_output) {
      gemm<T>({x_split.get(), m, 2 * in, 2 * in}, ALayout::MByK, w_split, BLayout::NByK, dense(z.get(), m, out));
    } else {
      const auto x_abs = scratch<T>(m * in);
      for (std::int64_t j = 0; j < m; ++j) {
        const T* x_row = x.data() + live[std::size_t(begin + j)] * in;
        for (std::int64_t i = 0; i < in; ++i) x_abs[j * in + i] = std::abs(x_row[i]);
      }
      gemm<T>({x_abs.get(), m, in, in}, ALayout::MByK, {magnitude.get(), out, in, in}, BLayout::NByK,
              dense(z.get(), m, out));
      const auto cancelled = scratch<T>(out);
      for (std::int64_t j = 0; j < m; ++j) {
        const std::int64_t row = live[std::size_t(begin + j)];
        const T* y_row = y.data() + row * out;
        T* z_row = z.get() + j * out;
        bool any = false;
        for (std::int64_t o = 0; o < out; ++o) {
          const T total = z_row[o];  // |x|·|W|ᵀ
          const T b = bias.empty() ? T(0) : bias[o];
          const T half = (y_row[o] - b + total) * T(0.5);
          const bool bad = half < (total + std::abs(b)) * T(1.0 / 1024);  // y carries rounding of |b| too
          cancelled[o] = bad ? T(1) : T(0);
          any = any || bad;
          z_row[o] = half;
        }
        if (!any) continue;
        for (std::int64_t o = 0; o < out; ++o) {
          if (cancelled[o] == T(0)) continue;
          const T* split_row = x_split.get() + j * 2 * in;  // cancellation: the positive terms directly
          const T* w_row = split.get() + o * 2 * in;
          T sum = 0;
          for (std::int64_t i = 0; i < 2 * in; ++i) sum += split_row[i] * w_row[i];
          z_row[o] = sum;
        }
      }
    }
    for (std::int64_t j = 0; j < m; ++j) {
      const T* r_row = r.data() + live[std::size_t(begin + j)] * out;
      T* s_row = z.get() + j * out;
      for (std::int64_t o = 0; o < out; ++o) s_row[o] = safe_divide(r_row[o], s_row[o]);
    }
    gemm<T>({z.get(), m, out, out}, ALayout::MByK, w_split, BLayout::KByN, dense(c.get(), m, 2 * in));
    for (std::int64_t j = 0; j < m; ++j) {
      const T* split_row = x_split.get() + j * 2 * in;
      const T* c_row = c.get() + j * 2 * in;
      T* out_row = r_x.data() + live[std::size_t(begin + j)] * in;
      for (std::int64_t i = 0; i < in; ++i) out_row[i] = split_row[i] * c_row[i] + split_row[in + i] * c_row[in + i];
    }
  });
}

// Add over one image's tensors of `count` elements: r0, r1 receive the relevance of x0 and x1.
template <typename T>
void add(const T* x0, const T* x1, const T* r, std::int64_t count, T* r0, T* r1) {
  for (std::int64_t i = 0; i < count; ++i) {
    const T s = safe_divide(r[i], T(x0[i] + x1[i]));
    r0[i] = x0[i] * s;
    r1[i] = x1[i] * s;
  }
  // Sums in double also for float (PyTorch's float sums are pairwise, i.e. far better than a running sum).
  double a_total = 0, b_total = 0, r_total = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    a_total += double(r0[i]);
    b_total += double(r1[i]);
    r_total += double(r[i]);
  }
  const T a_sum = T(a_total), b_sum = T(b_total), r_sum = T(r_total);
  const T a_abs = std::abs(a_sum), b_abs = std::abs(b_sum);
  const T a_fact = safe_divide(a_abs, T(a_abs + b_abs)) * r_sum;
  const T b_fact = safe_divide(b_abs, T(a_abs + b_abs)) * r_sum;
  const T a_scale = safe_divide(a_fact, a_sum), b_scale = safe_divide(b_fact, b_sum);
  for (std::int64_t i = 0; i < count; ++i) {
    r0[i] *= a_scale;
    r1[i] *= b_scale;
  }
}

// Clone into two branches, `count` elements: r_x = x ⊙ (sd(r0, x) + sd(r1, x)).
template <typename T>
void clone(const T* x, const T* r0, const T* r1, std::int64_t count, T* r_x) {
  for (std::int64_t i = 0; i < count; ++i) r_x[i] = x[i] * (safe_divide(r0[i], x[i]) + safe_divide(r1[i], x[i]));
}

// IndexSelect of selected elements, `count` of them: r_x = x ⊙ sd(r, x).
template <typename T>
void index_select(const T* x, const T* r, std::int64_t count, T* r_x) {
  for (std::int64_t i = 0; i < count; ++i) r_x[i] = x[i] * safe_divide(r[i], x[i]);
}

// The mean of `rows` rows of x ([rows, dim], rows `stride` apart), with relevance r: [dim] at the mean;
// r_x: [rows, dim] (rows `stride` apart).
template <typename T>
void mean_rows(const T* x, std::int64_t rows, std::int64_t dim, std::int64_t stride, const T* r, T* r_x) {
  std::vector<T> s(static_cast<std::size_t>(dim));
  for (std::int64_t i = 0; i < dim; ++i) {
    double sum = 0;
    for (std::int64_t row = 0; row < rows; ++row) sum += double(x[row * stride + i]);
    s[std::size_t(i)] = safe_divide(r[i], T(sum / double(rows))) / T(rows);
  }
  for (std::int64_t row = 0; row < rows; ++row)
    for (std::int64_t i = 0; i < dim; ++i) r_x[row * stride + i] = x[row * stride + i] * s[std::size_t(i)];
}

// The two attention einsums for one head, split so that a head's work spreads over threads: each rule is
// a "rows" step (output rows [begin, end) from the same rows of its inputs) and a "columns" step (the
// relevance of the right operand, whose row t sums over every row of S: run it once the rows step has
// finished every row). Halving is the caller's.

// einsum 'bhij,bhjd->bhid' (O = A·V), rows [begin, end): s = sd(r, out) [N, d] and r_a = A ⊙ (S·Vᵀ) [N, N].
// a: [N, N], v, out, r: [N, d].
template <typename T>
void attention_values_rows(Matrix<const T> a, Matrix<const T> v, Matrix<const T> out, Matrix<const T> r, Matrix<T> s,
                           Matrix<T> r_a, std::int64_t begin, std::int64_t end) {
  const std::int64_t n = a.cols, d = v.cols, rows = end - begin;
  for (std::int64_t i = begin; i < end; ++i)
    for (std::int64_t j = 0; j < d; ++j) s(i, j) = safe_divide(r(i, j), out(i, j));
  gemm<T>({&s(begin, 0), rows, d, s.stride}, ALayout::MByK, v, BLayout::NByK, {&r_a(begin, 0), rows, n, r_a.stride});
  for (std::int64_t i = begin; i < end; ++i)
    for (std::int64_t j = 0; j < n; ++j) r_a(i, j) *= a(i, j);
}

// The same einsum's value relevance, rows [begin, end) of r_v = V ⊙ (Aᵀ·S) [N, d].
template <typename T>
void attention_values_columns(Matrix<const T> a, Matrix<const T> v, Matrix<const T> s, Matrix<T> r_v,
                              std::int64_t begin, std::int64_t end) {
  const std::int64_t n = a.rows, d = v.cols;
  gemm<T>({a.data + begin, n, end - begin, a.stride}, ALayout::KByM, s, BLayout::KByN,
          {&r_v(begin, 0), end - begin, d, r_v.stride});
  for (std::int64_t t = begin; t < end; ++t)
    for (std::int64_t j = 0; j < d; ++j) r_v(t, j) *= v(t, j);
}

// einsum 'bhid,bhjd->bhij' (Z = Q·Kᵀ, unscaled), rows [begin, end): s = sd(r, Z) [N, N] and
// r_q = Q ⊙ (S·K) [N, d]. q, k: [N, d]; r: [N, N].
template <typename T>
void attention_scores_rows(Matrix<const T> q, Matrix<const T> k, Matrix<const T> r, Matrix<T> s, Matrix<T> r_q,
                           std::int64_t begin, std::int64_t end) {
  const std::int64_t n = k.rows, d = q.cols, rows = end - begin;
  const Matrix<T> s_rows{&s(begin, 0), rows, n, s.stride};
  gemm<T>({&q(begin, 0), rows, d, q.stride}, ALayout::MByK, k, BLayout::NByK, s_rows);  // Z = Q·Kᵀ
  for (std::int64_t i = begin; i < end; ++i)
    for (std::int64_t j = 0; j < n; ++j) s(i, j) = safe_divide(r(i, j), s(i, j));
  gemm<T>(as_const(s_rows), ALayout::MByK, k, BLayout::KByN, {&r_q(begin, 0), rows, d, r_q.stride});  // S·K
  for (std::int64_t i = begin; i < end; ++i)
    for (std::int64_t j = 0; j < d; ++j) r_q(i, j) *= q(i, j);
}

// The same einsum's key relevance, rows [begin, end) of r_k = K ⊙ (Sᵀ·Q) [N, d].
template <typename T>
void attention_scores_columns(Matrix<const T> q, Matrix<const T> k, Matrix<const T> s, Matrix<T> r_k,
                              std::int64_t begin, std::int64_t end) {
  const std::int64_t n = s.rows, d = q.cols;
  gemm<T>({s.data + begin, n, end - begin, s.stride}, ALayout::KByM, q, BLayout::KByN,
          {&r_k(begin, 0), end - begin, d, r_k.stride});
  for (std::int64_t t = begin; t < end; ++t)
    for (std::int64_t j = 0; j < d; ++j) r_k(t, j) *= k(t, j);
}

}  // namespace vit::lrp
