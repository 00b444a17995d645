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
#include <filesystem>
#include <fstream>
#include <memory>
#include <vit/vit.hpp>

#include "../tests/model_builder.hpp"
#include "bench_common.hpp"

namespace {

void write_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) vit::bench::fail("cannot write " + path.string());
}

vit::ViTConfig config_for(const std::string& name) {
  return name == "smoke" ? vit::test::small_config() : vit::preset(name);  // smoke: checks code paths, not speed
}

// One model at a time (vit_base's weights are 330 MiB): built on first use, replaced by the next.
const vit::Model& model_for(const std::string& name) {
  static std::string cached_name;
  static std::unique_ptr<vit::Model> cached;
  if (cached_name == name) return *cached;
  cached.reset();
  const vit::ViTConfig config = config_for(name);
  const std::vector<std::uint8_t> bytes = vit::test::random_checkpoint(config).encode();
  cached = std::make_unique<vit::Model>(vit::load_model(vit::SafetensorsFile::parse(bytes), config));
  cached_name = name;
  if (!vit::bench::settings().export_dir.empty()) {
    // The weights, and one input with our logits for it, for tools/bench_peers.py to check against.
    const std::filesystem::path dir = vit::bench::settings().export_dir;
    std::filesystem::create_directories(dir);
    write_file(dir / (name + ".safetensors"), bytes);
    const vit::Tensor<float> input = vit::bench::random_tensor({1, 3, config.image_size, config.image_size}, 9);
    const vit::Tensor<float> logits = cached->forward(input).logits;
    write_file(dir / (name + ".check.safetensors"), vit::encode_safetensors({{"input", input}, {"logits", logits}}));
  }
  return *cached;
}

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
