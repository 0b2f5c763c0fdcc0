#include "train/audit.h"

#include <cstdio>

#include "common/rng.h"

namespace unigap {

json AuditReport::to_json() const {
  return {{"judge", judge},
          {"sampled", sampled},
          {"accept_rate", accept_rate.to_json()},
          {"precision", precision.to_json()},
          {"weakgen", weakgen.to_json()},
          {"oracle_rate", oracle_rate.to_json()}};
}

std::string AuditReport::text() const {
  auto f = [](const Rate& r) {
    char b[96];
    if (!r.n) return std::string("undefined (n = 0)");
    auto c = r.ci();
    std::snprintf(b, sizeof b, "%.1f%% [%.1f, %.1f] (%lld/%lld)", 100.0 * r.k / r.n, 100 * c.lo, 100 * c.hi,
                  (long long)r.k, (long long)r.n);
    return std::string(b);
  };
  return "audit of " + std::to_string(sampled) + " candidates against the external judge (" + judge + "):\n  accepted:            " + f(accept_rate) +
         "\n  precision (accepted): " + f(precision) + "\n  WeakGen (rejected):   " + f(weakgen) +
         "\n  judged right:        " + f(oracle_rate) + "\n";
}

AuditReport audit_pool(const Pool& pool, int sample, uint64_t seed) {
  std::vector<size_t> idx(pool.candidates.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  Rng rng(derive_seed(seed, "audit"));
  rng.shuffle(idx);
  if (sample > 0 && size_t(sample) < idx.size()) idx.resize(size_t(sample));
  AuditReport a;
  a.judge = pool.judge;
  for (size_t i : idx) {
    const auto& c = pool.candidates[i];
    a.sampled++;
    a.accept_rate.n++;
    a.oracle_rate.n++;
    a.oracle_rate.k += c.oracle;
    if (c.verdict) {
      a.accept_rate.k++;
      a.precision.n++;
      a.precision.k += c.oracle;
    } else {
      a.weakgen.n++;
      a.weakgen.k += !c.oracle;
    }
  }
  return a;
}

}  // namespace unigap
