// The emulator itself, with small kernels written here: CUDA's semantics where kernels rely on them (barriers
// that count, shuffles with widths, votes, sub-warp masks, atomics, dynamic shared memory, launch limits,
// streams and copies, cuBLAS), the thread orders, both fiber switches, and one test per kind of hazard,
// which must stop the launch with a report and a failing synchronisation.
#include "emulator/device.hpp"  // first: kernels below
//
#include <cublas_v2.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "emulator/emulator.hpp"
#include "kernels/common.cuh"
#include "vit/cuda/check.cuh"
#include "vit/cuda/kernel_launch.cuh"

namespace {

constexpr unsigned kFull = 0xffffffffu;

// Device memory holding `count` values of T, copied back to the host on request (synchronising).
template <class T>
class Buffer {
 public:
  explicit Buffer(std::size_t count, T fill = T{}) : count_(count) {
    VIT_CUDA_CHECK(cudaMalloc(&data_, count * sizeof(T)));
    const std::vector<T> values(count, fill);
    VIT_CUDA_CHECK(cudaMemcpy(data_, values.data(), count * sizeof(T), cudaMemcpyHostToDevice));
  }
  explicit Buffer(const std::vector<T>& values) : Buffer(values.size()) {
    VIT_CUDA_CHECK(cudaMemcpy(data_, values.data(), values.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~Buffer() { (void)cudaFree(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* get() const { return data_; }
  std::vector<T> host() const {
    std::vector<T> values(count_);
    VIT_CUDA_CHECK(cudaMemcpy(values.data(), data_, count_ * sizeof(T), cudaMemcpyDeviceToHost));
    return values;
  }

 private:
  T* data_ = nullptr;
  std::size_t count_;
};

// Runs `launch` expecting a hazard: the synchronisation fails (with `error`) with the hazard in its text,
// hazards() holds it, and after reset() the device works again. Returns the hazard's text.
template <class Launch>
std::string expect_hazard(Launch&& launch, cudaError_t error = cudaErrorLaunchFailure) {
  vit::emu::reset();
  launch();
  REQUIRE(cudaGetLastError() == cudaSuccess);  // the configuration was fine: the failure comes at the wait
  const cudaError_t status = cudaDeviceSynchronize();
  CHECK(status == error);
  const std::vector<std::string> found = vit::emu::hazards();
  REQUIRE(found.size() >= 1);
  CHECK_THAT(std::string(cudaGetErrorString(status)), Catch::Contains(found.front()));
  CHECK(cudaMalloc(nullptr, 0) == error);  // sticky, as a real kernel fault
  vit::emu::reset();
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  return found.front();
}

const vit::emu::Order kOrders[] = {vit::emu::Order::Forward, vit::emu::Order::Reverse, vit::emu::Order::Random};

struct OrderScope {  // every test leaves the process in the forward order
  explicit OrderScope(vit::emu::Order order, std::uint64_t seed = 1) { vit::emu::set_order(order, seed); }
  ~OrderScope() { vit::emu::set_order(vit::emu::Order::Forward, 1); }
};

// ---- Kernels ----

// out[i] = in[(i + 1) mod n] through shared memory, with or without the barrier between write and read.
template <bool kBarrier>
__global__ void rotate_kernel(const int* in, int* out) {
  __shared__ int values[256];
  const int i = int(threadIdx.x), n = int(blockDim.x);
  values[i] = in[blockIdx.x * blockDim.x + threadIdx.x];
  if (kBarrier) __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = values[(i + 1) % n];
}

__global__ void barrier_votes_kernel(int* out) {
  const int i = int(threadIdx.x);
  out[4 * i + 0] = __syncthreads_count(i % 3 == 0);
  out[4 * i + 1] = __syncthreads_and(i >= 0);
  out[4 * i + 2] = __syncthreads_and(i != 5);
  out[4 * i + 3] = __syncthreads_or(i == 7);
}

// Every shuffle kind at one width: out[kind][thread], values are the lanes' own ids + 100.
__global__ void shuffle_kernel(int width, int operand, int* out) {
  const int i = int(threadIdx.x), value = 100 + i;
  out[0 * 32 + i] = __shfl_sync(kFull, value, operand, width);
  out[1 * 32 + i] = __shfl_up_sync(kFull, value, unsigned(operand), width);
  out[2 * 32 + i] = __shfl_down_sync(kFull, value, unsigned(operand), width);
  out[3 * 32 + i] = __shfl_xor_sync(kFull, value, operand, width);
}

__global__ void vote_kernel(unsigned* out) {
  const unsigned i = threadIdx.x;
  out[i * 8 + 0] = __ballot_sync(kFull, i % 4 == 1);
  out[i * 8 + 1] = unsigned(__any_sync(kFull, i == 9));
  out[i * 8 + 2] = unsigned(__all_sync(kFull, i < 32));
  out[i * 8 + 3] = unsigned(__all_sync(kFull, i < 31));
  out[i * 8 + 4] = __reduce_add_sync(kFull, i);
  out[i * 8 + 5] = __reduce_max_sync(kFull, i * 7 % 32);
  out[i * 8 + 6] = unsigned(__reduce_min_sync(kFull, int(i) - 16));
  __syncwarp();
  out[i * 8 + 7] = __activemask();
}

// Each side of a divergent branch sees its own lanes.
__global__ void divergent_active_mask_kernel(unsigned* out) {
  const unsigned lane = threadIdx.x;
  if (lane < 10) {
    out[lane] = __activemask();
  } else {
    __syncwarp(0xfffffc00u);
    out[lane] = __activemask();
  }
}

// The two halves of a warp shuffle independently, on disjoint masks, at different call sites.
__global__ void halves_kernel(float* out) {
  const int lane = int(threadIdx.x);
  float value = float(lane);
  if (lane < 16) {
    for (int offset = 8; offset > 0; offset /= 2) value += __shfl_xor_sync(0x0000ffffu, value, offset);
  } else {
    for (int offset = 1; offset < 16; offset *= 2)
      value = fmaxf(value, __shfl_down_sync(0xffff0000u, value, unsigned(offset), 16));
  }
  out[lane] = value;
}

__global__ void count_kernel(unsigned long long* counter, float* sum) {
  atomicAdd(counter, 1ull);
  atomicAdd(sum, 0.5f);
}

__global__ void index_kernel(unsigned* out) {
  const unsigned linear = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
  out[block * threads + linear] = (block << 16) | (linear << 4) | (__activemask() == kFull ? 1u : 0u);
}

// Which thread ran first, second, ...: each takes a ticket (threads of one block run one at a time).
__global__ void ticket_kernel(int* order, int* next) {
  order[atomicAdd(next, 1)] = int(threadIdx.x);
  __syncthreads();
  order[atomicAdd(next, 1)] = int(threadIdx.x);
}

__global__ void dynamic_shared_kernel(int count, float* out) {
  float* values = vit::kernels::dynamic_shared<float>(std::size_t(count));
  const int i = int(threadIdx.x);
  const bool untouched = values[i] != values[i];  // NaN: the emulator's fill for unwritten shared memory
  values[i] = float(i);
  __syncthreads();
  out[i] = values[count - 1 - i] + (untouched ? 0.0f : 1000.0f);
}

// Hazards.
__global__ void early_return_kernel(int* out) {
  if (threadIdx.x >= 48) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void two_barriers_kernel(int* out) {
  if (threadIdx.x < 32) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

__global__ void exit_during_shuffle_kernel(float* out) {
  if (threadIdx.x == 3) return;
  out[threadIdx.x] = __shfl_xor_sync(kFull, 1.0f, 1);
}

__global__ void mixed_collectives_kernel(unsigned* out) {
  if (threadIdx.x < 16)
    out[threadIdx.x] = unsigned(__shfl_sync(kFull, int(threadIdx.x), 0));
  else
    out[threadIdx.x] = __ballot_sync(kFull, 1);
}

__global__ void overlapping_masks_kernel(int* out) {
  const unsigned mask = threadIdx.x < 16 ? kFull : 0xffff0000u;  // lanes 16-31 are in both
  out[threadIdx.x] = __shfl_sync(mask, int(threadIdx.x), int(threadIdx.x));
}

__global__ void mask_without_self_kernel(int* out) { out[threadIdx.x] = __shfl_sync(0x1u, 1, 0); }

__global__ void source_outside_mask_kernel(int* out) {
  if (threadIdx.x < 8) out[threadIdx.x] = __shfl_sync(0xffu, int(threadIdx.x), 9);
}

__global__ void bad_width_kernel(int* out) { out[threadIdx.x] = __shfl_xor_sync(kFull, 1, 1, 24); }

// Lanes 0-15 wait in a shuffle for lanes 16-31, which wait at the barrier for lanes 0-15.
__global__ void deadlock_kernel(int* out) {
  if (threadIdx.x < 16) {
    out[threadIdx.x] = __shfl_xor_sync(kFull, 1, 1);
  } else {
    __syncthreads();
  }
}

__global__ void deadlock_in_warp_kernel(int* out) {
  if (threadIdx.x % 2 == 0)
    out[threadIdx.x] = __shfl_xor_sync(kFull, 1, 1);
  else
    __syncwarp(kFull);
}

}  // namespace

TEST_CASE("emulator: __syncthreads counts the whole block, and without it the thread order shows", "[emulator]") {
  const int blocks = 3, threads = 256;
  std::vector<int> input(blocks * threads);
  std::iota(input.begin(), input.end(), 0);
  const Buffer<int> in(input);
  std::vector<int> expected(input.size());
  for (int b = 0; b < blocks; ++b)
    for (int i = 0; i < threads; ++i)
      expected[std::size_t(b * threads + i)] = input[std::size_t(b * threads + (i + 1) % threads)];
  int wrong_orders = 0;
  for (const vit::emu::Order order : kOrders) {
    INFO("order " << vit::emu::order_name(order));
    const OrderScope scope(order);
    Buffer<int> out(input.size(), -1);
    VIT_CUDA_LAUNCH(blocks, threads, 0, nullptr, rotate_kernel<true>)(in.get(), out.get());
    CHECK(out.host() == expected);
    Buffer<int> racy(input.size(), -1);
    VIT_CUDA_LAUNCH(blocks, threads, 0, nullptr, rotate_kernel<false>)(in.get(), racy.get());
    wrong_orders += racy.host() != expected;
  }
  // Forward: thread i reads its neighbour's slot before the neighbour wrote it; reverse: it was written;
  // random: some of each. So the racy kernel is wrong in at least two orders.
  CHECK(wrong_orders >= 2);
  CHECK(vit::emu::hazards().empty());
}

TEST_CASE("emulator: __syncthreads_count, _and, _or", "[emulator]") {
  Buffer<int> out(4 * 64);
  VIT_CUDA_LAUNCH(1, 64, 0, nullptr, barrier_votes_kernel)(out.get());
  const std::vector<int> values = out.host();
  for (int i = 0; i < 64; ++i) {
    INFO("thread " << i);
    CHECK(values[std::size_t(4 * i + 0)] == 22);  // 0, 3, ..., 63
    CHECK(values[std::size_t(4 * i + 1)] == 1);
    CHECK(values[std::size_t(4 * i + 2)] == 0);
    CHECK(values[std::size_t(4 * i + 3)] == 1);
  }
}

TEST_CASE("emulator: shuffles follow CUDA's definitions at every width", "[emulator]") {
  const int width = GENERATE(32, 16, 8, 4, 2, 1);
  const int operand = GENERATE(0, 1, 3, 5, 17);
  INFO("width " << width << ", operand " << operand);
  Buffer<int> out(4 * 32);
  VIT_CUDA_LAUNCH(1, 32, 0, nullptr, shuffle_kernel)(width, operand, out.get());
  const std::vector<int> values = out.host();
  for (int lane = 0; lane < 32; ++lane) {
    INFO("lane " << lane);
    const int segment = lane / width * width;
    // The CUDA Programming Guide's definitions (warp shuffle functions).
    CHECK(values[std::size_t(lane)] == 100 + segment + operand % width);
    CHECK(values[std::size_t(32 + lane)] == 100 + (lane - operand >= segment ? lane - operand : lane));
    CHECK(values[std::size_t(64 + lane)] == 100 + (lane + operand < segment + width ? lane + operand : lane));
    const int partner = lane ^ operand;  // may read an earlier segment, never a later one
    CHECK(values[std::size_t(96 + lane)] == 100 + (partner < segment + width ? partner : lane));
  }
}

TEST_CASE("emulator: votes, reductions, __syncwarp, __activemask", "[emulator]") {
  Buffer<unsigned> out(8 * 32);
  VIT_CUDA_LAUNCH(1, 32, 0, nullptr, vote_kernel)(out.get());
  const std::vector<unsigned> values = out.host();
  for (unsigned i = 0; i < 32; ++i) {
    INFO("lane " << i);
    CHECK(values[i * 8 + 0] == 0x22222222u);
    CHECK(values[i * 8 + 1] == 1u);
    CHECK(values[i * 8 + 2] == 1u);
    CHECK(values[i * 8 + 3] == 0u);
    CHECK(values[i * 8 + 4] == 496u);
    CHECK(values[i * 8 + 5] == 31u);
    CHECK(values[i * 8 + 6] == unsigned(-16));
    CHECK(values[i * 8 + 7] == kFull);
  }
}

TEST_CASE("emulator: __activemask gives the lanes that reach it together, in every order", "[emulator]") {
  for (const vit::emu::Order order : kOrders) {
    INFO("order " << vit::emu::order_name(order));
    const OrderScope scope(order);
    Buffer<unsigned> out(32);
    VIT_CUDA_LAUNCH(1, 32, 0, nullptr, divergent_active_mask_kernel)(out.get());
    const std::vector<unsigned> values = out.host();
    for (unsigned lane = 0; lane < 32; ++lane) CHECK(values[lane] == (lane < 10 ? 0x3ffu : 0xfffffc00u));
  }
}

TEST_CASE("emulator: disjoint masks in one warp proceed independently", "[emulator]") {
  for (const vit::emu::Order order : kOrders) {
    const OrderScope scope(order);
    Buffer<float> out(32);
    VIT_CUDA_LAUNCH(1, 32, 0, nullptr, halves_kernel)(out.get());
    const std::vector<float> values = out.host();
    for (int lane = 0; lane < 16; ++lane) CHECK(values[std::size_t(lane)] == 120.0f);  // 0 + ... + 15
    CHECK(values[16] == 31.0f);  // the maximum of lanes 16-31, in lane 16 (shfl_down, width 16)
  }
  CHECK(vit::emu::hazards().empty());
}

TEST_CASE("emulator: atomics are atomic across blocks on several OS threads", "[emulator]") {
  Buffer<unsigned long long> counter(1, 0);
  Buffer<float> sum(1, 0.0f);
  VIT_CUDA_LAUNCH(dim3(40, 3), 128, 0, nullptr, count_kernel)(counter.get(), sum.get());
  CHECK(counter.host()[0] == 40ull * 3 * 128);
  CHECK(sum.host()[0] == 0.5f * 40 * 3 * 128);  // exact: every partial sum is a multiple of 0.5 below 2^24
}

TEST_CASE("emulator: 3-D grids and blocks number threads as CUDA does", "[emulator]") {
  const dim3 grid(3, 2, 2), block(8, 4, 3);
  const unsigned threads = 96, blocks = 12;
  Buffer<unsigned> out(threads * blocks);
  VIT_CUDA_LAUNCH(grid, block, 0, nullptr, index_kernel)(out.get());
  const std::vector<unsigned> values = out.host();
  for (unsigned b = 0; b < blocks; ++b)
    for (unsigned t = 0; t < threads; ++t) {
      // 96 threads = 3 full warps, so every lane sees a full __activemask.
      CHECK(values[b * threads + t] == ((b << 16) | (t << 4) | 1u));
    }
}

TEST_CASE("emulator: thread orders are forward, reverse and seeded random", "[emulator]") {
  const auto run = [](vit::emu::Order order, std::uint64_t seed) {
    vit::emu::reset();  // launch counts restart: the same launches get the same permutations
    const OrderScope scope(order, seed);
    Buffer<int> order_out(128), next(1, 0);
    VIT_CUDA_LAUNCH(1, 64, 0, nullptr, ticket_kernel)(order_out.get(), next.get());
    return order_out.host();
  };
  std::vector<int> ascending(64), descending(64);
  std::iota(ascending.begin(), ascending.end(), 0);
  std::reverse_copy(ascending.begin(), ascending.end(), descending.begin());
  const std::vector<int> forward = run(vit::emu::Order::Forward, 1), reverse = run(vit::emu::Order::Reverse, 1);
  CHECK(std::vector<int>(forward.begin(), forward.begin() + 64) == ascending);
  CHECK(std::vector<int>(forward.begin() + 64, forward.end()) == ascending);
  CHECK(std::vector<int>(reverse.begin(), reverse.begin() + 64) == descending);
  const std::vector<int> random = run(vit::emu::Order::Random, 7);
  const std::vector<int> first_round(random.begin(), random.begin() + 64),
      second_round(random.begin() + 64, random.end());
  CHECK(first_round != ascending);
  CHECK(first_round != descending);
  CHECK(first_round != second_round);  // a new permutation after the barrier
  CHECK(std::is_permutation(first_round.begin(), first_round.end(), ascending.begin()));
  CHECK(run(vit::emu::Order::Random, 7) == random);  // the seed decides
  CHECK(run(vit::emu::Order::Random, 8) != random);
}

TEST_CASE("emulator: both fiber switches give the same results", "[emulator]") {
  const vit::emu::ContextKind original = vit::emu::settings().context;
  std::vector<std::vector<int>> results;
  for (const vit::emu::ContextKind kind : {vit::emu::ContextKind::Assembly, vit::emu::ContextKind::Ucontext}) {
    vit::emu::set_context(kind);
    const int blocks = 4, threads = 256;
    std::vector<int> input(blocks * threads);
    std::iota(input.begin(), input.end(), 5);
    const Buffer<int> in(input);
    Buffer<int> out(input.size());
    VIT_CUDA_LAUNCH(blocks, threads, 0, nullptr, rotate_kernel<true>)(in.get(), out.get());
    Buffer<int> shuffled(4 * 32);
    VIT_CUDA_LAUNCH(1, 32, 0, nullptr, shuffle_kernel)(8, 3, shuffled.get());
    std::vector<int> all = out.host(), more = shuffled.host();
    all.insert(all.end(), more.begin(), more.end());
    results.push_back(all);
  }
  vit::emu::set_context(original);
  CHECK(results[0] == results[1]);
}

TEST_CASE("emulator: dynamic shared memory: limits, opt-in, NaN fill", "[emulator]") {
  Buffer<float> out(64);
  VIT_CUDA_LAUNCH(1, 64, 64 * sizeof(float), nullptr, dynamic_shared_kernel)(64, out.get());
  const std::vector<float> values = out.host();
  for (int i = 0; i < 64; ++i) CHECK(values[std::size_t(i)] == float(63 - i));  // and it read NaN before writing

  // More than the default 48 KB: refused at the launch, accepted after cudaFuncSetAttribute.
  VIT_CUDA_LAUNCH(1, 64, 64 * 1024, nullptr, dynamic_shared_kernel)(64, out.get());
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaSuccess);  // not sticky
  VIT_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(&dynamic_shared_kernel),
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
  VIT_CUDA_LAUNCH(1, 64, 64 * 1024, nullptr, dynamic_shared_kernel)(64, out.get());
  CHECK(cudaGetLastError() == cudaSuccess);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);

  // A kernel that uses more than its launch asked for.
  const std::string hazard = expect_hazard([&] {
    VIT_CUDA_LAUNCH(1, 64, 32 * sizeof(float), nullptr, dynamic_shared_kernel)
    (64, out.get());
  });
  CHECK_THAT(hazard, Catch::Contains("256 bytes of dynamic shared memory") && Catch::Contains("launch gave 128"));
}

TEST_CASE("emulator: launch configurations CUDA refuses", "[emulator]") {
  Buffer<int> out(2048);
  VIT_CUDA_LAUNCH(1, 1025, 0, nullptr, early_return_kernel)(out.get());
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  VIT_CUDA_LAUNCH(0, 32, 0, nullptr, early_return_kernel)(out.get());
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  VIT_CUDA_LAUNCH(dim3(1, 65536), 32, 0, nullptr, early_return_kernel)(out.get());
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  VIT_CUDA_LAUNCH(1, dim3(32, 1, 65), 0, nullptr, early_return_kernel)(out.get());
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);  // none of them ran, none failed the device
}

TEST_CASE("emulator: memory, copies, streams and events", "[emulator]") {
  void* device = nullptr;
  VIT_CUDA_CHECK(cudaMalloc(&device, 100));
  std::vector<unsigned char> bytes(100);
  VIT_CUDA_CHECK(cudaMemcpy(bytes.data(), device, 100, cudaMemcpyDeviceToHost));
  CHECK(std::all_of(bytes.begin(), bytes.end(), [](unsigned char b) { return b == 0xff; }));  // NaN fill
  // Ranges must stay inside one allocation.
  CHECK(cudaMemcpy(device, bytes.data(), 101, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaMemsetAsync(static_cast<char*>(device) + 50, 0, 51, nullptr) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(bytes.data(), bytes.data() + 1, 10, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
  CHECK(cudaFree(bytes.data()) == cudaErrorInvalidValue);

  // In order on a stream: memset, host upload, device copy, then the download sees all of them.
  cudaStream_t stream = nullptr;
  VIT_CUDA_CHECK(cudaStreamCreate(&stream));
  cudaEvent_t start = nullptr, stop = nullptr;
  VIT_CUDA_CHECK(cudaEventCreate(&start));
  VIT_CUDA_CHECK(cudaEventCreate(&stop));
  VIT_CUDA_CHECK(cudaEventRecord(start, stream));
  VIT_CUDA_CHECK(cudaMemsetAsync(device, 7, 100, stream));
  std::vector<unsigned char> source(10, 42);
  VIT_CUDA_CHECK(cudaMemcpyAsync(device, source.data(), 10, cudaMemcpyHostToDevice, stream));
  source.assign(10, 0);  // the copy staged the bytes when it was queued
  VIT_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(device) + 90, device, 10, cudaMemcpyDeviceToDevice, stream));
  VIT_CUDA_CHECK(cudaEventRecord(stop, stream));
  float ms = -1;
  CHECK(cudaEventElapsedTime(&ms, start, stop) == cudaErrorNotReady);  // nothing has run yet
  VIT_CUDA_CHECK(cudaMemcpyAsync(bytes.data(), device, 100, cudaMemcpyDeviceToHost, stream));
  CHECK(bytes[0] == 42);
  CHECK(bytes[50] == 7);
  CHECK(bytes[95] == 42);
  VIT_CUDA_CHECK(cudaEventSynchronize(stop));
  VIT_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  CHECK(ms >= 0.0f);
  VIT_CUDA_CHECK(cudaEventDestroy(start));
  VIT_CUDA_CHECK(cudaEventDestroy(stop));
  VIT_CUDA_CHECK(cudaStreamDestroy(stream));
  CHECK(cudaStreamSynchronize(stream) == cudaErrorInvalidResourceHandle);
  VIT_CUDA_CHECK(cudaFree(device));
}

TEST_CASE("emulator: cublasGemmEx in every transpose and dtype, fp32 accumulation", "[emulator]") {
  const cublasOperation_t transa = GENERATE(CUBLAS_OP_N, CUBLAS_OP_T), transb = GENERATE(CUBLAS_OP_N, CUBLAS_OP_T);
  const cudaDataType type = GENERATE(CUDA_R_32F, CUDA_R_16F, CUDA_R_16BF);
  const int m = 13, n = 7, k = 29, lda = (transa == CUBLAS_OP_N ? m : k) + 3, ldb = (transb == CUBLAS_OP_N ? k : n) + 1,
            ldc = m + 2;
  INFO("transa " << transa << ", transb " << transb << ", type " << type);
  // Inputs hold small integers, exact in every type, so the fp32 result is exact too.
  std::mt19937 generator(3);
  std::uniform_int_distribution<int> small(-8, 8);
  const auto make = [&](int count) {
    std::vector<float> values(static_cast<std::size_t>(count));
    for (float& value : values) value = float(small(generator));
    return values;
  };
  const int a_cols = transa == CUBLAS_OP_N ? k : m, b_cols = transb == CUBLAS_OP_N ? n : k;
  const std::vector<float> a = make(lda * a_cols), b = make(ldb * b_cols), c = make(ldc * n);
  const auto op_a = [&](int i, int l) {
    return transa == CUBLAS_OP_N ? a[std::size_t(i + l * lda)] : a[std::size_t(l + i * lda)];
  };
  const auto op_b = [&](int l, int j) {
    return transb == CUBLAS_OP_N ? b[std::size_t(l + j * ldb)] : b[std::size_t(j + l * ldb)];
  };
  const auto encode = [&](const std::vector<float>& values) {
    std::vector<unsigned char> bytes(values.size() * (type == CUDA_R_32F ? 4 : 2));
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (type == CUDA_R_32F) std::memcpy(bytes.data() + 4 * i, &values[i], 4);
      if (type == CUDA_R_16F) reinterpret_cast<__half*>(bytes.data())[i] = __float2half_rn(values[i]);
      if (type == CUDA_R_16BF) reinterpret_cast<__nv_bfloat16*>(bytes.data())[i] = __float2bfloat16_rn(values[i]);
    }
    return Buffer<unsigned char>(bytes);
  };
  const Buffer<unsigned char> device_a = encode(a), device_b = encode(b);
  const Buffer<float> device_c(c);
  cublasHandle_t handle = nullptr;
  REQUIRE(cublasCreate(&handle) == CUBLAS_STATUS_SUCCESS);
  const float alpha = 2.0f, beta = -1.0f;
  REQUIRE(cublasGemmEx(handle, transa, transb, m, n, k, &alpha, device_a.get(), type, lda, device_b.get(), type, ldb,
                       &beta, device_c.get(), CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F,
                       CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
  const std::vector<float> result = device_c.host();
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < ldc; ++i) {
      float expected = c[std::size_t(i + j * ldc)];  // rows past m are left alone
      if (i < m) {
        float dot = 0;
        for (int l = 0; l < k; ++l) dot += op_a(i, l) * op_b(l, j);
        expected = alpha * dot + beta * expected;
      }
      CHECK(result[std::size_t(i + j * ldc)] == expected);
    }
  // A matrix reaching past its allocation is a device fault at the next synchronisation.
  const std::string hazard = expect_hazard(
      [&] {
        CHECK(cublasGemmEx(handle, transa, transb, m, n + 1, k, &alpha, device_a.get(), type, lda, device_b.get(), type,
                           ldb, &beta, device_c.get(), CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F,
                           CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
      },
      cudaErrorIllegalAddress);
  CHECK_THAT(hazard,
             Catch::Contains("cublasGemmEx (m 13, n 8, k 29): a matrix reaches beyond its cudaMalloc allocation"));
  CHECK(cublasDestroy(handle) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE("emulator: memory and streams belong to a device, and kernels must not reach another's", "[emulator]") {
  vit::emu::set_devices(2);
  int count = 0;
  VIT_CUDA_CHECK(cudaGetDeviceCount(&count));
  CHECK(count == 2);
  VIT_CUDA_CHECK(cudaSetDevice(0));
  Buffer<int> on_first(64);
  cudaStream_t first_stream = nullptr;
  VIT_CUDA_CHECK(cudaStreamCreate(&first_stream));
  VIT_CUDA_CHECK(cudaSetDevice(1));
  CHECK(cudaMemsetAsync(on_first.get(), 0, 64, first_stream) == cudaErrorInvalidResourceHandle);
  const std::string hazard = expect_hazard(
      [&] {
        VIT_CUDA_LAUNCH(1, 64, 0, nullptr, barrier_votes_kernel)
        (on_first.get());
      },
      cudaErrorIllegalAddress);
  CHECK_THAT(hazard, Catch::Contains("on device 1, but its pointer argument 1 is in device 0's memory"));
  VIT_CUDA_CHECK(cudaSetDevice(0));
  VIT_CUDA_LAUNCH(1, 16, 0, first_stream, barrier_votes_kernel)(on_first.get());  // at home: fine
  VIT_CUDA_CHECK(cudaStreamSynchronize(first_stream));
  VIT_CUDA_CHECK(cudaStreamDestroy(first_stream));
  CHECK(cudaSetDevice(2) == cudaErrorInvalidDevice);
  vit::emu::set_devices(1);
}

// ---- Hazards: each stops the launch with a report ----

TEST_CASE("hazard: a barrier after some threads returned", "[emulator][hazard]") {
  Buffer<int> out(64);
  for (const vit::emu::Order order : kOrders) {
    const OrderScope scope(order);
    const std::string hazard = expect_hazard([&] {
      VIT_CUDA_LAUNCH(1, 64, 0, nullptr, early_return_kernel)
      (out.get());
    });
    CHECK_THAT(hazard, Catch::Contains("barrier after threads returned") &&
                           Catch::Contains("threads 0-47 wait at __syncthreads at tests/cuda_emu/test_emulator.cpp:") &&
                           Catch::Contains("threads 48-63 of the block have returned") &&
                           Catch::Contains("early_return_kernel"));
  }
}

TEST_CASE("hazard: barriers at different call sites in one round", "[emulator][hazard]") {
  Buffer<int> out(64);
  const std::string hazard = expect_hazard([&] { VIT_CUDA_LAUNCH(1, 64, 0, nullptr, two_barriers_kernel)(out.get()); });
  CHECK_THAT(hazard, Catch::Contains("different barriers") && Catch::Contains("threads 0-31 wait at __syncthreads") &&
                         Catch::Contains("threads 32-63 wait at __syncthreads"));
}

TEST_CASE("hazard: a lane returns while its warp waits for it", "[emulator][hazard]") {
  Buffer<float> out(32);
  for (const vit::emu::Order order : kOrders) {
    const OrderScope scope(order);
    const std::string hazard = expect_hazard([&] {
      VIT_CUDA_LAUNCH(1, 32, 0, nullptr, exit_during_shuffle_kernel)
      (out.get());
    });
    // Depending on the order, lane 3 returns before or after others arrive: either way it is named.
    CHECK_THAT(hazard, Catch::Contains("thread 3 (warp 0, lane 3) returns while lanes") ||
                           Catch::Contains("names lanes 3 that have returned"));
  }
}

TEST_CASE("hazard: mismatched collectives and masks", "[emulator][hazard]") {
  Buffer<unsigned> out(32);
  CHECK_THAT(expect_hazard([&] {
               VIT_CUDA_LAUNCH(1, 32, 0, nullptr, mixed_collectives_kernel)
               (out.get());
             }),
             Catch::Contains("mismatched warp collectives"));
  Buffer<int> ints(32);
  CHECK_THAT(
      expect_hazard([&] {
        VIT_CUDA_LAUNCH(1, 32, 0, nullptr, overlapping_masks_kernel)
        (ints.get());
      }),
      Catch::Contains("mismatched warp collectives") && Catch::Contains("0xffff0000") && Catch::Contains("0xffffffff"));
  CHECK_THAT(expect_hazard([&] {
               VIT_CUDA_LAUNCH(1, 32, 0, nullptr, mask_without_self_kernel)
               (ints.get());
             }),
             Catch::Contains("whose mask leaves it out"));
  CHECK_THAT(expect_hazard([&] {
               VIT_CUDA_LAUNCH(1, 32, 0, nullptr, source_outside_mask_kernel)
               (ints.get());
             }),
             Catch::Contains("reads lane 9") && Catch::Contains("not in the mask"));
  CHECK_THAT(expect_hazard([&] {
               VIT_CUDA_LAUNCH(1, 32, 0, nullptr, bad_width_kernel)
               (ints.get());
             }),
             Catch::Contains("width 24, not a power of two"));
  CHECK_THAT(expect_hazard([&] {
               VIT_CUDA_LAUNCH(1, 16, 0, nullptr, bad_width_kernel)
               (ints.get());
             }),
             Catch::Contains("names lanes 16-31 that this block of 16 threads does not have"));
}

TEST_CASE("hazard: deadlocks are reported, not hung", "[emulator][hazard]") {
  Buffer<int> out(64);
  for (const vit::emu::Order order : kOrders) {
    const OrderScope scope(order);
    const std::string across = expect_hazard([&] { VIT_CUDA_LAUNCH(1, 32, 0, nullptr, deadlock_kernel)(out.get()); });
    CHECK_THAT(across, Catch::Contains("deadlock") && Catch::Contains("threads 16-31 wait at __syncthreads") &&
                           Catch::Contains("lanes 0-15 wait in __shfl_xor_sync (mask 0xffffffff)") &&
                           Catch::Contains("for lanes 16-31"));
  }
  const std::string in_warp = expect_hazard([&] {
    VIT_CUDA_LAUNCH(1, 32, 0, nullptr, deadlock_in_warp_kernel)
    (out.get());
  });
  CHECK_THAT(in_warp, Catch::Contains("mismatched warp collectives"));
}
