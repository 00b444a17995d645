// Attention: cpu::attention (softmax(Q Kᵀ/√d) V straight from the fused qkv rows) at N = 197 tokens,
// head dim 64, 3 heads (deit_tiny) and 12 heads (vit_base), batch 1 and 8, with the probabilities
// kept (maps on, as ForwardOptions::attentions does) or left in scratch (maps off). GFLOP/s counts the
// two products, 4·B·H·N²·d.
#include <vit/cpu/attention.hpp>
#include <vit/cpu/reference/attention.hpp>

#include "bench_common.hpp"

namespace {

void attention(benchmark::State& state, std::int64_t batch, std::int64_t tokens, int heads, bool maps) {
  constexpr std::int64_t kHeadDim = 64;
  const std::int64_t dim = heads * kHeadDim;
  const vit::Context& context = vit::bench::settings().context;
  const vit::Tensor<float> qkv = vit::bench::random_tensor({batch, tokens, 3 * dim}, 4);
  vit::Tensor<float> out = vit::Tensor<float>::uninitialized({batch, tokens, dim});
  vit::Tensor<float> probabilities = vit::Tensor<float>::uninitialized({maps ? batch : 0, heads, tokens, tokens});
  const vit::TensorView<float> maps_view = maps ? probabilities.view() : vit::TensorView<float>();

  // The reference on the first image (it is per image, so that checks the indexing of every head).
  vit::cpu::attention(context, qkv, heads, out, maps_view);
  const vit::cpu::reference::AttentionResult expected = vit::cpu::reference::attention(qkv.view().rows(0, 1), heads);
  vit::bench::validate("attention output", out.view().rows(0, 1), expected.out, 2e-5);
  if (maps) vit::bench::validate("attention maps", probabilities.view().rows(0, 1), expected.probabilities, 1e-6);

  for (auto _ : state) {
    vit::cpu::attention(context, qkv, heads, out, maps_view);
    benchmark::DoNotOptimize(out.data());
  }
  vit::bench::count_flops(state, 4.0 * double(batch * heads) * double(tokens * tokens) * double(kHeadDim));
}

void register_all() {
  const bool smoke = vit::bench::settings().smoke;
  for (const int heads : smoke ? std::vector<int>{3} : std::vector<int>{3, 12})
    for (const std::int64_t batch : smoke ? std::vector<std::int64_t>{1} : std::vector<std::int64_t>{1, 8})
      for (const bool maps : {false, true}) {
        const std::int64_t tokens = smoke ? 17 : 197;
        const std::string name = "attention/N:" + std::to_string(tokens) + "/heads:" + std::to_string(heads) +
                                 "/batch:" + std::to_string(batch) + (maps ? "/maps:on" : "/maps:off");
        vit::bench::configure(benchmark::RegisterBenchmark(name.c_str(), attention, batch, tokens, heads, maps));
      }
}

}  // namespace

int main(int argc, char** argv) { return vit::bench::main(argc, argv, register_all); }
