// Mutation tests: would the emulated CUDA tests catch the bugs that a GPU-less CI could otherwise ship?
// Each mutant (generated from the real kernel by mutants.cmake) runs under all three thread orders, on the
// awkward shapes the CUDA tests use, and must be caught in every order: the launch fails with a hazard
// report, or its results miss the CPU reference. The real kernels, through the same harness, must match with
// no hazard in every order. Each outcome is printed, for the README.
#include "emulator/device.hpp"  // first: the kernels below
//
#include <catch2/catch.hpp>
#include <cmath>
#include <iostream>
#include <sstream>
#include <string>
#include <vit/cpu/reference/attention.hpp>
#include <vit/cpu/reference/layer_norm.hpp>

#include "../compare.hpp"
#include "../random_model.hpp"
#include "../tolerances.hpp"
#include "attention_no_tile_barrier.cuh"
#include "attention_shuffle_width.cuh"
#include "attention_tile_bound.cuh"
#include "emulator/emulator.hpp"
#include "kernels/attention.cuh"
#include "kernels/layer_norm.cuh"
#include "layer_norm_early_exit.cuh"
#include "layer_norm_split_barrier.cuh"
#include "vit/cuda/check.cuh"
#include "vit/cuda/kernel_launch.cuh"

namespace {

using vit::Tensor;
namespace tolerance = vit::test::tolerance;

struct Outcome {
  bool hazard = false;
  std::string hazard_text;
  double error = 0;  // max abs error against the reference, when the launch ran
};

std::string describe(const Outcome& outcome, double bound, bool mutant) {
  std::ostringstream out;
  if (!mutant && !outcome.hazard && outcome.error <= bound)
    out << "passes, no hazard (max abs error " << outcome.error << ", bound " << bound << ")";
  else if (outcome.hazard)
    out << "caught: hazard (" << outcome.hazard_text.substr(outcome.hazard_text.find(":\n  ") + 4, 90) << "...)";
  else if (!(outcome.error <= bound))
    out << "caught: wrong results (max abs error " << outcome.error << ", bound " << bound << ")";
  else
    out << "NOT caught (max abs error " << outcome.error << ")";
  return out.str();
}

bool caught(const Outcome& outcome, double bound) { return outcome.hazard || !(outcome.error <= bound); }

template <class T>
T* upload(const Tensor<float>& values) {
  void* device = nullptr;
  VIT_CUDA_CHECK(cudaMalloc(&device, std::size_t(values.numel()) * sizeof(T)));
  VIT_CUDA_CHECK(cudaMemcpy(device, values.data(), std::size_t(values.numel()) * sizeof(T), cudaMemcpyHostToDevice));
  return static_cast<T*>(device);
}

// Waits for the launch; a hazard becomes the outcome (and the device is reset for the next run).
bool finished(Outcome& outcome) {
  const cudaError_t status = cudaDeviceSynchronize();
  if (status == cudaSuccess) return true;
  const std::vector<std::string> found = vit::emu::hazards();
  outcome.hazard = !found.empty();
  outcome.hazard_text = found.empty() ? cudaGetErrorString(status) : found.front();
  vit::emu::reset();
  return false;
}

// ---- Attention: B 2, N 129 (one key past four tiles; 17 blocks of 8 query rows, the last one ragged), H 2,
// d 64, fp32, maps requested. As launch::attention configures it.

constexpr int kBatch = 2, kTokens = 129, kHeads = 2, kHeadDim = 64, kDim = kHeads * kHeadDim;
using AttentionKernel = void (*)(const float*, float*, float*, int, int, float);

Outcome run_attention(AttentionKernel kernel, const char* name) {
  const Tensor<float> qkv = vit::test::random_tensor({kBatch, kTokens, 3 * kDim}, 11, 1.0f);
  const auto expected = vit::cpu::reference::attention(qkv, kHeads);
  float* device_qkv = upload<float>(qkv);
  float *out = nullptr, *maps = nullptr;
  VIT_CUDA_CHECK(cudaMalloc(&out, sizeof(float) * kBatch * kTokens * kDim));
  VIT_CUDA_CHECK(cudaMalloc(&maps, sizeof(float) * kBatch * kHeads * kTokens * kTokens));
  const dim3 grid(unsigned((kTokens + vit::kernels::kAttentionWarps - 1) / vit::kernels::kAttentionWarps), kHeads,
                  kBatch);
  vit::emu::launcher(kernel, grid, dim3(vit::kernels::kAttentionWarps * 32), 0, nullptr, name, __FILE__, __LINE__)(
      device_qkv, out, maps, kTokens, kHeads, 1.0f / std::sqrt(float(kHeadDim)));
  REQUIRE(cudaGetLastError() == cudaSuccess);
  Outcome outcome;
  if (finished(outcome)) {
    Tensor<float> result({kBatch, kTokens, kDim}), probabilities({kBatch, kHeads, kTokens, kTokens});
    VIT_CUDA_CHECK(cudaMemcpy(result.data(), out, sizeof(float) * std::size_t(result.numel()), cudaMemcpyDeviceToHost));
    VIT_CUDA_CHECK(cudaMemcpy(probabilities.data(), maps, sizeof(float) * std::size_t(probabilities.numel()),
                              cudaMemcpyDeviceToHost));
    outcome.error = std::max(vit::test::compare(result, expected.out, 0).max_abs,
                             vit::test::compare(probabilities, expected.probabilities, 0).max_abs);
  }
  for (void* pointer : {static_cast<void*>(device_qkv), static_cast<void*>(out), static_cast<void*>(maps)})
    VIT_CUDA_CHECK(cudaFree(pointer));
  return outcome;
}

// ---- LayerNorm with the residual add: 5 rows of D = 48 (the committed fixtures' width: fewer elements than
// the block's 128 threads), fp32 out. As launch::residual_layer_norm configures it.

constexpr int kRows = 5, kLayerNormDim = 48;
using LayerNormKernel = void (*)(float*, const float*, const float*, const float*, const float*, float*, int, float);

Outcome run_layer_norm(LayerNormKernel kernel, const char* name) {
  const Tensor<float> x = vit::test::random_tensor({kRows, kLayerNormDim}, 1),
                      delta = vit::test::random_tensor({kRows, kLayerNormDim}, 2);
  const Tensor<float> gamma = vit::test::random_tensor({kLayerNormDim}, 4, 0.5f),
                      beta = vit::test::random_tensor({kLayerNormDim}, 6, 0.5f);
  Tensor<float> sum({kRows, kLayerNormDim});
  for (std::int64_t i = 0; i < sum.numel(); ++i) sum[i] = x[i] + delta[i];
  const Tensor<float> expected = vit::cpu::reference::layer_norm(sum, gamma, beta, 1e-6f);
  float *device_x = upload<float>(x), *device_delta = upload<float>(delta), *device_gamma = upload<float>(gamma),
        *device_beta = upload<float>(beta), *out = nullptr;
  VIT_CUDA_CHECK(cudaMalloc(&out, sizeof(float) * kRows * kLayerNormDim));
  vit::emu::launcher(kernel, dim3(kRows), dim3(vit::kernels::kLayerNormThreads), 0, nullptr, name, __FILE__, __LINE__)(
      device_x, device_delta, nullptr, device_gamma, device_beta, out, kLayerNormDim, 1e-6f);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  Outcome outcome;
  if (finished(outcome)) {
    Tensor<float> result({kRows, kLayerNormDim});
    VIT_CUDA_CHECK(cudaMemcpy(result.data(), out, sizeof(float) * std::size_t(result.numel()), cudaMemcpyDeviceToHost));
    outcome.error = vit::test::compare(result, expected, 0).max_abs;
  }
  for (float* pointer : {device_x, device_delta, device_gamma, device_beta, out}) VIT_CUDA_CHECK(cudaFree(pointer));
  return outcome;
}

const vit::emu::Order kOrders[] = {vit::emu::Order::Forward, vit::emu::Order::Reverse, vit::emu::Order::Random};

template <class Run>
void check_all_orders(const std::string& name, bool mutant, double bound, Run&& run) {
  for (const vit::emu::Order order : kOrders) {
    vit::emu::reset();
    vit::emu::set_order(order, 1);
    const Outcome outcome = run();
    vit::emu::set_order(vit::emu::Order::Forward, 1);
    const std::string line = describe(outcome, bound, mutant);
    std::cout << "mutation test: " << name << ", order " << vit::emu::order_name(order) << ": " << line << "\n";
    INFO(name << ", order " << vit::emu::order_name(order) << ": " << line);
    if (mutant) {
      CHECK(caught(outcome, bound));
    } else {
      CHECK_FALSE(outcome.hazard);
      CHECK(outcome.error <= bound);
    }
  }
  vit::emu::reset();
}

}  // namespace

