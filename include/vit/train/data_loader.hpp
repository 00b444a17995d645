// DataLoader: batches {images [B, C, H, W], labels [B]} from a Dataset and a Transform, made by
// background threads while the caller trains on the previous batch.
//
// What a batch holds depends only on (seed, epoch, batch number), never on the threads:
// - the epoch's order is epoch_permutation(size, seed, epoch) (vit/train/random.hpp; tools/data_order.py
//   reproduces it in Python), or 0, 1, 2, ... without shuffling;
// - batch k holds order[k·B, (k+1)·B); the last one is partial, or left out with drop_last;
// - sample i's augmentation draws from augmentation_stream(seed, epoch, i);
// - a sample the dataset cannot read is left out of its batch (the batch is one smaller) and counted.
//
// Threads. start_epoch(e) starts `workers` threads for epoch e. Each repeatedly claims the next batch
// number, makes that whole batch (decode, augment, normalise) and files it under its number. A worker may
// claim batch k only while k < (the batch the caller waits for) + prefetch, so at most `prefetch` batches
// exist ahead of the caller: the queue is bounded. next() hands out the batches in number order,
// waiting for the one it needs. An exception in a worker is filed in that batch's place and rethrown by
// the next() that reaches it (earlier batches are still delivered, so failures are as reproducible as
// the data). Stopping (destructor, or a new start_epoch mid-epoch) sets a flag the workers check between
// samples, then joins them: it takes at most one sample's time.
// With workers = 0 next() makes each batch itself, on the caller's thread.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/train/dataset.hpp"
#include "vit/train/random.hpp"
#include "vit/train/transforms.hpp"

namespace vit {

struct DataLoaderOptions {
  std::int64_t batch_size = 32;
  bool shuffle = true;     // a new order every epoch, from (seed, epoch); false: dataset order
  bool drop_last = false;  // leave out the last, partial batch
  std::uint64_t seed = 0;  // shuffle and augmentation
  int workers = 1;         // background threads; 0: batches are made inside next(), on the caller's thread
  int prefetch = 2;        // batches made ahead of the caller (the queue's bound), >= 1
};

struct Batch {
  Tensor<float> images;               // [B, C, H, W], normalised
  std::vector<int> labels;            // [B]
  std::vector<std::int64_t> indices;  // [B] the dataset index of each sample
  std::int64_t epoch = 0;
  std::int64_t number = 0;   // the batch's position in its epoch, from 0
  std::int64_t skipped = 0;  // samples of this batch left out as unreadable

  std::int64_t size() const { return std::int64_t(labels.size()); }
};

namespace detail {

// Physical memory in bytes, 0 when unknown.
inline std::uint64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? std::uint64_t(pages) * std::uint64_t(page_size) : 0;
}

}  // namespace detail

class DataLoader {
 public:
  // `dataset` must outlive the loader.
  DataLoader(const Dataset& dataset, Transform transform, DataLoaderOptions options = {})
      : dataset_(dataset), transform_(std::move(transform)), options_(options) {
    transform_.validate();
    VIT_CHECK(options_.batch_size >= 1, "data loader: batch size ", options_.batch_size, " must be at least 1");
    VIT_CHECK(options_.workers >= 0, "data loader: ", options_.workers, " workers");
    VIT_CHECK(options_.prefetch >= 1, "data loader: prefetch ", options_.prefetch, " must be at least 1");
    // A batch far too large for the machine is refused here, not by a failed allocation mid-epoch.
    const double batch_bytes =
        double(options_.batch_size) * double(transform_.output_shape().numel()) * double(sizeof(float));
    const double batches_alive = double(options_.prefetch) + 1;  // made ahead, plus the caller's
    const std::uint64_t memory = detail::physical_memory_bytes();
    VIT_CHECK(memory == 0 || batch_bytes * batches_alive <= double(memory), "data loader: a batch of ",
              options_.batch_size, " x ", transform_.output_shape(), " floats takes ", batch_bytes / 1e9, " GB and ",
              batches_alive, " of them exist at once, more than this machine's ", double(memory) / 1e9,
              " GB of memory");
  }

  ~DataLoader() { stop_workers(); }
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  const Transform& transform() const { return transform_; }
  const DataLoaderOptions& options() const { return options_; }

  // Samples an epoch visits: all, or the full batches' with drop_last.
  std::int64_t samples_per_epoch() const {
    const std::int64_t count = dataset_.size();
    return options_.drop_last ? count - count % options_.batch_size : count;
  }
  std::int64_t batches_per_epoch() const {
    return (samples_per_epoch() + options_.batch_size - 1) / options_.batch_size;
  }

  // The dataset indices in the order epoch `epoch` visits them (before drop_last).
  std::vector<std::int64_t> epoch_order(std::int64_t epoch) const {
    VIT_CHECK(epoch >= 0, "data loader: epoch ", epoch, " must be >= 0");
    if (options_.shuffle) return epoch_permutation(dataset_.size(), options_.seed, std::uint64_t(epoch));
    std::vector<std::int64_t> order(std::size_t(dataset_.size()));
    std::iota(order.begin(), order.end(), std::int64_t(0));
    return order;
  }

