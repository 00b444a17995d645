// Fibers: the execution contexts of emulated CUDA threads. Each CUDA thread of a block runs on its own small
// stack; one runs at a time, and when it must wait (a barrier, a warp collective) or returns, it switches to
// the next ready thread of its block, or back to the block's scheduler (block.cpp). No preemption: a thread
// runs until it waits or ends, which is all CUDA's barrier semantics need.
//
// Two ways to switch: a hand-written x86-64 switch (pushes the six callee-saved registers and swaps stack
// pointers: a few nanoseconds), and POSIX ucontext as the portable fallback (swapcontext also saves the
// signal mask with a system call: far slower, fine for small tests).
// VIT_EMU_CONTEXT=ucontext selects the fallback on x86-64 too, so CI tests both.
//
// Under AddressSanitizer every switch is announced (__sanitizer_start/finish_switch_fiber), so ASan knows
// which stack is live and its reports and stack-use checks stay right on fiber stacks.
//
// Stacks: one mmap per pool, each stack with a PROT_NONE guard page below it (an overflow faults at once
// instead of corrupting the neighbour). Pages are committed lazily, so 1024 stacks cost only what they touch.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace vit::emu {

enum class ContextKind { Assembly, Ucontext };

// The fibers of one worker OS thread: `capacity` stacks of `stack_bytes`, reused block after block.
// Only the thread that created the pool may use it.
class FiberPool {
 public:
  FiberPool(ContextKind kind, std::size_t capacity, std::size_t stack_bytes);
  ~FiberPool();
  FiberPool(const FiberPool&) = delete;
  FiberPool& operator=(const FiberPool&) = delete;

  // Makes fiber `index` start entry(argument) at its next resume(); any earlier state of it is dropped.
  void start(std::size_t index, void (*entry)(void*), void* argument);
  // From the scheduler: runs fiber `index` (and whatever it switches to) until a fiber calls yield() or
  // finish() without a target.
  void resume(std::size_t index);
  // From the running fiber: to fiber `index` (kNone: back to the scheduler); returns when something switches
  // back to this fiber.
  void yield(std::size_t index = kNone);
  // From the running fiber, as its last act: to fiber `index` (kNone: the scheduler), for good.
  [[noreturn]] void finish(std::size_t index = kNone);

  static constexpr std::size_t kNone = ~std::size_t(0);

  ContextKind kind() const { return kind_; }
  std::size_t capacity() const { return capacity_; }

 private:
  struct Slot;
  static void fiber_main(void* slot);  // the first code a fiber runs, on its own stack
  static void ucontext_entry();
  // Saves the running fiber's context in `from` (null: it ends) and continues `to` (kNone: the scheduler).
  void transfer(Slot* from, std::size_t to);

  ContextKind kind_;
  std::size_t capacity_, stack_bytes_, mapping_bytes_ = 0;
  unsigned char* mapping_ = nullptr;
  std::vector<Slot> slots_;
  std::unique_ptr<struct SchedulerContext> scheduler_;
  std::size_t running_ = 0;
};

}  // namespace vit::emu
