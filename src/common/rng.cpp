#include "common/rng.h"

#include <cmath>

#include "common/error.h"

namespace unigap {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t stable_hash(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t derive_seed(uint64_t seed, std::string_view label, uint64_t index) {
  uint64_t st = seed ^ stable_hash(label);
  splitmix64(st);
  st ^= index * 0xD6E8FEB86659FD93ull;
  return splitmix64(st);
}

Rng::Rng(uint64_t seed) {
  uint64_t st = seed;
  for (auto& x : s_) x = splitmix64(st);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

int64_t Rng::uniform_int(int64_t lo, int64_t hi) {
  UNIGAP_ASSERT(lo <= hi, "uniform_int with lo > hi");
  const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
  if (range == 0) return static_cast<int64_t>(next_u64());  // full 64-bit range
  // Rejection sampling: unbiased.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % range);
  uint64_t x;
  do {
    x = next_u64();
  } while (x >= limit);
  return lo + static_cast<int64_t>(x % range);
}

double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  double u1;
  do {
    u1 = uniform();
  } while (u1 <= 0.0);
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

void Rng::set_state(const std::vector<uint64_t>& st) {
  if (st.size() != 4) throw UserError("RNG state must have 4 words, found " + std::to_string(st.size()));
  for (int i = 0; i < 4; ++i) s_[i] = st[i];
}

}  // namespace unigap