  // Starts making the batches of `epoch` (from 0); an unfinished epoch is abandoned.
  void start_epoch(std::int64_t epoch) {
    stop_workers();
    order_ = epoch_order(epoch);
    epoch_ = epoch;
    batch_count_ = batches_per_epoch();
    next_claim_ = next_deliver_ = 0;
    ready_.clear();
    failed_ = false;
    stop_ = false;
    try {
      for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { work(); });
    } catch (...) {  // no thread to make the batches: next() must not wait for them
      stop_workers();
      epoch_ = -1;
      throw;
    }
  }

  // The epoch's next batch, std::nullopt after its last. Rethrows what a worker threw for this batch.
  std::optional<Batch> next() {
    VIT_CHECK(epoch_ >= 0, "data loader: call start_epoch(epoch) before next()");
    for (;;) {
      if (next_deliver_ >= batch_count_) return std::nullopt;
      Slot slot;
      if (options_.workers == 0) {
        try {
          slot.batch = make_batch(next_deliver_);
        } catch (...) {
          slot.error = std::current_exception();
        }
        ++next_deliver_;
      } else {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_changed_.wait(lock, [&] { return ready_.count(next_deliver_) != 0; });
        const auto found = ready_.find(next_deliver_);
        slot = std::move(found->second);
        ready_.erase(found);
        ++next_deliver_;
        lock.unlock();
        claim_allowed_.notify_all();  // one more batch may be made ahead
      }
      if (slot.error) {
        next_deliver_ = batch_count_;  // the epoch ends here
        stop_workers();
        std::rethrow_exception(slot.error);
      }
      if (slot.batch && slot.batch->size() > 0) return std::move(slot.batch);
      // every sample of this batch was unreadable: go on to the next one
    }
  }

  // Samples left out as unreadable since the loader was made, all epochs together.
  std::int64_t skipped() const { return skipped_.load(); }

 private:
  struct Slot {
    std::optional<Batch> batch;  // empty when making it was stopped
    std::exception_ptr error;
  };

  // Batch `number` of the current epoch; std::nullopt when stopped part-way.
  std::optional<Batch> make_batch(std::int64_t number) const {
    const std::int64_t begin = number * options_.batch_size;
    const std::int64_t end = std::min(begin + options_.batch_size, samples_per_epoch());
    const Shape sample_shape = transform_.output_shape();
    const std::int64_t sample_size = sample_shape.numel();
    Batch batch;
    batch.epoch = epoch_;
    batch.number = number;
    batch.images = Tensor<float>::uninitialized({end - begin, sample_shape[0], sample_shape[1], sample_shape[2]});
    for (std::int64_t position = begin; position < end; ++position) {
      if (stop_.load(std::memory_order_relaxed)) return std::nullopt;
      const std::int64_t index = order_[std::size_t(position)];
      std::optional<Sample> sample = dataset_.load(index);
      if (!sample) {
        ++batch.skipped;
        ++skipped_;
        continue;
      }
      VIT_CHECK(sample->label >= 0 && sample->label < dataset_.num_classes(), "data loader: sample ", index,
                " has label ", sample->label, ", outside the dataset's ", dataset_.num_classes(), " classes");
      SplitMix64 random = augmentation_stream(options_.seed, std::uint64_t(epoch_), std::uint64_t(index));
      transform_(sample->image, random, batch.images.data() + batch.size() * sample_size);
      batch.labels.push_back(sample->label);
      batch.indices.push_back(index);
    }
    if (batch.size() < end - begin) {  // unreadable samples: keep the rows that were made
      Tensor<float> images =
          Tensor<float>::uninitialized({batch.size(), sample_shape[0], sample_shape[1], sample_shape[2]});
      std::copy_n(batch.images.data(), images.numel(), images.data());
      batch.images = std::move(images);
    }
    return batch;
  }

  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      claim_allowed_.wait(lock, [&] {
        return stop_ || failed_ || next_claim_ >= batch_count_ || next_claim_ < next_deliver_ + options_.prefetch;
      });
      if (stop_ || failed_ || next_claim_ >= batch_count_) return;
      const std::int64_t number = next_claim_++;
      lock.unlock();
      Slot slot;
      try {
        slot.batch = make_batch(number);
      } catch (...) {
        slot.error = std::current_exception();
      }
      lock.lock();
      if (!slot.batch && !slot.error) return;  // stopped
      if (slot.error) failed_ = true;          // no new batches: the caller stops at this one
      ready_.emplace(number, std::move(slot));
      ready_changed_.notify_all();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    claim_allowed_.notify_all();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

  const Dataset& dataset_;
  Transform transform_;
  DataLoaderOptions options_;

  // The current epoch; written only while no worker runs.
  std::vector<std::int64_t> order_;
  std::int64_t epoch_ = -1;
  std::int64_t batch_count_ = 0;

  std::mutex mutex_;
  std::condition_variable claim_allowed_;  // workers wait here for a batch they may make
  std::condition_variable ready_changed_;  // the caller waits here for the batch it needs
  std::int64_t next_claim_ = 0;            // the next batch a worker will make
  std::int64_t next_deliver_ = 0;          // the next batch next() hands out
  std::map<std::int64_t, Slot> ready_;     // made, not yet handed out
  bool failed_ = false;                    // a worker threw: nothing after that batch is made
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;

  mutable std::atomic<std::int64_t> skipped_{0};
};

}  // namespace vit
