// The device side of the CUDA emulator: what a kernel source needs in order to compile with the host compiler
// and run on the emulated device. An emulated translation unit includes this header FIRST, then the kernels
// unchanged (tests/cuda_emu/vit_cuda_emulated.cpp: this, then kernels/vit_cuda.cu).
//
//   - __shared__ becomes `static thread_local`: a block runs on one OS thread at a time and all its CUDA threads
//     (fibers) share that thread's copy, so each block sees its own shared memory. It must be defined before the
//     CUDA headers, which otherwise define it away. Static shared memory is not reset between blocks, like the
//     hardware's. Dynamic shared memory is vit::kernels::dynamic_shared<T>(count) (kernels/common.cuh).
//   - threadIdx, blockIdx, blockDim, gridDim are per-OS-thread variables the scheduler sets before it resumes a
//     CUDA thread (all four are uint3; warpSize is 32).
//   - __syncthreads(_count/_and/_or), __syncwarp and the *_sync warp collectives call the scheduler (block.cpp)
//     with their call site (GCC's __builtin_FILE/__builtin_LINE as default arguments), so a hazard report
//     names the line.
//   - __half and __nv_bfloat16 are NVIDIA's own (cuda_fp16.h, cuda_bf16.h), whose conversions work in host
//     code and round exactly as the device does. Math functions (expf, erff, ...) are the host C library's:
//     within an ulp or two of the device's, not bit-identical.
//   - VIT_CUDA_LAUNCH (include/vit/cuda/kernel_launch.cuh) expands to vit::emu::launcher(...)(args...).
// Not emulated: __CUDA_ARCH__ (not defined: code under it is not compiled), texture/surface memory,
// cooperative groups, inline PTX (mma.sync, ldmatrix, cp.async belong behind small device functions that
// have an emulated version), and preemption (a thread that spins waiting for another never yields).
#pragma once

#if defined(__CUDACC__)
#error "tests/cuda_emu is for the host compiler; nvcc builds the kernels for a real GPU"
#endif

#if defined(__HOST_DEFINES_H__) && !defined(VIT_CUDA_EMULATION)
#error "include emulator/device.hpp before any CUDA header: it has to define __shared__ first"
#endif

#define VIT_CUDA_EMULATION 1
#define __shared__ static thread_local
#define __launch_bounds__(...)

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

// The built-in variables of the CUDA thread the scheduler is running on this OS thread.
extern __thread uint3 vit_emu_thread_idx;
extern __thread uint3 vit_emu_block_idx;
extern __thread uint3 vit_emu_block_dim;
extern __thread uint3 vit_emu_grid_dim;
// Copies (prvalues), so kernels cannot assign to them; and no reference to a thread-local variable, whose null
// check GCC 12's UBSan gets wrong after a fiber switch (it tests stale flags).
#define threadIdx (uint3(vit_emu_thread_idx))
#define blockIdx (uint3(vit_emu_block_idx))
#define blockDim (uint3(vit_emu_block_dim))
#define gridDim (uint3(vit_emu_grid_dim))
constexpr int warpSize = 32;