TEST_CASE("mutation: the real attention kernel passes in every order with no hazard", "[emulator][mutation]") {
  check_all_orders("attention (real)", false, tolerance::kAttention,
                   [] { return run_attention(vit::kernels::attention_kernel<float, kHeadDim>, "attention_kernel"); });
}

TEST_CASE("mutation: attention without the barrier after the key-tile load is caught", "[emulator][mutation]") {
  check_all_orders("attention without the barrier after the key-tile load", true, tolerance::kAttention, [] {
    return run_attention(vit::kernels::attention_no_tile_barrier::attention_kernel<float, kHeadDim>,
                         "attention_no_tile_barrier");
  });
}

TEST_CASE("mutation: attention with a wrong shuffle width is caught", "[emulator][mutation]") {
  check_all_orders("attention with shuffle width 16", true, tolerance::kAttention, [] {
    return run_attention(vit::kernels::attention_shuffle_width::attention_kernel<float, kHeadDim>,
                         "attention_shuffle_width");
  });
}

TEST_CASE("mutation: attention with an off-by-one key-tile bound is caught", "[emulator][mutation]") {
  check_all_orders("attention with key bound <= N", true, tolerance::kAttention, [] {
    return run_attention(vit::kernels::attention_tile_bound::attention_kernel<float, kHeadDim>, "attention_tile_bound");
  });
}

TEST_CASE("mutation: the real LayerNorm passes in every order with no hazard", "[emulator][mutation]") {
  check_all_orders("layer norm (real)", false, tolerance::kLayerNorm, [] {
    return run_layer_norm(vit::kernels::residual_layer_norm_kernel<float>, "residual_layer_norm_kernel");
  });
}

TEST_CASE("mutation: LayerNorm with a divergent __syncthreads is caught", "[emulator][mutation]") {
  check_all_orders("layer norm, threads without elements return early", true, tolerance::kLayerNorm, [] {
    return run_layer_norm(vit::kernels::layer_norm_early_exit::residual_layer_norm_kernel<float>,
                          "layer_norm_early_exit");
  });
  check_all_orders("layer norm, the first warp waits at an extra barrier", true, tolerance::kLayerNorm, [] {
    return run_layer_norm(vit::kernels::layer_norm_split_barrier::residual_layer_norm_kernel<float>,
                          "layer_norm_split_barrier");
  });
}
