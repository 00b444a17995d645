// End to end: VisionTransformer::forward for deit_tiny, vit_small and vit_base (random weights, built
// from the presets) at batch 1, 8 and 64, maps off and on. images/s, ms/image and the peak resident
// memory of the configuration (weights, activations and outputs).
//
// vit_base at batch 64 is left out: at ~10 s per forward on a 2-core machine five repetitions would
// take most of bench/run_cpu.sh's 10-minute budget.
//
// Validation: the forward is checked for self-consistency rather than against a reference (the PyTorch
// parity tests in tests/ cover the numbers, and tools/bench_peers.py compares timm's logits with the
// ones exported here): the first and last image of the batch must give the logits they give alone, and
// asking for maps must not change the logits at all.
#include <vit/vit.hpp>

#include "bench_models.hpp"

namespace {

using vit::bench::model_for;

void forward(benchmark::State& state, std::string name, std::int64_t batch, bool maps) {
  const vit::Model& model = model_for(name);
  const int size = model.config().image_size;
  const vit::Tensor<float> images = vit::bench::random_tensor({batch, 3, size, size}, 8);
  vit::ForwardOptions options;
  options.attentions = maps;

  vit::bench::reset_peak_memory();
  const vit::Context& context = vit::bench::settings().context;
  const vit::Tensor<float> logits = model.forward(images, options, context).logits;
  state.counters["peak_MiB"] = vit::bench::peak_memory_mib();
  const vit::Tensor<float> logits_without_maps = model.forward(images, {}, context).logits;
  vit::bench::validate(name + " logits with and without maps", logits, logits_without_maps, 0.0);
  for (const std::int64_t image : {std::int64_t(0), batch - 1}) {
    const vit::Tensor<float> alone = model.forward(images.view().rows(image, image + 1), {}, context).logits;
    vit::bench::validate(name + " logits in a batch and alone", logits.view().rows(image, image + 1), alone, 1e-4);
  }

  for (auto _ : state) {
    const vit::ForwardResult<float> result = model.forward(images, options, context);
    benchmark::DoNotOptimize(result.logits.data());
  }
  vit::bench::count_images(state, batch);
}

void register_all() {
  struct Config {
    const char* model;
    std::int64_t largest_batch;
  };
  static const Config full[] = {
      {"deit_tiny_patch16_224", 64}, {"vit_small_patch16_224", 64}, {"vit_base_patch16_224", 8}};
  static const Config smoke[] = {{"smoke", 2}};
  const bool is_smoke = vit::bench::settings().smoke;
  const std::vector<Config> configs = is_smoke ? std::vector<Config>(std::begin(smoke), std::end(smoke))
                                               : std::vector<Config>(std::begin(full), std::end(full));
  const std::vector<std::int64_t> batches =
      is_smoke ? std::vector<std::int64_t>{1, 2} : std::vector<std::int64_t>{1, 8, 64};
  for (const Config& config : configs)
    for (const std::int64_t batch : batches)
      for (const bool maps : {false, true}) {
        if (batch > config.largest_batch) continue;
        const std::string name = std::string("forward/") + config.model + "/batch:" + std::to_string(batch) +
                                 (maps ? "/maps:on" : "/maps:off");
        vit::bench::configure(benchmark::RegisterBenchmark(name.c_str(), forward, config.model, batch, maps));
      }
}

}  // namespace

int main(int argc, char** argv) { return vit::bench::main(argc, argv, register_all); }