namespace vit::emu {

constexpr int kWarpSize = 32;
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr std::size_t kDefaultSharedBytes = 48 * 1024;  // dynamic shared memory without cudaFuncSetAttribute
constexpr std::size_t kMaxSharedBytes = 227 * 1024;     // the opt-in limit of sm_90

enum class Collective : std::uint8_t {
  Shuffle,
  ShuffleUp,
  ShuffleDown,
  ShuffleXor,
  SyncWarp,
  Ballot,
  Any,
  All,
  ReduceAdd,
  ReduceMinUnsigned,
  ReduceMaxUnsigned,
  ReduceMinSigned,
  ReduceMaxSigned,
  ActiveMask,  // the lanes that reach it together (block.hpp)
};
enum class Barrier : std::uint8_t { Plain, Count, And, Or };

// Called by the calling CUDA thread (block.cpp). A collective returns this lane's result once every lane in
// `mask` has arrived at a collective of the same kind and mask; a barrier returns once every thread of the
// block has arrived at the same call site. Anything else is a hazard: the block stops and the launch fails.
std::uint64_t warp_collective(Collective kind, unsigned mask, std::uint64_t value, int operand, int width,
                              const char* file, int line);
int block_barrier(Barrier kind, int predicate, const char* file, int line);
void* dynamic_shared(std::size_t bytes, std::size_t alignment, const char* file, int line);

// One kernel launch as the runtime queues it (runtime.cpp). run_thread runs the kernel body for the current
// CUDA thread, with its own copies of the arguments (as by-value kernel parameters).
struct KernelLaunch {
  const void* kernel = nullptr;  // identity, for cudaFuncSetAttribute limits
  dim3 grid, block;
  std::size_t shared_bytes = 0;
  cudaStream_t stream = nullptr;
  const char* name = "";  // the kernel as written at the launch
  const char* file = "";  // the launch site
  int line = 0;
  std::vector<const void*> pointers;  // the pointer arguments, to check which device's memory they reach
  std::function<void()> run_thread;
};

// Checks the configuration (errors reach cudaGetLastError, as for <<<...>>>) and queues the launch.
cudaError_t submit_kernel(KernelLaunch launch);

template <class... Params>
class Launcher {
 public:
  using Kernel = void (*)(Params...);
  Launcher(Kernel kernel, dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream, const char* name,
           const char* file, int line)
      : kernel_(kernel),
        grid_(grid),
        block_(block),
        shared_bytes_(shared_bytes),
        stream_(stream),
        name_(name),
        file_(file),
        line_(line) {}

  template <class... Args>
  void operator()(Args&&... args) const {
    static_assert(sizeof...(Args) == sizeof...(Params), "kernel launched with the wrong number of arguments");
    // Converted to the parameter types once, at the launch, as the CUDA runtime copies kernel arguments.
    auto arguments = std::make_shared<std::tuple<std::decay_t<Params>...>>(std::forward<Args>(args)...);
    KernelLaunch launch;
    launch.kernel = reinterpret_cast<const void*>(kernel_);
    launch.grid = grid_;
    launch.block = block_;
    launch.shared_bytes = shared_bytes_;
    launch.stream = stream_;
    launch.name = name_;
    launch.file = file_;
    launch.line = line_;
    std::apply(
        [&launch](const auto&... argument) {
          (
              [&launch](const auto& value) {
                if constexpr (std::is_pointer_v<std::decay_t<decltype(value)>>)
                  launch.pointers.push_back(static_cast<const void*>(value));
              }(argument),
              ...);
        },
        *arguments);
    launch.run_thread = [kernel = kernel_, arguments] { std::apply(kernel, *arguments); };
    (void)submit_kernel(std::move(launch));
  }

 private:
  Kernel kernel_;
  dim3 grid_, block_;
  std::size_t shared_bytes_;
  cudaStream_t stream_;
  const char *name_, *file_;
  int line_;
};

template <class... Params>
Launcher<Params...> launcher(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes,
                             cudaStream_t stream, const char* name, const char* file, int line) {
  return Launcher<Params...>(kernel, grid, block, shared_bytes, stream, name, file, line);
}

template <class T>
std::uint64_t to_bits(T value) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "warp collectives move at most 8 bytes");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  return bits;
}

template <class T>
T from_bits(std::uint64_t bits) {
  T value;
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

}  // namespace vit::emu

// ---- Barriers and warp collectives ----

