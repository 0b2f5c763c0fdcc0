// Interval estimates used by every reported rate (docs/metrics.md):
// Wilson score intervals for proportions, percentile bootstrap over prompts for
// statistics of clustered samples, and mean +- std over seeds.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "io/jsonl.h"

namespace unigap {

struct Interval {
  double lo = 0, hi = 0;
};

// 95% Wilson score interval for k successes in n trials (z = 1.96). n = 0 -> [0, 1].
Interval wilson(int64_t k, int64_t n, double z = 1.959963984540054);

// A proportion with its counts and interval; `undefined` when n == 0 (never a silent 0 or 50%).
struct Rate {
  int64_t k = 0, n = 0;
  std::optional<double> value() const { return n ? std::optional<double>(double(k) / n) : std::nullopt; }
  Interval ci() const { return wilson(k, n); }
  json to_json() const;  // {"value": v|null, "k": k, "n": n, "ci95": [lo, hi]|null}
  // The counts of a to_json() object; anything else (a missing field) is n = 0.
  static Rate from_json(const json& j);
};

// 95% interval of the difference a - b of two independent proportions: Newcombe's hybrid
// score interval, built from the two Wilson intervals. Either n = 0 -> [-1, 1].
Interval newcombe_difference(const Rate& a, const Rate& b);

// Percentile bootstrap (95%) of `stat` over resampled cluster indices [0, clusters).
Interval bootstrap(int clusters, const std::function<double(const std::vector<int>&)>& stat, int reps, uint64_t seed);

struct MeanStd {
  double mean = 0, std = 0;
  int n = 0;
};
MeanStd mean_std(const std::vector<double>& v);  // sample std (n - 1)
// 95% Student-t interval of the mean: mean +- t(0.975, n - 1) std / sqrt(n). n < 2 -> [-inf, inf].
Interval mean_ci95(const MeanStd& m);

}  // namespace unigap
