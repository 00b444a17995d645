// The random numbers of training (data order, augmentation, new weights): SplitMix64, written out so that
// every standard library, and a ten-line Python script (tools/data_order.py), draws exactly the same numbers.
//
// std::mt19937_64 would be portable too, but std::uniform_real_distribution and
// std::uniform_int_distribution are not (each standard library maps the bits differently), and the
// shuffle must be reproducible from Python so that PyTorch can be fed the identical data order.
//
// The algorithm, all arithmetic modulo 2^64:
//   kGolden = 0x9E3779B97F4A7C15
//   mix64(z):  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//              z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//              return z ^ (z >> 31)
//   next():    state += kGolden; return mix64(state)                 (Steele, Lea & Flood, SplitMix64)
//   uniform(): (next() >> 11) · 2^-53, a double in [0, 1)
//   below(n):  an integer in [0, n), without bias: draw x = next() until x < 2^64 - (2^64 mod n),
//              then return x mod n
//   derive(key, value) = mix64(key ^ mix64(value + kGolden))           (one independent stream per value)
//
// Streams (seed: the run's seed; epoch and index count from 0):
//   shuffle of an epoch:        state = derive(derive(seed, 1), epoch)
//   augmentation of one sample: state = derive(derive(derive(seed, 2), epoch), index)
//   a new model's weight number k (in expected_weights order): state = derive(derive(seed, 3), k)
//   the epoch's order: p = [0, 1, ..., n-1]; for i = n-1 down to 1: j = below(i + 1); swap(p[i], p[j])
//   (Fisher–Yates, with the shuffle stream).
// A sample's augmentation therefore depends on (seed, epoch, sample index) only: not on which thread
// made it, nor on the batch it lands in.
#pragma once

#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace vit {

class SplitMix64 {
 public:
  static constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;

  explicit SplitMix64(std::uint64_t state) : state_(state) {}

  static constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // A state for the stream numbered `value` under `key` (see the header comment).
  static constexpr std::uint64_t derive(std::uint64_t key, std::uint64_t value) {
    return mix64(key ^ mix64(value + kGolden));
  }

  std::uint64_t next() {
    state_ += kGolden;
    return mix64(state_);
  }

  // A double in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

  // A double in [low, high): low + (high - low) · uniform(), as torch's uniform_(low, high) maps its draw.
  double uniform(double low, double high) { return low + (high - low) * uniform(); }

  // An integer in [0, count), unbiased (rejection of the top 2^64 mod count values). count >= 1.
  std::uint64_t below(std::uint64_t count) {
    const std::uint64_t remainder = (0 - count) % count;  // 2^64 mod count
    for (;;) {
      const std::uint64_t x = next();
      if (remainder == 0 || x < 0 - remainder) return x % count;
    }
  }

  // A standard normal draw (Box–Muller, cosine branch; one pair of uniforms per draw).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: the logarithm is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // Normal(0, std²) truncated to [low, high] by rejection (timm's trunc_normal_ bounds absolute values).
  double truncated_normal(double std, double low, double high) {
    for (;;) {
      const double value = std * normal();
      if (value >= low && value <= high) return value;
    }
  }

  std::uint64_t state() const { return state_; }

 private:
  std::uint64_t state_;
};

// The stream of one epoch's shuffle.
inline SplitMix64 shuffle_stream(std::uint64_t seed, std::uint64_t epoch) {
  return SplitMix64(SplitMix64::derive(SplitMix64::derive(seed, 1), epoch));
}

// The stream of one sample's augmentation in one epoch.
inline SplitMix64 augmentation_stream(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  return SplitMix64(SplitMix64::derive(SplitMix64::derive(SplitMix64::derive(seed, 2), epoch), index));
}

// The stream of a new model's weight number `index` (train/initialization.hpp).
inline SplitMix64 initialization_stream(std::uint64_t seed, std::uint64_t index) {
  return SplitMix64(SplitMix64::derive(SplitMix64::derive(seed, 3), index));
}

// The order in which an epoch visits `count` samples: a Fisher–Yates shuffle driven by shuffle_stream.
inline std::vector<std::int64_t> epoch_permutation(std::int64_t count, std::uint64_t seed, std::uint64_t epoch) {
  std::vector<std::int64_t> order(std::size_t(count > 0 ? count : 0));
  std::iota(order.begin(), order.end(), std::int64_t(0));
  SplitMix64 random = shuffle_stream(seed, epoch);
  for (std::int64_t i = count - 1; i >= 1; --i)
    std::swap(order[std::size_t(i)], order[std::size_t(random.below(std::uint64_t(i) + 1))]);
  return order;
}

}  // namespace vit
