// Running a kernel launch: its blocks spread over OS threads (the caller and a pool of workers), each OS thread
// running one block at a time with its own BlockRunner (its fibers, and its copy of the kernels' static
// __shared__ arrays). Blocks are taken in the thread order too (forward, reverse, shuffled), so blocks that
// depend on each other's writes show it.
#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "block.hpp"
#include "internal.hpp"

namespace vit::emu::internal {

namespace {

// Threads that run `work` together with the caller, kept between launches.
class WorkerPool {
 public:
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  // Runs work() on the caller and on `helpers` pool threads; returns when all have returned.
  void run(unsigned helpers, const std::function<void()>& work) {
    if (helpers == 0) {
      work();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (workers_.size() < helpers) workers_.emplace_back([this] { loop(); });
      work_ = &work;
      unclaimed_ = helpers;
      running_ = helpers;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return running_ == 0; });
    work_ = nullptr;
  }

 private:
  void loop() {
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || (generation_ != seen && unclaimed_ > 0); });
      if (stop_) return;
      seen = generation_;
      --unclaimed_;
      const std::function<void()>* work = work_;
      lock.unlock();
      (*work)();
      lock.lock();
      if (--running_ == 0) done_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void()>* work_ = nullptr;
  std::uint64_t generation_ = 0;
  unsigned unclaimed_ = 0, running_ = 0;
  bool stop_ = false;
};

WorkerPool& pool() {
  static WorkerPool instance;
  return instance;
}

thread_local std::unique_ptr<BlockRunner> tls_block_runner;

BlockRunner& block_runner(const Settings& settings) {
  if (!tls_block_runner || tls_block_runner->context() != settings.context)
    tls_block_runner = std::make_unique<BlockRunner>(settings.context, settings.stack_bytes);
  return *tls_block_runner;
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser: a block's seed from the launch's
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

bool execute(const KernelLaunch& launch, const Settings& settings, std::uint64_t launch_seed) {
  const std::uint64_t blocks = std::uint64_t(launch.grid.x) * launch.grid.y * launch.grid.z;
  const std::uint64_t threads_per_block = std::uint64_t(launch.block.x) * launch.block.y * launch.block.z;
  // The order blocks are taken in; a permutation only for the random order (and grids of sane size).
  std::vector<std::uint32_t> shuffled;
  if (settings.order == Order::Random && blocks <= (1u << 24)) {
    shuffled.resize(blocks);
    for (std::uint32_t i = 0; i < blocks; ++i) shuffled[i] = i;
    std::uint64_t state = launch_seed;
    for (std::uint64_t i = blocks; i > 1; --i) std::swap(shuffled[i - 1], shuffled[mix(++state) % i]);
  }
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  const auto work = [&] {
    BlockRunner& runner = block_runner(settings);
    std::uint64_t resumes = 0, done = 0;
    while (!failed.load(std::memory_order_relaxed)) {
      const std::uint64_t taken = next.fetch_add(1, std::memory_order_relaxed);
      if (taken >= blocks) break;
      const std::uint64_t id = !shuffled.empty()                  ? shuffled[taken]
                               : settings.order == Order::Reverse ? blocks - 1 - taken
                                                                  : taken;
      const uint3 index{unsigned(id % launch.grid.x), unsigned(id / launch.grid.x % launch.grid.y),
                        unsigned(id / (std::uint64_t(launch.grid.x) * launch.grid.y))};
      ++done;
      if (!runner.run(launch, index, settings.order, mix(launch_seed ^ (id + 1)), &resumes))
        failed.store(true, std::memory_order_relaxed);
    }
    counters().resumes += resumes;
    counters().blocks += done;
    counters().threads += done * threads_per_block;
  };
  const unsigned helpers = unsigned(std::min<std::uint64_t>(settings.workers, blocks)) - 1;
  pool().run(helpers, work);
  ++counters().launches;
  return !failed.load();
}

}  // namespace vit::emu::internal
