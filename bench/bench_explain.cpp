// One class-specific explanation end to end, as a user runs it: vit::explain = forward (keeping the
// activation cache) + backward of the top-1 class score to every layer's attention + the method, for
// DeiT-tiny and ViT-B/16 at batch 1 (random weights from the presets). ms/image = ms per explanation. "gradients" is
// the forward + backward alone, to show what the method itself costs.
//
// Validation: each explanation is run twice and must give the same bits, finite and non-negative; the maps'
// correctness against PyTorch is the tests' job (tests/test_explain_parity.cpp), and tools/bench_explain_peers.py
// checks the maps exported here (--export-dir) against its own before timing anything.
#include <cmath>
#include <vit/vit.hpp>

#include "bench_models.hpp"

namespace {

void check_maps(const std::string& what, const vit::Tensor<float>& maps, const vit::Tensor<float>& again) {
  vit::bench::validate(what + ": two runs", maps, again, 0.0);
  for (std::int64_t i = 0; i < maps.numel(); ++i)
    if (!std::isfinite(maps[i]) || maps[i] < 0) vit::bench::fail(what + ": a negative or non-finite relevance");
}

void explain(benchmark::State& state, std::string name, vit::ExplanationMethod method) {
  const vit::Model& model = vit::bench::model_for(name);
  const int size = model.config().image_size;
  const vit::Tensor<float> images = vit::bench::random_tensor({1, 3, size, size}, 9);  // the exported input
  vit::ExplainOptions options;
  options.method = method;
  const vit::Context& context = vit::bench::settings().context;
  const std::string what = name + " " + std::string(vit::explanation_method_name(method));
  const vit::Explanation explanation = vit::explain(model, images, options, context);
  check_maps(what, explanation.maps, vit::explain(model, images, options, context).maps);
  if (!vit::bench::settings().export_dir.empty()) {
    vit::Tensor<float> target({1});
    target[0] = float(explanation.targets[0]);
    vit::bench::write_file(std::filesystem::path(vit::bench::settings().export_dir) /
                               (name + "." + std::string(vit::explanation_method_name(method)) + ".map.safetensors"),
                           vit::encode_safetensors({{"map", explanation.maps}, {"target", target}}));
  }
  for (auto _ : state) {
    const vit::Explanation result = vit::explain(model, images, options, context);
    benchmark::DoNotOptimize(result.maps.data());
  }
  vit::bench::count_images(state, 1);
}

// Forward with the cache and the backward to the attention maps only: what every gradient method shares.
void gradients(benchmark::State& state, std::string name) {
  const vit::Model& model = vit::bench::model_for(name);
  const int size = model.config().image_size;
  const vit::Tensor<float> images = vit::bench::random_tensor({1, 3, size, size}, 9);
  const vit::Context& context = vit::bench::settings().context;
  vit::ForwardOptions forward_options;
  forward_options.cache = true;
  vit::BackwardOptions backward_options;
  backward_options.images = backward_options.parameters = false;
  backward_options.attentions = true;
  for (auto _ : state) {
    const vit::ForwardResult<float> forward = model.forward(images, forward_options, context);
    vit::Tensor<float> d_logits(forward.logits.shape());
    d_logits[0] = 1.0f;
    const vit::BackwardResult<float> backward = model.backward(forward.cache, d_logits, backward_options, context);
    benchmark::DoNotOptimize(backward.attentions.back().data());
  }
  vit::bench::count_images(state, 1);
}

void register_all() {
  const bool smoke = vit::bench::settings().smoke;
  const std::vector<std::string> models =
      smoke ? std::vector<std::string>{"smoke"}
            : std::vector<std::string>{"deit_tiny_patch16_224", "vit_base_patch16_224"};
  for (const std::string& model : models) {
    vit::bench::configure(benchmark::RegisterBenchmark(("explain/" + model + "/gradients").c_str(), gradients, model));
    for (std::string_view method_name : vit::kExplanationMethodNames) {
      const vit::ExplanationMethod method = vit::parse_explanation_method(method_name);
      if (!vit::is_class_specific(method)) continue;
      const std::string name = "explain/" + model + "/" + std::string(method_name);
      vit::bench::configure(benchmark::RegisterBenchmark(name.c_str(), explain, model, method));
    }
  }
}

}  // namespace

int main(int argc, char** argv) { return vit::bench::main(argc, argv, register_all); }
