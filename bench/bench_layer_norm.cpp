// LayerNorm: cpu::layer_norm over D = 192 (deit_tiny) and 768 (vit_base) with 197 tokens × batch rows.
// Memory-bound, so GB/s: one read of x and one write of y (weight and bias stay in cache).
#include <vit/cpu/layer_norm.hpp>
#include <vit/cpu/reference/layer_norm.hpp>

#include "bench_common.hpp"

namespace {

void layer_norm(benchmark::State& state, std::int64_t rows, std::int64_t dim) {
  const vit::Context& context = vit::bench::settings().context;
  const vit::Tensor<float> x = vit::bench::random_tensor({rows, dim}, 5);
  const vit::Tensor<float> weight = vit::bench::random_tensor({dim}, 6), bias = vit::bench::random_tensor({dim}, 7);
  vit::Tensor<float> y = vit::Tensor<float>::uninitialized({rows, dim});
  vit::cpu::layer_norm(context, x, weight, bias, 1e-6f, y);
  vit::bench::validate("layer_norm", y, vit::cpu::reference::layer_norm(x, weight, bias, 1e-6f), 1e-5);
  for (auto _ : state) {
    vit::cpu::layer_norm(context, x, weight, bias, 1e-6f, y);
    benchmark::DoNotOptimize(y.data());
  }
  vit::bench::count_bytes(state, 2.0 * double(rows * dim) * sizeof(float));
}

void register_all() {
  if (vit::bench::settings().smoke) {
    vit::bench::configure(benchmark::RegisterBenchmark("layer_norm/smoke/D:48", layer_norm, 20, 48));
    return;
  }
  for (const std::int64_t dim : {192, 768})
    for (const std::int64_t batch : {1, 8, 64}) {
      const std::string name = "layer_norm/D:" + std::to_string(dim) + "/batch:" + std::to_string(batch);
      vit::bench::configure(benchmark::RegisterBenchmark(name.c_str(), layer_norm, 197 * batch, dim));
    }
}

}  // namespace

int main(int argc, char** argv) { return vit::bench::main(argc, argv, register_all); }
