// Fiber switching for the CUDA emulator: see fiber.hpp.
#include "fiber.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define VIT_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VIT_EMU_ASAN 1
#endif
#endif
#if defined(VIT_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__x86_64__)
// vit_emu_switch_context(save, load): pushes the callee-saved registers on the current stack, stores the stack
// pointer in *save, loads `load` as the stack pointer and pops the same frame from it. A fresh fiber's stack
// is laid out (FiberPool::start) so that this pop "returns" into vit_emu_fiber_trampoline with r12 = its
// argument and r13 = the function to call. The MXCSR and x87 control words, callee-saved too by the ABI, are
// not switched: fldcw alone cost more than the rest of the switch, and nothing in a kernel changes rounding
// modes (CUDA code has no way to), so every fiber runs with its OS thread's.
extern "C" void vit_emu_switch_context(void** save, void* load);
extern "C" void vit_emu_fiber_trampoline();
asm(R"(
  .pushsection .text
  .p2align 4
  .globl vit_emu_switch_context
  .hidden vit_emu_switch_context
  .type vit_emu_switch_context, @function
vit_emu_switch_context:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size vit_emu_switch_context, .-vit_emu_switch_context

  .p2align 4
  .globl vit_emu_fiber_trampoline
  .hidden vit_emu_fiber_trampoline
  .type vit_emu_fiber_trampoline, @function
vit_emu_fiber_trampoline:
  endbr64
  movq %r12, %rdi
  callq *%r13
  ud2
  .size vit_emu_fiber_trampoline, .-vit_emu_fiber_trampoline
  .popsection
)");
#endif

namespace vit::emu {

struct SchedulerContext {
  void* stack_pointer = nullptr;  // assembly switch
  ucontext_t context{};           // ucontext fallback
  // AddressSanitizer's view of the scheduler's own stack (the OS thread's, from pthread_getattr_np).
  void* fake_stack = nullptr;
  const void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
};

struct FiberPool::Slot {
  FiberPool* pool = nullptr;
  unsigned char* stack_bottom = nullptr;  // lowest usable address; the guard page is just below
  void* stack_pointer = nullptr;
  std::unique_ptr<ucontext_t> context;
  void (*entry)(void*) = nullptr;
  void* argument = nullptr;
  void* fake_stack = nullptr;  // AddressSanitizer's fake stack of this fiber while it is switched out
  // AddressSanitizer: the lowest address of the frames live when the fiber last switched out. Those frames
  // never return (a fiber ends by switching away for good), so their redzones stay poisoned until start().
  unsigned char* live_from = nullptr;
  bool fresh = false;  // started, not yet resumed (the ucontext path passes the slot by a thread-local)
};

namespace {

thread_local void* tls_starting_slot = nullptr;  // ucontext_entry's argument

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("CUDA emulator: " + what); }

}  // namespace

FiberPool::FiberPool(ContextKind kind, std::size_t capacity, std::size_t stack_bytes)
    : kind_(kind), capacity_(capacity), slots_(capacity), scheduler_(std::make_unique<SchedulerContext>()) {
#if !defined(__x86_64__)
  kind_ = ContextKind::Ucontext;  // the hand-written switch exists for x86-64 only
#endif
  const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
  stack_bytes_ = (stack_bytes + page - 1) / page * page;
  const std::size_t stride = stack_bytes_ + page;  // guard page + stack
  mapping_bytes_ = stride * capacity_;
  void* mapping =
      mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapping == MAP_FAILED) fail("cannot map " + std::to_string(mapping_bytes_) + " bytes of fiber stacks");
  mapping_ = static_cast<unsigned char*>(mapping);
  for (std::size_t i = 0; i < capacity_; ++i) {
    unsigned char* guard = mapping_ + i * stride;
    if (mprotect(guard, page, PROT_NONE) != 0) fail("cannot protect a fiber stack's guard page");
    slots_[i].pool = this;
    slots_[i].stack_bottom = guard + page;
  }
#if defined(VIT_EMU_ASAN)
  // The stack of the OS thread that owns the pool, where the scheduler runs (ASan needs its bounds).
  pthread_attr_t attributes;
  void* bottom = nullptr;
  if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
    pthread_attr_getstack(&attributes, &bottom, &scheduler_->stack_size);
    pthread_attr_destroy(&attributes);
  }
  scheduler_->stack_bottom = bottom;
#endif
}

FiberPool::~FiberPool() {
  if (mapping_ != nullptr) munmap(mapping_, mapping_bytes_);
}

// Entered from the trampoline (assembly) or from ucontext_entry.
void FiberPool::fiber_main(void* slot_pointer) {
  auto* slot = static_cast<Slot*>(slot_pointer);
  FiberPool* pool = slot->pool;
#if defined(VIT_EMU_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
  slot->entry(slot->argument);
  pool->finish();
}

void FiberPool::ucontext_entry() { fiber_main(tls_starting_slot); }

