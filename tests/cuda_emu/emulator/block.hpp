// One thread block on the emulated device: its CUDA threads as fibers on one OS thread, run one at a time in
// rounds. In each round every ready thread runs, in the chosen order (forward, reverse, or a new random
// permutation), until it waits: at __syncthreads, in a warp collective, or by returning. A waiting thread
// switches straight to the next ready thread of the round (one switch, no trip through the scheduler); the
// scheduler only starts rounds. Then:
//   - a warp collective completes the moment the last lane named in its mask arrives (its lanes are ready
//     again, for the next round); lanes may run different collectives on disjoint masks at the same time;
//   - __syncthreads completes between rounds, once every thread of the block waits at it;
//   - __activemask returns the lanes that reach that call site together: the lanes waiting there are released
//     once no lane of their warp can still come (every other lane has returned or waits elsewhere: at a
//     barrier, in a collective, at another __activemask). So converged code sees its whole warp in any thread
//     order, and each side of a divergent branch its own lanes;
//   - when no thread is ready and no barrier can complete, the block is deadlocked.
// Hazards (each stops the block and fails the launch, with a report naming the sites, threads and lanes; the
// block's waiting threads are then unwound, so their frames' destructors run):
//   a barrier reached after some threads of the block returned; threads waiting at barriers from different
//   call sites (or of different kinds) in one round; a lane whose mask leaves itself out, names lanes that
//   do not exist or have exited, or overlaps a different mask or collective its warp-mates wait in; a
//   shuffle from a lane outside the mask or with a width that is not a power of two up to 32; a lane exiting
//   while lanes wait for it in a collective; dynamic shared memory beyond the launch's request; deadlock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "device.hpp"
#include "emulator.hpp"
#include "fiber.hpp"

namespace vit::emu {

class BlockRunner {
 public:
  BlockRunner(ContextKind context, std::size_t stack_bytes);

  // Runs block `block_index` of `launch` to the end. False when it stopped at a hazard (already recorded).
  // seed: the random order's seed for this block; counts resumes into *resumes.
  bool run(const KernelLaunch& launch, uint3 block_index, Order order, std::uint64_t seed, std::uint64_t* resumes);

  ContextKind context() const { return fibers_.kind(); }

  // The CUDA thread running on this OS thread calls these (through device.hpp).
  std::uint64_t collective(Collective kind, unsigned mask, std::uint64_t value, int operand, int width,
                           const char* file, int line);
  int barrier(Barrier kind, int predicate, const char* file, int line);
  void* dynamic_shared(std::size_t bytes, std::size_t alignment, const char* file, int line);

 private:
  enum class Status : std::uint8_t { Ready, AtBarrier, InCollective, Exited };
  struct Site {
    const char* file = "";
    int line = 0;
    bool operator==(const Site& other) const;
  };
  struct Thread {
    uint3 index{};  // threadIdx
    Status status = Status::Ready;
    bool started = false;
    Barrier barrier_kind = Barrier::Plain;
    bool predicate = false;
    Site site;  // of the barrier or collective it waits at
    std::uint64_t result = 0;
  };
  struct Group {  // lanes of one warp in one collective
    Collective kind;
    unsigned mask, arrived;
    Site site;
  };
  struct Warp {
    unsigned present = 0, exited = 0;  // lanes that exist in this block; lanes that returned
    std::uint64_t value[32];
    int operand[32], width[32];
    std::vector<Group> groups;  // pending collectives, disjoint masks (but __activemask's, by site)
    int active_mask_groups = 0;
  };

  static void thread_main(void* runner);
  std::size_t next_ready(std::size_t position) const;  // the first position ≥ `position` in the round whose
                                                       // thread is ready, or kNone
  void enter(std::size_t position);                    // makes order_[position] the running thread
  void switch_away(bool exiting);                      // the running thread waits or ends: on to the next
  void unwind();              // after a hazard: every started, unfinished thread unwinds its stack (an exception)
  void* shared_base() const;  // dynamic shared memory, 128-byte aligned
  void thread_exited();
  void complete(Warp& warp, std::size_t group, int warp_index);
  std::uint64_t active_mask(Warp& warp, int warp_index, unsigned bit, Site site);
  // Releases the warp's lanes waiting at __activemask if no lane can still join them; true when the running
  // lane was among them (it goes on).
  bool settle_active_masks(Warp& warp, int warp_index);
  bool release_barrier();
  [[noreturn]] void hazard_in_thread(const std::string& what);
  void hazard(const std::string& what);
  std::string where() const;
  std::string describe_waiting() const;
  std::string thread_name(std::size_t index) const;

  FiberPool fibers_;
  std::vector<Thread> threads_;
  std::vector<Warp> warps_;
  std::vector<std::uint32_t> order_;
  std::unique_ptr<unsigned char[]> dynamic_shared_;
  const KernelLaunch* launch_ = nullptr;
  uint3 block_index_{};
  Order order_kind_ = Order::Forward;
  std::uint64_t seed_ = 0;
  std::size_t count_ = 0, exited_ = 0, at_barrier_ = 0, current_ = 0, position_ = 0;
  std::uint64_t resumes_ = 0;
  bool aborted_ = false, unwinding_ = false;
};

}  // namespace vit::emu