inline void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  (void)::vit::emu::block_barrier(::vit::emu::Barrier::Plain, 1, file, line);
}
inline int __syncthreads_count(int predicate, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return ::vit::emu::block_barrier(::vit::emu::Barrier::Count, predicate, file, line);
}
inline int __syncthreads_and(int predicate, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return ::vit::emu::block_barrier(::vit::emu::Barrier::And, predicate, file, line);
}
inline int __syncthreads_or(int predicate, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return ::vit::emu::block_barrier(::vit::emu::Barrier::Or, predicate, file, line);
}
inline void __syncwarp(unsigned mask = 0xffffffffu, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  (void)::vit::emu::warp_collective(::vit::emu::Collective::SyncWarp, mask, 0, 0, warpSize, file, line);
}

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize, const char* file = __builtin_FILE(),
              int line = __builtin_LINE()) {
  return ::vit::emu::from_bits<T>(::vit::emu::warp_collective(::vit::emu::Collective::Shuffle, mask,
                                                              ::vit::emu::to_bits(var), src_lane, width, file, line));
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize, const char* file = __builtin_FILE(),
                 int line = __builtin_LINE()) {
  return ::vit::emu::from_bits<T>(::vit::emu::warp_collective(::vit::emu::Collective::ShuffleUp, mask,
                                                              ::vit::emu::to_bits(var), int(delta), width, file, line));
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize, const char* file = __builtin_FILE(),
                   int line = __builtin_LINE()) {
  return ::vit::emu::from_bits<T>(::vit::emu::warp_collective(::vit::emu::Collective::ShuffleDown, mask,
                                                              ::vit::emu::to_bits(var), int(delta), width, file, line));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize, const char* file = __builtin_FILE(),
                  int line = __builtin_LINE()) {
  return ::vit::emu::from_bits<T>(::vit::emu::warp_collective(::vit::emu::Collective::ShuffleXor, mask,
                                                              ::vit::emu::to_bits(var), lane_mask, width, file, line));
}
inline unsigned __ballot_sync(unsigned mask, int predicate, const char* file = __builtin_FILE(),
                              int line = __builtin_LINE()) {
  return unsigned(
      ::vit::emu::warp_collective(::vit::emu::Collective::Ballot, mask, predicate != 0, 0, warpSize, file, line));
}
inline int __any_sync(unsigned mask, int predicate, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return int(::vit::emu::warp_collective(::vit::emu::Collective::Any, mask, predicate != 0, 0, warpSize, file, line));
}
inline int __all_sync(unsigned mask, int predicate, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return int(::vit::emu::warp_collective(::vit::emu::Collective::All, mask, predicate != 0, 0, warpSize, file, line));
}
inline unsigned __reduce_add_sync(unsigned mask, unsigned value, const char* file = __builtin_FILE(),
                                  int line = __builtin_LINE()) {
  return unsigned(::vit::emu::warp_collective(::vit::emu::Collective::ReduceAdd, mask, value, 0, warpSize, file, line));
}
inline int __reduce_add_sync(unsigned mask, int value, const char* file = __builtin_FILE(),
                             int line = __builtin_LINE()) {
  return int(__reduce_add_sync(mask, unsigned(value), file, line));
}
inline unsigned __reduce_min_sync(unsigned mask, unsigned value, const char* file = __builtin_FILE(),
                                  int line = __builtin_LINE()) {
  return unsigned(
      ::vit::emu::warp_collective(::vit::emu::Collective::ReduceMinUnsigned, mask, value, 0, warpSize, file, line));
}
inline unsigned __reduce_max_sync(unsigned mask, unsigned value, const char* file = __builtin_FILE(),
                                  int line = __builtin_LINE()) {
  return unsigned(
      ::vit::emu::warp_collective(::vit::emu::Collective::ReduceMaxUnsigned, mask, value, 0, warpSize, file, line));
}
inline int __reduce_min_sync(unsigned mask, int value, const char* file = __builtin_FILE(),
                             int line = __builtin_LINE()) {
  return int(::vit::emu::warp_collective(::vit::emu::Collective::ReduceMinSigned, mask, unsigned(value), 0, warpSize,
                                         file, line));
}
inline int __reduce_max_sync(unsigned mask, int value, const char* file = __builtin_FILE(),
                             int line = __builtin_LINE()) {
  return int(::vit::emu::warp_collective(::vit::emu::Collective::ReduceMaxSigned, mask, unsigned(value), 0, warpSize,
                                         file, line));
}
// The lanes of this warp that reach __activemask together: every lane that has not returned and does not
// wait elsewhere (at a barrier, in another collective) by the time the others arrive (block.hpp).
inline unsigned __activemask(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return unsigned(::vit::emu::warp_collective(::vit::emu::Collective::ActiveMask, 0, 0, 0, warpSize, file, line));
}