void FiberPool::start(std::size_t index, void (*entry)(void*), void* argument) {
  Slot& slot = slots_[index];
#if defined(VIT_EMU_ASAN)
  // The previous fiber on this stack left its last frames' redzones poisoned (see Slot::live_from).
  if (slot.live_from != nullptr) {
    unsigned char* from = std::max(slot.stack_bottom, slot.live_from);
    __asan_unpoison_memory_region(from, std::size_t(slot.stack_bottom + stack_bytes_ - from));
    slot.live_from = nullptr;
  }
#endif
  slot.entry = entry;
  slot.argument = argument;
  slot.fake_stack = nullptr;
  slot.fresh = true;
  unsigned char* top = slot.stack_bottom + stack_bytes_;  // page aligned, so 16-byte aligned
  if (kind_ == ContextKind::Assembly) {
#if defined(__x86_64__)
    // The frame vit_emu_switch_context pops: r15, r14, r13, r12, rbx, rbp, return address. After the return
    // the stack pointer is `top`, 16-byte aligned, as the trampoline's call needs.
    auto* frame = reinterpret_cast<std::uint64_t*>(top) - 7;
    frame[0] = 0;                                                           // r15
    frame[1] = 0;                                                           // r14
    frame[2] = reinterpret_cast<std::uint64_t>(&FiberPool::fiber_main);     // r13: what the trampoline calls
    frame[3] = reinterpret_cast<std::uint64_t>(&slot);                      // r12: its argument
    frame[4] = 0;                                                           // rbx
    frame[5] = 0;                                                           // rbp (ends backtraces)
    frame[6] = reinterpret_cast<std::uint64_t>(&vit_emu_fiber_trampoline);  // "return" address
    slot.stack_pointer = frame;
#endif
  } else {
    if (!slot.context) slot.context = std::make_unique<ucontext_t>();
    if (getcontext(slot.context.get()) != 0) fail("getcontext failed");
    slot.context->uc_stack.ss_sp = slot.stack_bottom;
    slot.context->uc_stack.ss_size = stack_bytes_;
    slot.context->uc_link = nullptr;
    makecontext(slot.context.get(), &FiberPool::ucontext_entry, 0);
  }
}

void FiberPool::resume(std::size_t index) {
  Slot& slot = slots_[index];
  running_ = index;
#if defined(VIT_EMU_ASAN)
  __sanitizer_start_switch_fiber(&scheduler_->fake_stack, slot.stack_bottom, stack_bytes_);
#endif
  const bool fresh = std::exchange(slot.fresh, false);
  if (kind_ == ContextKind::Assembly) {
#if defined(__x86_64__)
    vit_emu_switch_context(&scheduler_->stack_pointer, slot.stack_pointer);
#endif
  } else {
    if (fresh) tls_starting_slot = &slot;
    if (swapcontext(&scheduler_->context, slot.context.get()) != 0) fail("swapcontext failed");
  }
#if defined(VIT_EMU_ASAN)
  __sanitizer_finish_switch_fiber(scheduler_->fake_stack, nullptr, nullptr);
#endif
}

void FiberPool::transfer(Slot* from, std::size_t to) {
  Slot* target = to == kNone ? nullptr : &slots_[to];
#if defined(VIT_EMU_ASAN)
  // This frame and the switch below it are the deepest of the fiber switching out (a margin covers them).
  slots_[running_].live_from = static_cast<unsigned char*>(__builtin_frame_address(0)) - 1024;
#endif
  if (target != nullptr) running_ = to;
#if defined(VIT_EMU_ASAN)
  __sanitizer_start_switch_fiber(from != nullptr ? &from->fake_stack : nullptr,
                                 target != nullptr ? target->stack_bottom : scheduler_->stack_bottom,
                                 target != nullptr ? stack_bytes_ : scheduler_->stack_size);
#endif
  const bool fresh = target != nullptr && std::exchange(target->fresh, false);
  if (kind_ == ContextKind::Assembly) {
#if defined(__x86_64__)
    void* ended = nullptr;  // where an ending fiber's context goes: nowhere
    vit_emu_switch_context(from != nullptr ? &from->stack_pointer : &ended,
                           target != nullptr ? target->stack_pointer : scheduler_->stack_pointer);
#endif
  } else {
    if (fresh) tls_starting_slot = target;
    ucontext_t* next = target != nullptr ? target->context.get() : &scheduler_->context;
    if (from == nullptr) setcontext(next);
    if (swapcontext(from->context.get(), next) != 0) fail("swapcontext failed");
  }
#if defined(VIT_EMU_ASAN)
  __sanitizer_finish_switch_fiber(from->fake_stack, nullptr, nullptr);  // back in `from`
#endif
}

void FiberPool::yield(std::size_t index) { transfer(&slots_[running_], index); }

void FiberPool::finish(std::size_t index) {
  transfer(nullptr, index);
  std::abort();  // never resumed: start() gives the slot a new frame first
}

}  // namespace vit::emu
