// The CUDA emulator's controls and reports, for the tests and tools that run on it (plain C++, no CUDA
// headers). How the emulator works: device.hpp (what kernels see), block.hpp (scheduling and hazards),
// fiber.hpp, runtime.cpp and cublas.cpp; the README's CUDA section says how to run it and what it covers.
//
// Settings come from the environment at first use and can be changed by tests between launches:
//   VIT_EMU_ORDER    forward | reverse | random   the order in which a block's ready threads run between
//                                                 waits (random: a new permutation every round)
//   VIT_EMU_SEED     integer (default 1)          the random order's seed
//   VIT_EMU_THREADS  integer (default: all cores) OS threads that run blocks
//   VIT_EMU_CONTEXT  asm | ucontext               the fiber switch (asm: x86-64 only; the default there)
//   VIT_EMU_STACK_KB integer (default 128)        stack of each emulated CUDA thread
//   VIT_EMU_DEVICES  integer (default 1)          devices; memory, streams and cuBLAS handles belong to the one
//                                                 current when they were made, and a kernel or GEMM that reaches
//                                                 another device's memory is a hazard (no peer access)
//   VIT_EMU_INIT_ERROR  a cudaError_t name        every runtime call fails with it, as on a machine without
//                                                 a usable driver (e.g. cudaErrorInsufficientDriver)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fiber.hpp"

namespace vit::emu {

enum class Order { Forward, Reverse, Random };

struct Settings {
  Order order = Order::Forward;
  std::uint64_t seed = 1;
  unsigned workers = 1;
  ContextKind context = ContextKind::Assembly;
  std::size_t stack_bytes = 128 * 1024;
  int devices = 1;
  std::string init_error;  // empty: a working device
};

// The current settings (read from the environment the first time).
Settings settings();
void set_order(Order order, std::uint64_t seed = 1);
void set_context(ContextKind context);
void set_devices(int devices);
std::string order_name(Order order);
// "forward", "reverse", "random" or "random:SEED" → order and seed; false when `text` is none of these.
bool parse_order(const std::string& text, Order& order, std::uint64_t& seed);

// Hazards found since the last reset(), each a readable paragraph naming the kernel, its launch site,
// the block and threads, the order, and what went wrong. Each also makes the launch fail: the next
// synchronising call returns cudaErrorLaunchFailure, with the first hazard in cudaGetErrorString's text.
std::vector<std::string> hazards();

// Runs what is queued, then forgets hazards and the sticky launch error (tests that provoke hazards), and
// restarts the launch count that seeds the random order (so the same launches get the same permutations).
void reset();

struct Statistics {
  std::uint64_t launches = 0, blocks = 0, threads = 0, resumes = 0;
};
Statistics statistics();

}  // namespace vit::emu
