// The CUDA runtime subset vit uses, on the emulated device: the functions declared by NVIDIA's own
// cuda_runtime_api.h, defined here (a test binary links this instead of libcudart).
//
//   device memory   aligned host memory (posix_memalign, so AddressSanitizer sees overruns), filled with 0xff
//                   bytes (NaN in every float type) so reads of never-written memory show in results; copies
//                   and memsets check that device ranges lie inside one allocation (cudaErrorInvalidValue)
//   streams         one in-order queue for all of them (internal.hpp); the work runs when the host waits
//   copies          to the host wait for the queue (pageable memory: CUDA returns once the data has arrived);
//                   from the host stage the source at the call (CUDA returns once it has been read)
//   events          time stamps taken when the queue reaches them
//   errors          per-thread last error; a failed kernel (a hazard) is sticky, as a real kernel fault is,
//                   and cudaGetErrorString's text for it carries the first hazard
//   the devices     one (VIT_EMU_DEVICES: more; VIT_EMU_INIT_ERROR: none, every call fails instead), compute
//                   capability 9.0, warps of 32, 1024 threads and 48 KB (227 KB opt-in) of shared memory per
//                   block; memory and streams belong to the device current when they were made, and a kernel
//                   whose pointer arguments reach another device's memory is a hazard (no peer access)
#include <sys/sysinfo.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "internal.hpp"

struct CUstream_st {
  unsigned flags = 0;
  int device = 0;
};
struct CUevent_st {
  bool recorded = false, complete = false;
  std::chrono::steady_clock::time_point time;
};

