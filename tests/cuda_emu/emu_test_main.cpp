// main() of the emulated CUDA test binaries: Catch2's, after one option of our own,
//   --emu-order forward|reverse|random[:SEED]   the emulator's thread order (default: VIT_EMU_ORDER, else forward)
// which CTest passes so that each test is registered once per order. At the end one line says what the
// emulator ran, so a log shows the order and that kernels really ran.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "emulator/emulator.hpp"

int main(int argc, char** argv) {
  std::vector<char*> catch_arguments;
  for (int i = 0; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--emu-order" && i + 1 < argc) {
      vit::emu::Order order;
      std::uint64_t seed = vit::emu::settings().seed;
      if (!vit::emu::parse_order(argv[++i], order, seed)) {
        std::fprintf(stderr, "--emu-order %s: expected forward, reverse or random[:SEED]\n", argv[i]);
        return 2;
      }
      vit::emu::set_order(order, seed);
    } else {
      catch_arguments.push_back(argv[i]);
    }
  }
  const int result = Catch::Session().run(int(catch_arguments.size()), catch_arguments.data());
  const vit::emu::Statistics stats = vit::emu::statistics();
  const vit::emu::Settings settings = vit::emu::settings();
  if (stats.launches > 0)
    std::printf(
        "CUDA emulator: order %s (seed %llu), %llu launches, %llu blocks, %llu threads, %llu resumes, %zu hazards\n",
        vit::emu::order_name(settings.order).c_str(), (unsigned long long)settings.seed,
        (unsigned long long)stats.launches, (unsigned long long)stats.blocks, (unsigned long long)stats.threads,
        (unsigned long long)stats.resumes, vit::emu::hazards().size());
  return result;
}
