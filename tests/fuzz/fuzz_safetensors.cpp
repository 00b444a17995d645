// libFuzzer target: arbitrary bytes through the safetensors reader and the model loader.
//
// Whatever the bytes, the only acceptable outcomes are success or vit::Error: no crash, no
// sanitizer report, no unbounded allocation (every size is bounded by the input's own length).
// Valid inputs go further: every float tensor is converted, the architecture is inferred, and a
// model of the small fixed config below is loaded strictly and run once.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <vit/vit.hpp>

#include "fuzz_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const vit::SafetensorsFile file = vit::SafetensorsFile::parse(std::vector<std::uint8_t>(data, data + size), "fuzz");
    for (const vit::SafetensorsEntry& entry : file.entries())
      if (entry.float_dtype()) (void)file.read_float(entry);
    try {
      (void)vit::load_model(file);
    } catch (const vit::Error&) {
    }
    vit::Context context;
    context.threads = 1;
    const vit::Model model = vit::load_model(file, vit::fuzz::small_config());
    vit::ForwardOptions options;
    options.attentions = true;
    (void)model.forward(vit::Tensor<float>({1, 3, 8, 12}), options, context);  // resampled grid 2×3
  } catch (const vit::Error&) {
  }
  return 0;
}