namespace vit::emu {

namespace {

struct ErrorInfo {
  cudaError_t code;
  const char *name, *text;
};
constexpr ErrorInfo kErrors[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInitializationError, "cudaErrorInitializationError", "initialization error"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration", "invalid configuration argument"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorInvalidDevicePointer, "cudaErrorInvalidDevicePointer", "invalid device pointer"},
    {cudaErrorInvalidMemcpyDirection, "cudaErrorInvalidMemcpyDirection", "invalid copy direction for memcpy"},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {cudaErrorNotReady, "cudaErrorNotReady", "device not ready"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
    {cudaErrorNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {cudaErrorInsufficientDriver, "cudaErrorInsufficientDriver",
     "CUDA driver version is insufficient for CUDA runtime version"},
    {cudaErrorInvalidDeviceFunction, "cudaErrorInvalidDeviceFunction", "invalid device function"},
    {cudaErrorNotSupported, "cudaErrorNotSupported", "operation not supported"},
    {cudaErrorIllegalAddress, "cudaErrorIllegalAddress", "an illegal memory access was encountered"},
};

const ErrorInfo* error_info(cudaError_t code) {
  for (const ErrorInfo& info : kErrors)
    if (info.code == code) return &info;
  return nullptr;
}

// ---- Settings ----

std::mutex settings_mutex;

Settings read_environment() {
  Settings settings;
  if (const char* order = std::getenv("VIT_EMU_ORDER")) {
    if (!parse_order(order, settings.order, settings.seed)) {
      std::fprintf(stderr, "CUDA emulator: VIT_EMU_ORDER=%s is not forward, reverse or random[:SEED]\n", order);
      std::exit(2);
    }
  }
  if (const char* seed = std::getenv("VIT_EMU_SEED")) settings.seed = std::strtoull(seed, nullptr, 10);
  settings.workers = std::max(1u, std::thread::hardware_concurrency());
  if (const char* threads = std::getenv("VIT_EMU_THREADS"))
    settings.workers = unsigned(std::max(1l, std::atol(threads)));
  if (const char* context = std::getenv("VIT_EMU_CONTEXT"))
    settings.context = std::string(context) == "ucontext" ? ContextKind::Ucontext : ContextKind::Assembly;
  if (const char* stack = std::getenv("VIT_EMU_STACK_KB"))
    settings.stack_bytes = std::size_t(std::max(16l, std::atol(stack))) * 1024;
  if (const char* error = std::getenv("VIT_EMU_INIT_ERROR")) settings.init_error = error;
  if (const char* devices = std::getenv("VIT_EMU_DEVICES")) settings.devices = int(std::max(1l, std::atol(devices)));
  return settings;
}

Settings& mutable_settings() {
  static Settings settings = read_environment();
  return settings;
}

// ---- Hazards ----

std::mutex hazards_mutex;
std::vector<std::string> hazard_list;

// ---- The device ----

struct Allocation {
  std::size_t bytes;
  bool pinned_host;  // cudaMallocHost
  int device;        // current when it was allocated
};

struct Device {
  std::mutex mutex;        // everything below but the queue's execution
  std::mutex drain_mutex;  // one thread runs the queue at a time
  std::deque<std::function<cudaError_t()>> queue;
  cudaError_t sticky = cudaSuccess;
  std::string sticky_text;
  std::map<std::uintptr_t, Allocation> allocations;
  std::size_t allocated = 0;
  std::set<cudaStream_t> streams;
  std::set<cudaEvent_t> events;
  std::map<const void*, std::size_t> shared_limits;  // cudaFuncAttributeMaxDynamicSharedMemorySize
  std::uint64_t launches = 0;
};

Device& device() {
  static Device* instance = new Device;  // never destroyed: worker threads may outlive static destructors
  return *instance;
}

thread_local cudaError_t tls_last_error = cudaSuccess;
thread_local int tls_device = 0;

cudaError_t fail(cudaError_t error) {
  if (error != cudaSuccess) tls_last_error = error;
  return error;
}

cudaError_t init_error() {
  const std::string name = settings().init_error;
  if (name.empty()) return cudaSuccess;
  for (const ErrorInfo& info : kErrors)
    if (name == info.name) return info.code;
  return cudaErrorInitializationError;
}

}  // namespace

namespace internal {

cudaError_t precondition() {
  if (const cudaError_t error = init_error()) return error;
  std::lock_guard<std::mutex> lock(device().mutex);
  return device().sticky;
}

}  // namespace internal

namespace {

// Runs the queue to the end (work queued meanwhile by other threads included).
cudaError_t drain() {
  Device& dev = device();
  std::lock_guard<std::mutex> drain_lock(dev.drain_mutex);
  for (;;) {
    std::function<cudaError_t()> work;
    {
      std::lock_guard<std::mutex> lock(dev.mutex);
      if (dev.sticky != cudaSuccess) {
        dev.queue.clear();  // a failed device runs nothing more
        return dev.sticky;
      }
      if (dev.queue.empty()) return cudaSuccess;
      work = std::move(dev.queue.front());
      dev.queue.pop_front();
    }
    if (const cudaError_t error = work()) {
      std::lock_guard<std::mutex> lock(dev.mutex);
      dev.sticky = error;
      const ErrorInfo* info = error_info(error);
      std::lock_guard<std::mutex> hazards_lock(hazards_mutex);
      dev.sticky_text = std::string(info ? info->text : "error") +
                        (hazard_list.empty() ? "" : " (CUDA emulator: " + hazard_list.front() + ")");
    }
  }
}

// A stream of the current device (the default streams are every device's own).
bool valid_stream(cudaStream_t stream) {
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) return true;
  std::lock_guard<std::mutex> lock(device().mutex);
  return device().streams.count(stream) > 0 && stream->device == tls_device;
}

}  // namespace

int internal::allocation_device(const void* pointer) {
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  std::lock_guard<std::mutex> lock(device().mutex);
  auto it = device().allocations.upper_bound(address);
  if (it == device().allocations.begin()) return -1;
  --it;
  return !it->second.pinned_host && address < it->first + it->second.bytes ? it->second.device : -1;
}

int internal::current_device() { return tls_device; }

bool internal::in_device_memory(const void* pointer, std::size_t bytes) {
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  std::lock_guard<std::mutex> lock(device().mutex);
  auto it = device().allocations.upper_bound(address);
  if (it == device().allocations.begin()) return false;
  --it;
  return !it->second.pinned_host && address + bytes <= it->first + it->second.bytes;
}

namespace {

bool is_device_pointer(const void* pointer) { return internal::in_device_memory(pointer, 1); }

}  // namespace

// ---- emulator.hpp ----

Settings settings() {
  std::lock_guard<std::mutex> lock(settings_mutex);
  return mutable_settings();
}

void set_order(Order order, std::uint64_t seed) {
  std::lock_guard<std::mutex> lock(settings_mutex);
  mutable_settings().order = order;
  mutable_settings().seed = seed;
}

void set_context(ContextKind context) {
  std::lock_guard<std::mutex> lock(settings_mutex);
  mutable_settings().context = context;
}

void set_devices(int devices) {
  std::lock_guard<std::mutex> lock(settings_mutex);
  mutable_settings().devices = std::max(1, devices);
}

std::string order_name(Order order) {
  switch (order) {
    case Order::Forward:
      return "forward";
    case Order::Reverse:
      return "reverse";
    case Order::Random:
      return "random";
  }
  return "?";
}

bool parse_order(const std::string& text, Order& order, std::uint64_t& seed) {
  if (text == "forward") {
    order = Order::Forward;
  } else if (text == "reverse") {
    order = Order::Reverse;
  } else if (text == "random") {
    order = Order::Random;
  } else if (text.rfind("random:", 0) == 0 && text.size() > 7) {
    order = Order::Random;
    seed = std::strtoull(text.c_str() + 7, nullptr, 10);
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> hazards() {
  std::lock_guard<std::mutex> lock(hazards_mutex);
  return hazard_list;
}

void reset() {
  (void)drain();
  Device& dev = device();
  std::lock_guard<std::mutex> lock(dev.mutex);
  dev.queue.clear();
  dev.launches = 0;  // random orders repeat from here as in a fresh process
  dev.sticky = cudaSuccess;
  dev.sticky_text.clear();
  tls_last_error = cudaSuccess;
  std::lock_guard<std::mutex> hazards_lock(hazards_mutex);
  hazard_list.clear();
}

Statistics statistics() {
  const internal::Counters& counters = internal::counters();
  return Statistics{counters.launches.load(), counters.blocks.load(), counters.threads.load(), counters.resumes.load()};
}

namespace internal {

void record_hazard(const std::string& message) {
  std::lock_guard<std::mutex> lock(hazards_mutex);
  hazard_list.push_back(message);
  constexpr std::size_t kPrinted = 5;
  if (hazard_list.size() <= kPrinted)
    std::fprintf(stderr, "CUDA emulator: HAZARD in %s\n", message.c_str());
  else if (hazard_list.size() == kPrinted + 1)
    std::fprintf(stderr, "CUDA emulator: more hazards (not printed; vit::emu::hazards() has them all)\n");
}

Counters& counters() {
  static Counters instance;
  return instance;
}

void enqueue(std::function<cudaError_t()> work) {
  std::lock_guard<std::mutex> lock(device().mutex);
  device().queue.push_back(std::move(work));
}

}  // namespace internal

// ---- Kernel launches (device.hpp) ----

cudaError_t submit_kernel(KernelLaunch launch) {
  if (const cudaError_t error = internal::precondition()) return fail(error);
  const dim3 grid = launch.grid, block = launch.block;
  const std::uint64_t threads = std::uint64_t(block.x) * block.y * block.z;
  if (threads == 0 || threads > kMaxThreadsPerBlock || block.x > 1024 || block.y > 1024 || block.z > 64 ||
      grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535)
    return fail(cudaErrorInvalidConfiguration);
  if (!valid_stream(launch.stream)) return fail(cudaErrorInvalidResourceHandle);
  std::uint64_t launch_seed = 0;
  {
    std::lock_guard<std::mutex> lock(device().mutex);
    const auto limit = device().shared_limits.find(launch.kernel);
    const std::size_t allowed = limit == device().shared_limits.end() ? kDefaultSharedBytes : limit->second;
    if (launch.shared_bytes > allowed) return fail(cudaErrorInvalidValue);
    launch_seed = ++device().launches;
  }
  for (std::size_t i = 0; i < launch.pointers.size(); ++i) {
    const int owner = internal::allocation_device(launch.pointers[i]);
    if (owner >= 0 && owner != tls_device) {
      internal::record_hazard("kernel " + std::string(launch.name) + " launched at " + launch.file + ":" +
                              std::to_string(launch.line) + " on device " + std::to_string(tls_device) +
                              ", but its pointer argument " + std::to_string(i + 1) + " is in device " +
                              std::to_string(owner) + "'s memory (a GPU without peer access faults)");
      internal::enqueue([] { return cudaErrorIllegalAddress; });
      return cudaSuccess;
    }
  }
  const Settings current = settings();
  launch_seed = launch_seed * 0x9e3779b97f4a7c15ull ^ current.seed;
  internal::enqueue([launch = std::move(launch), current, launch_seed] {
    return internal::execute(launch, current, launch_seed) ? cudaSuccess : cudaErrorLaunchFailure;
  });
  return cudaSuccess;
}

}  // namespace vit::emu

using vit::emu::drain;
using vit::emu::fail;
using vit::emu::internal::precondition;

// ---- cuda_runtime_api.h ----

extern "C" {

cudaError_t cudaGetLastError(void) {
  const cudaError_t sticky = precondition();
  const cudaError_t last = vit::emu::tls_last_error;
  vit::emu::tls_last_error = cudaSuccess;
  return sticky != cudaSuccess ? sticky : last;
}

cudaError_t cudaPeekAtLastError(void) {
  const cudaError_t sticky = precondition();
  return sticky != cudaSuccess ? sticky : vit::emu::tls_last_error;
}

const char* cudaGetErrorName(cudaError_t error) {
  const vit::emu::ErrorInfo* info = vit::emu::error_info(error);
  return info ? info->name : "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  vit::emu::Device& dev = vit::emu::device();
  {
    std::lock_guard<std::mutex> lock(dev.mutex);
    if (error == dev.sticky && !dev.sticky_text.empty()) return dev.sticky_text.c_str();  // valid until reset()
  }
  const vit::emu::ErrorInfo* info = vit::emu::error_info(error);
  return info ? info->text : "unrecognized error code";
}

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return fail(cudaErrorInvalidValue);
  if (const cudaError_t error = vit::emu::init_error()) {
    *count = 0;
    return fail(error);
  }
  *count = vit::emu::settings().devices;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (const cudaError_t error = vit::emu::init_error()) return fail(error);
  if (device == nullptr) return fail(cudaErrorInvalidValue);
  *device = vit::emu::tls_device;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (const cudaError_t error = vit::emu::init_error()) return fail(error);
  if (device < 0 || device >= vit::emu::settings().devices) return fail(cudaErrorInvalidDevice);
  vit::emu::tls_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp* properties, int device) {
  if (const cudaError_t error = vit::emu::init_error()) return fail(error);
  if (properties == nullptr) return fail(cudaErrorInvalidValue);
  if (device < 0 || device >= vit::emu::settings().devices) return fail(cudaErrorInvalidDevice);
  *properties = cudaDeviceProp{};
  std::snprintf(properties->name, sizeof properties->name, "vit CUDA emulator (CPU, %u threads)",
                vit::emu::settings().workers);
  struct sysinfo info {};
  sysinfo(&info);
  properties->totalGlobalMem = std::size_t(info.totalram) * info.mem_unit;
  properties->sharedMemPerBlock = vit::emu::kDefaultSharedBytes;
  properties->sharedMemPerBlockOptin = vit::emu::kMaxSharedBytes;
  properties->sharedMemPerMultiprocessor = vit::emu::kMaxSharedBytes + 1024;
  properties->regsPerBlock = 65536;
  properties->warpSize = vit::emu::kWarpSize;
  properties->maxThreadsPerBlock = int(vit::emu::kMaxThreadsPerBlock);
  properties->maxThreadsDim[0] = 1024;
  properties->maxThreadsDim[1] = 1024;
  properties->maxThreadsDim[2] = 64;
  properties->maxGridSize[0] = 0x7fffffff;
  properties->maxGridSize[1] = 65535;
  properties->maxGridSize[2] = 65535;
  properties->major = 9;
  properties->minor = 0;
  properties->multiProcessorCount = int(vit::emu::settings().workers);
  properties->maxThreadsPerMultiProcessor = 2048;
  properties->unifiedAddressing = 1;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attribute, int device) {
  if (const cudaError_t error = vit::emu::init_error()) return fail(error);
  if (value == nullptr) return fail(cudaErrorInvalidValue);
  if (device < 0 || device >= vit::emu::settings().devices) return fail(cudaErrorInvalidDevice);
  cudaDeviceProp properties;
  (void)cudaGetDeviceProperties(&properties, device);
  switch (attribute) {
    case cudaDevAttrMaxThreadsPerBlock:
      *value = properties.maxThreadsPerBlock;
      return cudaSuccess;
    case cudaDevAttrWarpSize:
      *value = properties.warpSize;
      return cudaSuccess;
    case cudaDevAttrMultiProcessorCount:
      *value = properties.multiProcessorCount;
      return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor:
      *value = properties.major;
      return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor:
      *value = properties.minor;
      return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock:
      *value = int(properties.sharedMemPerBlock);
      return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = int(properties.sharedMemPerBlockOptin);
      return cudaSuccess;
    default:
      return fail(cudaErrorNotSupported);  // e.g. clock rates and bus widths: an emulator has none
  }
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (version == nullptr) return fail(cudaErrorInvalidValue);
  *version = vit::emu::init_error() == cudaErrorInsufficientDriver ? 0 : CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return fail(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (free_bytes == nullptr || total_bytes == nullptr) return fail(cudaErrorInvalidValue);
  cudaDeviceProp properties;
  (void)cudaGetDeviceProperties(&properties, 0);
  std::lock_guard<std::mutex> lock(vit::emu::device().mutex);
  *total_bytes = properties.totalGlobalMem;
  *free_bytes = properties.totalGlobalMem - std::min(properties.totalGlobalMem, vit::emu::device().allocated);
  return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* function, enum cudaFuncAttribute attribute, int value) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (attribute != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;  // hints: nothing to emulate
  if (value < 0 || std::size_t(value) > vit::emu::kMaxSharedBytes) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(vit::emu::device().mutex);
  vit::emu::device().shared_limits[function] = std::size_t(value);
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** pointer, size_t bytes) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (pointer == nullptr) return fail(cudaErrorInvalidValue);
  *pointer = nullptr;
  if (bytes == 0) return cudaSuccess;
  void* memory = nullptr;
  if (posix_memalign(&memory, 256, bytes) != 0) return fail(cudaErrorMemoryAllocation);
  std::memset(memory, 0xff, bytes);
  std::lock_guard<std::mutex> lock(vit::emu::device().mutex);
  vit::emu::device().allocations[reinterpret_cast<std::uintptr_t>(memory)] = {bytes, false, vit::emu::tls_device};
  vit::emu::device().allocated += bytes;
  *pointer = memory;
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** pointer, size_t bytes) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (pointer == nullptr) return fail(cudaErrorInvalidValue);
  void* memory = nullptr;
  if (posix_memalign(&memory, 256, std::max<size_t>(bytes, 1)) != 0) return fail(cudaErrorMemoryAllocation);
  std::lock_guard<std::mutex> lock(vit::emu::device().mutex);
  vit::emu::device().allocations[reinterpret_cast<std::uintptr_t>(memory)] = {bytes, true, -1};
  *pointer = memory;
  return cudaSuccess;
}

static cudaError_t free_allocation(void* pointer, bool pinned_host) {
  if (pointer == nullptr) return cudaSuccess;
  const cudaError_t drained = drain();  // cudaFree waits for the device
  vit::emu::Device& dev = vit::emu::device();
  {
    std::lock_guard<std::mutex> lock(dev.mutex);
    const auto it = dev.allocations.find(reinterpret_cast<std::uintptr_t>(pointer));
    if (it == dev.allocations.end() || it->second.pinned_host != pinned_host) return fail(cudaErrorInvalidValue);
    if (!pinned_host) dev.allocated -= it->second.bytes;
    dev.allocations.erase(it);
  }
  std::free(pointer);
  return fail(drained);
}

cudaError_t cudaFree(void* pointer) { return free_allocation(pointer, false); }
cudaError_t cudaFreeHost(void* pointer) { return free_allocation(pointer, true); }

cudaError_t cudaMemcpyAsync(void* destination, const void* source, size_t bytes, enum cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (!vit::emu::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  if (kind == cudaMemcpyDefault)
    kind = vit::emu::is_device_pointer(destination)
               ? (vit::emu::is_device_pointer(source) ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
               : (vit::emu::is_device_pointer(source) ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  const bool to_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool from_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind != cudaMemcpyHostToDevice && kind != cudaMemcpyDeviceToHost && kind != cudaMemcpyDeviceToDevice &&
      kind != cudaMemcpyHostToHost)
    return fail(cudaErrorInvalidMemcpyDirection);
  if ((to_device && !vit::emu::internal::in_device_memory(destination, bytes)) ||
      (from_device && !vit::emu::internal::in_device_memory(source, bytes)))
    return fail(cudaErrorInvalidValue);
  if (kind == cudaMemcpyHostToDevice) {
    // Staged now: the caller may reuse its buffer as soon as this returns.
    auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(source),
                                                               static_cast<const unsigned char*>(source) + bytes);
    vit::emu::internal::enqueue([destination, staged] {
      std::memcpy(destination, staged->data(), staged->size());
      return cudaSuccess;
    });
    return cudaSuccess;
  }
  if (kind == cudaMemcpyDeviceToDevice) {
    vit::emu::internal::enqueue([destination, source, bytes] {
      std::memmove(destination, source, bytes);
      return cudaSuccess;
    });
    return cudaSuccess;
  }
  // To the host: the data is there when this returns.
  if (const cudaError_t error = drain()) return fail(error);
  std::memcpy(destination, source, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* destination, const void* source, size_t bytes, enum cudaMemcpyKind kind) {
  const cudaError_t error = cudaMemcpyAsync(destination, source, bytes, kind, nullptr);
  return error != cudaSuccess ? error : fail(drain());
}

cudaError_t cudaMemsetAsync(void* pointer, int value, size_t bytes, cudaStream_t stream) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (!vit::emu::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  if (!vit::emu::internal::in_device_memory(pointer, bytes)) return fail(cudaErrorInvalidValue);
  vit::emu::internal::enqueue([pointer, value, bytes] {
    std::memset(pointer, value, bytes);
    return cudaSuccess;
  });
  return cudaSuccess;
}

cudaError_t cudaMemset(void* pointer, int value, size_t bytes) {
  const cudaError_t error = cudaMemsetAsync(pointer, value, bytes, nullptr);
  return error != cudaSuccess ? error : fail(drain());
}

cudaError_t cudaDeviceSynchronize(void) {
  if (const cudaError_t error = precondition()) return fail(error);
  return fail(drain());
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (stream == nullptr) return fail(cudaErrorInvalidValue);
  *stream = new CUstream_st{flags, vit::emu::tls_device};
  std::lock_guard<std::mutex> lock(vit::emu::device().mutex);
  vit::emu::device().streams.insert(*stream);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (stream == nullptr) return fail(cudaErrorInvalidResourceHandle);
  {
    std::lock_guard<std::mutex> lock(vit::emu::device().mutex);
    if (vit::emu::device().streams.erase(stream) == 0) return fail(cudaErrorInvalidResourceHandle);
  }
  delete stream;  // its queued work stays queued, as CUDA finishes it
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (!vit::emu::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return fail(drain());
}

cudaError_t cudaStreamQuery(cudaStream_t stream) { return cudaStreamSynchronize(stream); }

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (!vit::emu::valid_stream(stream) || event == nullptr) return fail(cudaErrorInvalidResourceHandle);
  return cudaSuccess;  // one queue: everything queued before is done first anyway
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (event == nullptr) return fail(cudaErrorInvalidValue);
  *event = new CUevent_st;
  std::lock_guard<std::mutex> lock(vit::emu::device().mutex);
  vit::emu::device().events.insert(*event);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  {
    std::lock_guard<std::mutex> lock(vit::emu::device().mutex);
    if (vit::emu::device().events.erase(event) == 0) return fail(cudaErrorInvalidResourceHandle);
  }
  (void)drain();  // a queued record must not touch the freed event
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (!vit::emu::valid_stream(stream) || event == nullptr) return fail(cudaErrorInvalidResourceHandle);
  event->recorded = true;
  event->complete = false;
  vit::emu::internal::enqueue([event] {
    event->time = std::chrono::steady_clock::now();
    event->complete = true;
    return cudaSuccess;
  });
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (event == nullptr) return fail(cudaErrorInvalidResourceHandle);
  return fail(drain());
}

cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (const cudaError_t error = precondition()) return fail(error);
  if (ms == nullptr || start == nullptr || end == nullptr) return fail(cudaErrorInvalidValue);
  if (!start->recorded || !end->recorded) return fail(cudaErrorInvalidResourceHandle);
  if (!start->complete || !end->complete) return fail(cudaErrorNotReady);
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}

}  // extern "C"
