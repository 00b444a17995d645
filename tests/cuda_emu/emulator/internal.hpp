// What the emulator's parts share (not for tests): hazard records, statistics, running a launch's blocks,
// and the device queue that the CUDA runtime and cuBLAS emulations put their work on.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "device.hpp"
#include "emulator.hpp"

namespace vit::emu::internal {

// Keeps the hazard for hazards() and prints it on stderr (the first few in full).
void record_hazard(const std::string& message);

struct Counters {
  std::atomic<std::uint64_t> launches{0}, blocks{0}, threads{0}, resumes{0};
};
Counters& counters();

// Runs every block of `launch` on the worker threads; false after a hazard (later blocks are not run).
bool execute(const KernelLaunch& launch, const Settings& settings, std::uint64_t launch_seed);

// The device's one in-order queue (runtime.cpp). Work from every stream goes on it in submission order, which
// is a valid order for any CUDA program (streams may run in any interleaving their dependencies allow). It
// runs when the host waits (synchronise, a copy to the host, cudaFree, events), on the waiting thread.
// `work` returns cudaSuccess or the error that fails the device (sticky, as a failed kernel's).
void enqueue(std::function<cudaError_t()> work);

// Whether [pointer, pointer + bytes) lies inside one cudaMalloc allocation.
bool in_device_memory(const void* pointer, std::size_t bytes);
// The device whose cudaMalloc memory holds `pointer`, or -1 when it is not device memory.
int allocation_device(const void* pointer);
// The calling thread's current device.
int current_device();
// The error every runtime call returns before doing anything (no usable device, or a sticky failure).
cudaError_t precondition();

}  // namespace vit::emu::internal
