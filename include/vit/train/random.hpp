// The random numbers of training: a small counter-based generator, so that every draw is a pure function of
// (seed, stream, index) — the same on every platform, standard library and thread count — and Python can
// reproduce it (tools/ scripts do, for the PyTorch comparisons).
//
// SplitMix64 (Steele, Lea & Flood 2014; the generator Java's SplittableRandom and xoshiro's seeding use):
//   state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) · 0xBF58476D1CE4E5B9;
//   z = (z ^ (z >> 27)) · 0x94D049BB133111EB; return z ^ (z >> 31).
// Uniform floats take the top 53 bits (a double in [0, 1)); normals come from Box–Muller.
#pragma once

#include <cmath>
#include <cstdint>

namespace vit::train {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  // A generator for sub-stream `stream` of `seed` (e.g. one per parameter, per epoch, per sample).
  static SplitMix64 stream(std::uint64_t seed, std::uint64_t stream) {
    SplitMix64 mixer(seed ^ (stream * 0xD1B54A32D192ED03ull));
    return SplitMix64(mixer.next());
  }

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1), 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

  // Standard normal (Box–Muller; the second value of each pair is dropped to keep draws one per call).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // Normal(0, std) truncated to [low, high] by rejection, as timm's trunc_normal_ bounds it (absolute values).
  double truncated_normal(double std, double low, double high) {
    for (;;) {
      const double value = std * normal();
      if (value >= low && value <= high) return value;
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace vit::train
