// The block scheduler of the CUDA emulator: see block.hpp.
#include "block.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "internal.hpp"

__thread uint3 vit_emu_thread_idx;
__thread uint3 vit_emu_block_idx;
__thread uint3 vit_emu_block_dim;
__thread uint3 vit_emu_grid_dim;

namespace vit::emu {

namespace {

constexpr std::size_t kNone = ~std::size_t(0);

struct Unwind {};  // thrown in a thread of a block stopped at a hazard, caught by BlockRunner::thread_main

thread_local BlockRunner* tls_runner = nullptr;  // the block this OS thread is running, if any

BlockRunner& runner(const char* what) {
  if (tls_runner == nullptr) {
    std::fprintf(stderr, "CUDA emulator: %s called outside a kernel\n", what);
    std::abort();
  }
  return *tls_runner;
}

const char* collective_name(Collective kind) {
  switch (kind) {
    case Collective::Shuffle:
      return "__shfl_sync";
    case Collective::ShuffleUp:
      return "__shfl_up_sync";
    case Collective::ShuffleDown:
      return "__shfl_down_sync";
    case Collective::ShuffleXor:
      return "__shfl_xor_sync";
    case Collective::SyncWarp:
      return "__syncwarp";
    case Collective::Ballot:
      return "__ballot_sync";
    case Collective::Any:
      return "__any_sync";
    case Collective::All:
      return "__all_sync";
    case Collective::ReduceAdd:
      return "__reduce_add_sync";
    case Collective::ReduceMinUnsigned:
    case Collective::ReduceMinSigned:
      return "__reduce_min_sync";
    case Collective::ReduceMaxUnsigned:
    case Collective::ReduceMaxSigned:
      return "__reduce_max_sync";
    case Collective::ActiveMask:
      return "__activemask";
  }
  return "?";
}

const char* barrier_name(Barrier kind) {
  switch (kind) {
    case Barrier::Plain:
      return "__syncthreads";
    case Barrier::Count:
      return "__syncthreads_count";
    case Barrier::And:
      return "__syncthreads_and";
    case Barrier::Or:
      return "__syncthreads_or";
  }
  return "?";
}

bool is_shuffle(Collective kind) {
  return kind == Collective::Shuffle || kind == Collective::ShuffleUp || kind == Collective::ShuffleDown ||
         kind == Collective::ShuffleXor;
}

// The lane a shuffle reads, as PTX's shfl.sync defines it: within segments of `width` lanes; a source outside
// the lane's segment (up: below it, down/xor: above it) reads the lane's own value. xor may reach into an
// earlier segment, as CUDA documents.
int shuffle_source(Collective kind, int lane, int operand, int width) {
  const int segment_mask = (32 - width) & 31;  // the lane bits that pick the segment
  const int first = lane & segment_mask;
  const int last = kind == Collective::ShuffleUp ? first : (first | (31 & ~segment_mask));
  int source = lane;
  bool in_range = false;
  switch (kind) {
    case Collective::ShuffleUp:
      source = lane - operand;
      in_range = operand >= 0 && operand < 32 && source >= last;
      break;
    case Collective::ShuffleDown:
      source = lane + operand;
      in_range = operand >= 0 && operand < 32 && source <= last;
      break;
    case Collective::ShuffleXor:
      source = lane ^ (operand & 31);
      in_range = source <= last;
      break;
    default:  // Shuffle
      source = first | (operand & 31 & ~segment_mask);
      in_range = source <= last;
      break;
  }
  return in_range ? source : lane;
}

// "0-31, 40, 42-43" from sorted indices.
std::string ranges(const std::vector<std::size_t>& indices) {
  std::ostringstream out;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    if (i > 0) out << ", ";
    out << indices[i];
    if (j > i) out << "-" << indices[j];
    i = j + 1;
  }
  return out.str();
}

std::string lanes(unsigned mask) {
  std::vector<std::size_t> list;
  for (std::size_t lane = 0; lane < 32; ++lane)
    if ((mask >> lane) & 1u) list.push_back(lane);
  return list.empty() ? std::string("none") : ranges(list);
}

std::string hex(unsigned mask) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", mask);
  return text;
}