// ---- Atomics (real atomics: blocks run concurrently on several OS threads) and fences ----

namespace vit::emu {
template <class T, class Update>
T atomic_update(T* address, Update update) {
  T old;
  __atomic_load(address, &old, __ATOMIC_RELAXED);
  T desired = update(old);
  while (!__atomic_compare_exchange(address, &old, &desired, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    desired = update(old);
  return old;
}
}  // namespace vit::emu

inline int atomicAdd(int* address, int value) { return __atomic_fetch_add(address, value, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* address, unsigned value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline float atomicAdd(float* address, float value) {
  return ::vit::emu::atomic_update(address, [value](float old) { return old + value; });
}
inline double atomicAdd(double* address, double value) {
  return ::vit::emu::atomic_update(address, [value](double old) { return old + value; });
}
inline int atomicSub(int* address, int value) { return __atomic_fetch_sub(address, value, __ATOMIC_RELAXED); }
inline unsigned atomicSub(unsigned* address, unsigned value) {
  return __atomic_fetch_sub(address, value, __ATOMIC_RELAXED);
}
template <class T>
T atomicExch(T* address, T value) {
  T old;
  __atomic_exchange(address, &value, &old, __ATOMIC_RELAXED);
  return old;
}
template <class T>
T atomicCAS(T* address, T compare, T value) {
  __atomic_compare_exchange(address, &compare, &value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;  // the old value either way
}
template <class T>
T atomicMin(T* address, T value) {
  return ::vit::emu::atomic_update(address, [value](T old) { return value < old ? value : old; });
}
template <class T>
T atomicMax(T* address, T value) {
  return ::vit::emu::atomic_update(address, [value](T old) { return value > old ? value : old; });
}
template <class T>
T atomicAnd(T* address, T value) {
  return __atomic_fetch_and(address, value, __ATOMIC_RELAXED);
}
template <class T>
T atomicOr(T* address, T value) {
  return __atomic_fetch_or(address, value, __ATOMIC_RELAXED);
}
template <class T>
T atomicXor(T* address, T value) {
  return __atomic_fetch_xor(address, value, __ATOMIC_RELAXED);
}
inline unsigned atomicInc(unsigned* address, unsigned limit) {
  return ::vit::emu::atomic_update(address, [limit](unsigned old) { return old >= limit ? 0u : old + 1; });
}
inline unsigned atomicDec(unsigned* address, unsigned limit) {
  return ::vit::emu::atomic_update(address,
                                   [limit](unsigned old) { return old == 0 || old > limit ? limit : old - 1; });
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

// ---- Integer, bit and float intrinsics ----

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(unsigned(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
  unsigned out = 0;
  for (int i = 0; i < 32; ++i) out |= ((x >> i) & 1u) << (31 - i);
  return out;
}
inline int __mul24(int a, int b) { return (a << 8 >> 8) * (b << 8 >> 8); }
inline unsigned __umul24(unsigned a, unsigned b) { return (a & 0xffffffu) * (b & 0xffffffu); }
inline int __mulhi(int a, int b) { return int((long long)a * b >> 32); }
inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((unsigned long long)a * b >> 32); }
inline float __int_as_float(int x) { return ::vit::emu::from_bits<float>(unsigned(x)); }
inline int __float_as_int(float x) { return int(std::uint32_t(::vit::emu::to_bits(x))); }
inline float __uint_as_float(unsigned x) { return ::vit::emu::from_bits<float>(x); }
inline unsigned __float_as_uint(float x) { return std::uint32_t(::vit::emu::to_bits(x)); }
inline double __longlong_as_double(long long x) { return ::vit::emu::from_bits<double>(std::uint64_t(x)); }
inline long long __double_as_longlong(double x) { return (long long)::vit::emu::to_bits(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return exp10f(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : (x == x ? x : 0.0f)); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline int __float2int_rn(float x) { return int(nearbyintf(x)); }
inline int __float2int_rz(float x) { return int(x); }
inline float __int2float_rn(int x) { return float(x); }
template <class T>
T __ldg(const T* address) {
  return *address;
}
