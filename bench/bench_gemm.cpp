// GEMM: cpu::linear (y = x·Wᵀ + b) at the ViT shapes that dominate the forward pass, qkv, proj, fc1 and
// fc2 of deit_tiny (D = 192) and vit_base (D = 768), with M = 197 tokens × batch rows. GFLOP/s and % of
// the measured fp32 peak.
#include <vit/cpu/linear.hpp>
#include <vit/cpu/reference/linear.hpp>

#include "bench_common.hpp"

namespace {

struct GemmShape {
  const char* name;
  std::int64_t in, out;
};

// Validates a few rows at both ends against the double-precision reference (all of them would take
// longer than the benchmark), then times the whole product.
void gemm(benchmark::State& state, GemmShape shape, std::int64_t rows) {
  const vit::Context& context = vit::bench::settings().context;
  const vit::Tensor<float> x = vit::bench::random_tensor({rows, shape.in}, 1);
  const vit::Tensor<float> weight =
      vit::bench::random_tensor({shape.out, shape.in}, 2, 1.0f / std::sqrt(float(shape.in)));
  const vit::Tensor<float> bias = vit::bench::random_tensor({shape.out}, 3);
  vit::Tensor<float> y = vit::Tensor<float>::uninitialized({rows, shape.out});
  vit::cpu::linear(context, x, weight, bias, y);
  const std::int64_t checked = std::min<std::int64_t>(rows, 4);
  for (const std::int64_t begin : {std::int64_t(0), rows - checked}) {
    const vit::Tensor<float> expected =
        vit::cpu::reference::linear(x.view().rows(begin, begin + checked), weight, bias);
    vit::bench::validate(std::string("linear ") + shape.name, y.view().rows(begin, begin + checked), expected, 2e-5);
  }
  for (auto _ : state) {
    vit::cpu::linear(context, x, weight, bias, y);
    benchmark::DoNotOptimize(y.data());
  }
  vit::bench::count_flops(state, 2.0 * double(rows) * double(shape.in) * double(shape.out));
}

void register_all() {
  if (vit::bench::settings().smoke) {
    vit::bench::configure(benchmark::RegisterBenchmark("linear/smoke/M:20", gemm, GemmShape{"smoke", 48, 96}, 20));
    return;
  }
  const GemmShape shapes[] = {{"deit_tiny.qkv", 192, 576}, {"deit_tiny.proj", 192, 192}, {"deit_tiny.fc1", 192, 768},
                              {"deit_tiny.fc2", 768, 192}, {"vit_base.qkv", 768, 2304},  {"vit_base.proj", 768, 768},
                              {"vit_base.fc1", 768, 3072}, {"vit_base.fc2", 3072, 768}};
  for (const std::int64_t batch : {1, 8})
    for (const GemmShape& shape : shapes) {
      const std::string name = std::string("linear/") + shape.name + "/batch:" + std::to_string(batch);
      vit::bench::configure(benchmark::RegisterBenchmark(name.c_str(), gemm, shape, 197 * batch));
    }
}

}  // namespace

int main(int argc, char** argv) { return vit::bench::main(argc, argv, register_all); }