std::string site_text(const char* file, int line) {
  std::string path = file;
  // Shorten to the project-relative path when the file is in this checkout.
  for (const char* root : {"/kernels/", "/include/", "/tests/"}) {
    const std::size_t at = path.rfind(root);
    if (at != std::string::npos) return path.substr(at + 1) + ":" + std::to_string(line);
  }
  return path + ":" + std::to_string(line);
}

std::uint64_t next_random(std::uint64_t& state) {  // splitmix64
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

// ---- The device-side entry points of device.hpp ----

std::uint64_t warp_collective(Collective kind, unsigned mask, std::uint64_t value, int operand, int width,
                              const char* file, int line) {
  return runner(collective_name(kind)).collective(kind, mask, value, operand, width, file, line);
}
int block_barrier(Barrier kind, int predicate, const char* file, int line) {
  return runner(barrier_name(kind)).barrier(kind, predicate, file, line);
}
void* dynamic_shared(std::size_t bytes, std::size_t alignment, const char* file, int line) {
  return runner("dynamic_shared").dynamic_shared(bytes, alignment, file, line);
}

// ---- BlockRunner ----

bool BlockRunner::Site::operator==(const Site& other) const {
  return line == other.line && (file == other.file || std::string(file) == other.file);
}

BlockRunner::BlockRunner(ContextKind context, std::size_t stack_bytes)
    : fibers_(context, kMaxThreadsPerBlock, stack_bytes),
      threads_(kMaxThreadsPerBlock),
      warps_(kMaxThreadsPerBlock / kWarpSize),
      order_(kMaxThreadsPerBlock),
      dynamic_shared_(new unsigned char[kMaxSharedBytes + 128]) {
  for (Warp& warp : warps_) warp.groups.reserve(kWarpSize);
}

bool BlockRunner::run(const KernelLaunch& launch, uint3 block_index, Order order, std::uint64_t seed,
                      std::uint64_t* resumes) {
  launch_ = &launch;
  block_index_ = block_index;
  order_kind_ = order;
  seed_ = seed;
  count_ = std::size_t(launch.block.x) * launch.block.y * launch.block.z;
  exited_ = at_barrier_ = 0;
  resumes_ = 0;
  aborted_ = unwinding_ = false;
  vit_emu_block_idx = block_index;
  vit_emu_block_dim = uint3{launch.block.x, launch.block.y, launch.block.z};
  vit_emu_grid_dim = uint3{launch.grid.x, launch.grid.y, launch.grid.z};
  const std::size_t bx = launch.block.x, by = launch.block.y;
  for (std::size_t i = 0; i < count_; ++i) {
    threads_[i] = Thread{};
    threads_[i].index = uint3{unsigned(i % bx), unsigned(i / bx % by), unsigned(i / (bx * by))};
    fibers_.start(i, &BlockRunner::thread_main, this);
  }
  for (std::size_t w = 0; w < (count_ + kWarpSize - 1) / kWarpSize; ++w) {
    const std::size_t lanes_here = std::min<std::size_t>(kWarpSize, count_ - w * kWarpSize);
    warps_[w].present = lanes_here == 32 ? 0xffffffffu : ((1u << lanes_here) - 1);
    warps_[w].exited = 0;
    warps_[w].active_mask_groups = 0;
    warps_[w].groups.clear();
  }
  // Uninitialised dynamic shared memory reads as NaN (every byte 0xff), so a kernel that reads before it
  // writes shows it in its results.
  if (launch.shared_bytes > 0) std::memset(shared_base(), 0xff, launch.shared_bytes);
  for (std::size_t i = 0; i < count_; ++i) order_[i] = std::uint32_t(order == Order::Reverse ? count_ - 1 - i : i);

  BlockRunner* const outer = tls_runner;
  tls_runner = this;
  std::uint64_t random_state = seed;
  bool finished = false;
  for (;;) {
    if (order == Order::Random)
      for (std::size_t i = count_ - 1; i > 0; --i)
        std::swap(order_[i], order_[std::size_t(next_random(random_state) % (i + 1))]);
    // A round: the threads hand over to each other (switch_away) and the last one of the round returns here.
    const std::size_t first = next_ready(0);
    if (first != kNone) {
      enter(first);
      fibers_.resume(current_);
    }
    if (aborted_) break;
    if (exited_ == count_) {
      finished = true;
      break;
    }
    if (at_barrier_ > 0 && at_barrier_ + exited_ == count_) {
      if (!release_barrier()) break;
      continue;
    }
    if (first == kNone && next_ready(0) == kNone) {
      hazard("deadlock: no thread can go on.\n" + describe_waiting());
      break;
    }
  }
  if (!finished) unwind();
  tls_runner = outer;
  *resumes += resumes_;
  return finished;
}

void BlockRunner::unwind() {
  unwinding_ = true;
  for (std::size_t i = 0; i < count_; ++i) {
    if (!threads_[i].started || threads_[i].status == Status::Exited) continue;
    current_ = i;
    fibers_.resume(i);  // it throws Unwind where it waits, and ends
  }
}

std::size_t BlockRunner::next_ready(std::size_t position) const {
  for (; position < count_; ++position)
    if (threads_[order_[position]].status == Status::Ready) return position;
  return kNone;
}

void BlockRunner::enter(std::size_t position) {
  position_ = position;
  current_ = order_[position];
  vit_emu_thread_idx = threads_[current_].index;
  threads_[current_].started = true;
  ++resumes_;
}

void BlockRunner::switch_away(bool exiting) {
  const std::size_t next = aborted_ ? kNone : next_ready(position_ + 1);
  std::size_t target = FiberPool::kNone;
  if (next != kNone) {
    enter(next);
    target = current_;
  }
  if (exiting) fibers_.finish(target);
  fibers_.yield(target);  // returns when a later round (or a thread in it) resumes this thread
  if (unwinding_) throw Unwind{};
}

void BlockRunner::thread_main(void* runner) {
  auto* self = static_cast<BlockRunner*>(runner);
  try {
    self->launch_->run_thread();
    self->thread_exited();
  } catch (const Unwind&) {
    self->threads_[self->current_].status = Status::Exited;  // its block was stopped at a hazard
  }
  self->switch_away(true);
}

void BlockRunner::thread_exited() {
  Warp& warp = warps_[current_ / kWarpSize];
  const unsigned bit = 1u << (current_ % kWarpSize);
  for (const Group& group : warp.groups)
    if (group.kind != Collective::ActiveMask && (group.mask & bit) != 0)
      hazard_in_thread(thread_name(current_) + " returns while lanes " + lanes(group.arrived) +
                       " of its warp wait for it in " + collective_name(group.kind) + " (mask " + hex(group.mask) +
                       ") at " + site_text(group.site.file, group.site.line));
  threads_[current_].status = Status::Exited;
  ++exited_;
  warp.exited |= bit;
  settle_active_masks(warp, int(current_ / kWarpSize));
}

std::uint64_t BlockRunner::collective(Collective kind, unsigned mask, std::uint64_t value, int operand, int width,
                                      const char* file, int line) {
  const std::size_t index = current_;
  const int lane = int(index % kWarpSize), warp_index = int(index / kWarpSize);
  Warp& warp = warps_[std::size_t(warp_index)];
  const unsigned bit = 1u << lane;
  if (kind == Collective::ActiveMask) return active_mask(warp, warp_index, bit, Site{file, line});
  // Built only for a report: this is the emulator's hot path.
  const auto call = [&] {
    return std::string(collective_name(kind)) + " (mask " + hex(mask) + ") at " + site_text(file, line);
  };
  if ((mask & bit) == 0) hazard_in_thread(thread_name(index) + " calls " + call() + ", whose mask leaves it out");
  if ((mask & ~warp.present) != 0)
    hazard_in_thread(thread_name(index) + " calls " + call() + ", whose mask names lanes " +
                     lanes(mask & ~warp.present) + " that this block of " + std::to_string(count_) +
                     " threads does not have");
  if ((mask & warp.exited) != 0)
    hazard_in_thread(thread_name(index) + " calls " + call() + ", whose mask names lanes " + lanes(mask & warp.exited) +
                     " that have returned");
  if (is_shuffle(kind) && (width < 1 || width > 32 || (width & (width - 1)) != 0))
    hazard_in_thread(thread_name(index) + " calls " + call() + " with width " + std::to_string(width) +
                     ", not a power of two in [1, 32]");
  std::size_t group = warp.groups.size();
  for (std::size_t g = 0; g < warp.groups.size(); ++g) {
    const Group& other = warp.groups[g];
    if (other.kind == Collective::ActiveMask) continue;  // lanes at __activemask wait for no one
    if ((other.mask & bit) != 0 || (other.mask & mask) != 0) {
      if (other.kind != kind || other.mask != mask)
        hazard_in_thread("mismatched warp collectives: " + thread_name(index) + " calls " + call() + " while lanes " +
                         lanes(other.arrived) + " wait in " + collective_name(other.kind) + " (mask " +
                         hex(other.mask) + ") at " + site_text(other.site.file, other.site.line));
      group = g;
      break;
    }
  }
  if (group == warp.groups.size()) warp.groups.push_back(Group{kind, mask, 0, Site{file, line}});
  warp.value[lane] = value;
  warp.operand[lane] = operand;
  warp.width[lane] = width;
  warp.groups[group].arrived |= bit;
  Thread& thread = threads_[index];
  if (warp.groups[group].arrived == mask) {
    complete(warp, group, warp_index);
    return thread.result;
  }
  thread.status = Status::InCollective;
  thread.site = Site{file, line};
  settle_active_masks(warp, warp_index);
  switch_away(false);
  return thread.result;
}

void BlockRunner::complete(Warp& warp, std::size_t group_index, int warp_index) {
  const Group group = warp.groups[group_index];
  warp.groups[group_index] = warp.groups.back();
  warp.groups.pop_back();
  const std::size_t base = std::size_t(warp_index) * kWarpSize;
  const auto lanes_in_mask = [&](auto&& body) {
    for (unsigned rest = group.mask; rest != 0; rest &= rest - 1) body(__builtin_ctz(rest));
  };
  std::uint64_t reduced = 0;  // the one result every lane gets (not for shuffles)
  switch (group.kind) {
    case Collective::Shuffle:
    case Collective::ShuffleUp:
    case Collective::ShuffleDown:
    case Collective::ShuffleXor:
      lanes_in_mask([&](int lane) {
        const int source = shuffle_source(group.kind, lane, warp.operand[lane], warp.width[lane]);
        if (((group.mask >> source) & 1u) == 0)
          hazard_in_thread("lane " + std::to_string(lane) + " of warp " + std::to_string(warp_index) + " reads lane " +
                           std::to_string(source) + " in " + collective_name(group.kind) + " (mask " + hex(group.mask) +
                           ") at " + site_text(group.site.file, group.site.line) +
                           ", which is not in the mask: its value is undefined");
        threads_[base + std::size_t(lane)].result = warp.value[source];
      });
      break;
    case Collective::SyncWarp:
      break;
    case Collective::ActiveMask:
      reduced = group.mask;
      break;
    case Collective::Ballot:
    case Collective::Any:
    case Collective::All: {
      std::uint64_t ballot = 0;
      lanes_in_mask([&](int lane) { ballot |= std::uint64_t(warp.value[lane] != 0) << lane; });
      reduced = group.kind == Collective::Ballot ? ballot
                : group.kind == Collective::Any  ? std::uint64_t(ballot != 0)
                                                 : std::uint64_t(ballot == group.mask);
      break;
    }
    case Collective::ReduceAdd:
      lanes_in_mask([&](int lane) { reduced = std::uint32_t(reduced + warp.value[lane]); });
      break;
    case Collective::ReduceMinUnsigned:
    case Collective::ReduceMaxUnsigned: {
      std::uint32_t value = group.kind == Collective::ReduceMinUnsigned ? ~0u : 0u;
      lanes_in_mask([&](int lane) {
        const auto x = std::uint32_t(warp.value[lane]);
        value = group.kind == Collective::ReduceMinUnsigned ? std::min(value, x) : std::max(value, x);
      });
      reduced = value;
      break;
    }
    case Collective::ReduceMinSigned:
    case Collective::ReduceMaxSigned: {
      std::int32_t value = group.kind == Collective::ReduceMinSigned ? INT32_MAX : INT32_MIN;
      lanes_in_mask([&](int lane) {
        const auto x = std::int32_t(std::uint32_t(warp.value[lane]));
        value = group.kind == Collective::ReduceMinSigned ? std::min(value, x) : std::max(value, x);
      });
      reduced = std::uint32_t(value);
      break;
    }
  }
  lanes_in_mask([&](int lane) {
    Thread& thread = threads_[base + std::size_t(lane)];
    if (!is_shuffle(group.kind)) thread.result = reduced;
    if (base + std::size_t(lane) != current_) thread.status = Status::Ready;
  });
}

std::uint64_t BlockRunner::active_mask(Warp& warp, int warp_index, unsigned bit, Site site) {
  std::size_t group = warp.groups.size();
  for (std::size_t g = 0; g < warp.groups.size(); ++g)
    if (warp.groups[g].kind == Collective::ActiveMask && warp.groups[g].site == site) group = g;
  if (group == warp.groups.size()) {
    warp.groups.push_back(Group{Collective::ActiveMask, 0, 0, site});
    ++warp.active_mask_groups;
  }
  warp.groups[group].mask |= bit;
  warp.groups[group].arrived |= bit;
  Thread& thread = threads_[current_];
  thread.status = Status::InCollective;
  thread.site = site;
  if (!settle_active_masks(warp, warp_index)) switch_away(false);
  return thread.result;
}

bool BlockRunner::settle_active_masks(Warp& warp, int warp_index) {
  if (warp.active_mask_groups == 0) return false;
  const std::size_t base = std::size_t(warp_index) * kWarpSize;
  for (unsigned rest = warp.present & ~warp.exited; rest != 0; rest &= rest - 1)
    if (threads_[base + std::size_t(__builtin_ctz(rest))].status == Status::Ready) return false;  // may still come
  bool mine = false;  // whether the running lane's own __activemask completed
  for (std::size_t g = 0; g < warp.groups.size();) {
    if (warp.groups[g].kind != Collective::ActiveMask) {
      ++g;
      continue;
    }
    const unsigned arrived = warp.groups[g].arrived;
    mine = mine || ((arrived >> (current_ % kWarpSize)) & 1u) != 0;
    --warp.active_mask_groups;
    complete(warp, g, warp_index);
    if (mine) threads_[current_].status = Status::Ready;  // it runs on without switching
  }
  return mine;
}

int BlockRunner::barrier(Barrier kind, int predicate, const char* file, int line) {
  Thread& thread = threads_[current_];
  thread.status = Status::AtBarrier;
  thread.barrier_kind = kind;
  thread.predicate = predicate != 0;
  thread.site = Site{file, line};
  ++at_barrier_;
  settle_active_masks(warps_[current_ / kWarpSize], int(current_ / kWarpSize));
  switch_away(false);
  return int(thread.result);
}

bool BlockRunner::release_barrier() {
  std::vector<std::size_t> waiting, returned;
  for (std::size_t i = 0; i < count_; ++i) (threads_[i].status == Status::Exited ? returned : waiting).push_back(i);
  const Thread& first = threads_[waiting.front()];
  const std::string first_site =
      std::string(barrier_name(first.barrier_kind)) + " at " + site_text(first.site.file, first.site.line);
  if (!returned.empty()) {
    hazard("barrier after threads returned: threads " + ranges(waiting) + " wait at " + first_site + ", but threads " +
           ranges(returned) + " of the block have returned and will never arrive");
    return false;
  }
  bool same = true;
  for (std::size_t i : waiting)
    same = same && threads_[i].site == first.site && threads_[i].barrier_kind == first.barrier_kind;
  if (!same) {
    hazard("threads wait at different barriers in one round:\n" + describe_waiting());
    return false;
  }
  std::uint64_t count = 0;
  for (std::size_t i : waiting) count += threads_[i].predicate;
  std::uint64_t result = 0;
  switch (first.barrier_kind) {
    case Barrier::Plain:
      break;
    case Barrier::Count:
      result = count;
      break;
    case Barrier::And:
      result = count == waiting.size();
      break;
    case Barrier::Or:
      result = count > 0;
      break;
  }
  for (std::size_t i : waiting) {
    threads_[i].status = Status::Ready;
    threads_[i].result = result;
  }
  at_barrier_ = 0;
  return true;
}

void* BlockRunner::shared_base() const {
  const auto base = reinterpret_cast<std::uintptr_t>(dynamic_shared_.get());
  return reinterpret_cast<void*>((base + 127) / 128 * 128);
}

void* BlockRunner::dynamic_shared(std::size_t bytes, std::size_t alignment, const char* file, int line) {
  if (alignment > 128 || bytes > launch_->shared_bytes)
    hazard_in_thread(thread_name(current_) + " uses " + std::to_string(bytes) + " bytes of dynamic shared memory at " +
                     site_text(file, line) + " (alignment " + std::to_string(alignment) + "), but the launch gave " +
                     std::to_string(launch_->shared_bytes));
  return shared_base();
}

std::string BlockRunner::thread_name(std::size_t index) const {
  return "thread " + std::to_string(index) + " (warp " + std::to_string(index / kWarpSize) + ", lane " +
         std::to_string(index % kWarpSize) + ")";
}

std::string BlockRunner::where() const {
  std::ostringstream out;
  out << "kernel " << launch_->name << " launched at " << site_text(launch_->file, launch_->line) << ", grid ("
      << launch_->grid.x << ", " << launch_->grid.y << ", " << launch_->grid.z << ") of blocks (" << launch_->block.x
      << ", " << launch_->block.y << ", " << launch_->block.z << "); in block (" << block_index_.x << ", "
      << block_index_.y << ", " << block_index_.z << "), thread order " << order_name(order_kind_);
  if (order_kind_ == Order::Random) out << " (block seed " << seed_ << ")";
  return out.str();
}

std::string BlockRunner::describe_waiting() const {
  std::ostringstream out;
  std::map<std::string, std::vector<std::size_t>> at_barriers;
  std::vector<std::size_t> returned;
  for (std::size_t i = 0; i < count_; ++i) {
    const Thread& thread = threads_[i];
    if (thread.status == Status::AtBarrier)
      at_barriers[std::string(barrier_name(thread.barrier_kind)) + " at " +
                  site_text(thread.site.file, thread.site.line)]
          .push_back(i);
    if (thread.status == Status::Exited) returned.push_back(i);
  }
  for (const auto& [site, threads] : at_barriers) out << "  threads " << ranges(threads) << " wait at " << site << "\n";
  for (std::size_t w = 0; w < (count_ + kWarpSize - 1) / kWarpSize; ++w)
    for (const Group& group : warps_[w].groups)
      out << "  warp " << w << ": lanes " << lanes(group.arrived) << " wait in " << collective_name(group.kind)
          << " (mask " << hex(group.mask) << ") at " << site_text(group.site.file, group.site.line) << " for lanes "
          << lanes(group.mask & ~group.arrived) << "\n";
  if (!returned.empty()) out << "  threads " << ranges(returned) << " have returned\n";
  return out.str();
}

void BlockRunner::hazard(const std::string& what) {
  internal::record_hazard(where() + ":\n  " + what);
  aborted_ = true;
}

void BlockRunner::hazard_in_thread(const std::string& what) {
  hazard(what);
  fibers_.yield();  // to the scheduler, which sees aborted_, stops the block and unwinds its threads
  throw Unwind{};
}

}  // namespace vit::emu
