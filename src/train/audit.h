// The data-quality check (docs/method.md section 6): on a random sample of a pool,
// compare the supervision's labels with the external judge (the oracle in the shapes
// world). Precision of the accepted data (how much of what SFT would learn is right) and
// WeakGen of the rejections (how much of what was refused is really wrong), with Wilson
// intervals.
#pragma once

#include <cstdint>
#include <string>

#include "eval/stats.h"
#include "train/pool.h"

namespace unigap {

struct AuditReport {
  std::string judge;  // the external judge the pool's verdicts came from
  int sampled = 0;
  Rate accept_rate;  // accepted / sampled
  Rate precision;    // oracle-correct / accepted
  Rate weakgen;      // oracle-wrong / rejected
  Rate oracle_rate;  // oracle-correct / sampled (the generator's real accuracy)
  json to_json() const;
  std::string text() const;
};

// `sample` candidates drawn without replacement (all when the pool is smaller).
AuditReport audit_pool(const Pool& pool, int sample, uint64_t seed);

}  // namespace unigap
