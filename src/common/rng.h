// Seeded, platform-independent random numbers. std:: distributions are
// implementation-defined, so everything that must reproduce across machines
// draws through these helpers (xoshiro256** seeded by splitmix64).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace unigap {

// splitmix64 step: also a good 64-bit mixer for deriving sub-seeds.
uint64_t splitmix64(uint64_t& state);
// Derives an independent seed from a parent seed and a label/index (stable across runs).
uint64_t derive_seed(uint64_t seed, std::string_view label, uint64_t index = 0);
// FNV-1a 64-bit hash of a string (stable, used for split assignment).
uint64_t stable_hash(std::string_view s);

class Rng {
 public:
  explicit Rng(uint64_t seed = 0);
  uint64_t next_u64();
  // Uniform integer in [lo, hi] inclusive. Requires lo <= hi.
  int64_t uniform_int(int64_t lo, int64_t hi);
  // Uniform double in [0, 1).
  double uniform();
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal (Box-Muller, no cached spare so the stream is simple to reason about).
  double normal();
  bool bernoulli(double p) { return uniform() < p; }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(uniform_int(0, static_cast<int64_t>(i) - 1));
      std::swap(v[i - 1], v[j]);
    }
  }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(uniform_int(0, static_cast<int64_t>(v.size()) - 1))];
  }
  // Full state, for checkpoints (resume must continue the same stream).
  std::vector<uint64_t> state() const { return {s_[0], s_[1], s_[2], s_[3]}; }
  void set_state(const std::vector<uint64_t>& st);

 private:
  uint64_t s_[4];
};

}  // namespace unigap
