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

// The same, resampling clusters within strata (stratum[i] is cluster i's; each stratum
// keeps its size, as GenEval's tags keep theirs). With fewer than 2 clusters there is no
// variation between clusters to resample: the interval is undefined (NaN, JSON null),
// never the zero-width interval a resample of one cluster gives.
Interval stratified_bootstrap(const std::vector<int>& stratum, const std::function<double(const std::vector<int>&)>& stat,
                              int reps, uint64_t seed);
bool defined(const Interval& i);
json interval_json(const Interval& i);  // [lo, hi], or null when undefined

// A bootstrap distribution of a statistic: its percentile interval, its standard error,
// and the one-sided p-value of a claim that the statistic is > 0 (direction +1) or < 0 (-1):
// the share of resamples on the other side of 0 (counting ties), (k + 1) / (reps + 1).
struct BootstrapDist {
  std::vector<double> values;  // finite resampled statistics, sorted
  Interval ci95() const;       // undefined (NaN) when empty
  double se() const;           // sample std of the resamples; NaN when fewer than 2
  double p_one_sided(int direction) const;
};

// Hierarchical bootstrap of a study's paired statistic (docs/metrics.md, "Intervals"): each
// resample draws the pretraining seeds with replacement, then the fine-tuning seeds within
// each drawn pretraining seed, then the meaning groups within their tags (stratified), one
// group draw shared by every unit so that paired arms stay paired. `unit_top[u]` is unit u's
// pretraining seed; `stratum[g]` group g's tag; `stat(units, groups)` the statistic over the
// drawn units (with repeats) and groups (with repeats).
BootstrapDist hierarchical_bootstrap(const std::vector<int>& unit_top, const std::vector<int>& stratum,
                                     const std::function<double(const std::vector<int>&, const std::vector<int>&)>& stat,
                                     int reps, uint64_t seed);

// Standard normal quantile (inverse CDF), to 1e-12.
double normal_quantile(double p);
// The minimum detectable effect of a two-sided test at level alpha with the given power,
// from the standard error of the estimate: (z(1 - alpha/2) + z(power)) * se.
double minimum_detectable_effect(double se, double alpha, double power = 0.8);
// Holm's step-down rule over m p-values at family-wise level alpha: which are rejected.
std::vector<bool> holm(const std::vector<double>& p, double alpha);

struct MeanStd {
  double mean = 0, std = 0;
  int n = 0;
};
MeanStd mean_std(const std::vector<double>& v);  // sample std (n - 1)
// 95% Student-t interval of the mean: mean +- t(0.975, n - 1) std / sqrt(n). n < 2 -> [-inf, inf].
Interval mean_ci95(const MeanStd& m);
// 95% interval of a Pearson correlation r of n independent pairs (Fisher's z: tanh(atanh(r) +-
// 1.96 / sqrt(n - 3))). n < 4 -> [-1, 1].
Interval pearson_ci95(double r, int n);

}  // namespace unigap
