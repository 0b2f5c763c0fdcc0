#include "eval/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "common/rng.h"

namespace unigap {

Interval wilson(int64_t k, int64_t n, double z) {
  if (n <= 0) return {0.0, 1.0};
  const double p = double(k) / n, z2 = z * z;
  const double denom = 1 + z2 / n;
  const double centre = (p + z2 / (2.0 * n)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Rate Rate::from_json(const json& j) {
  Rate x;
  if (j.is_object()) x.k = j.value("k", int64_t(0)), x.n = j.value("n", int64_t(0));
  return x;
}

json Rate::to_json() const {
  json j = {{"k", k}, {"n", n}};
  if (n) {
    auto c = ci();
    j["value"] = double(k) / n;
    j["ci95"] = {c.lo, c.hi};
  } else {
    j["value"] = nullptr;
    j["ci95"] = nullptr;
  }
  return j;
}

Interval bootstrap(int clusters, const std::function<double(const std::vector<int>&)>& stat, int reps, uint64_t seed) {
  if (clusters <= 0) return {0, 0};
  Rng rng(seed);
  std::vector<double> vals;
  vals.reserve(reps);
  std::vector<int> idx(clusters);
  for (int r = 0; r < reps; ++r) {
    for (auto& i : idx) i = int(rng.uniform_int(0, clusters - 1));
    const double v = stat(idx);
    if (std::isfinite(v)) vals.push_back(v);
  }
  if (vals.empty()) return {0, 0};
  std::sort(vals.begin(), vals.end());
  auto q = [&](double p) { return vals[std::min(vals.size() - 1, size_t(p * (vals.size() - 1) + 0.5))]; };
  return {q(0.025), q(0.975)};
}

Interval stratified_bootstrap(const std::vector<int>& stratum, const std::function<double(const std::vector<int>&)>& stat,
                              int reps, uint64_t seed) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (stratum.size() < 2) return {nan, nan};
  std::map<int, std::vector<int>> members;
  for (size_t i = 0; i < stratum.size(); ++i) members[stratum[i]].push_back(int(i));
  Rng rng(seed);
  std::vector<double> vals;
  vals.reserve(reps);
  std::vector<int> idx;
  for (int r = 0; r < reps; ++r) {
    idx.clear();
    for (auto& [s, m] : members)
      for (size_t k = 0; k < m.size(); ++k) idx.push_back(m[size_t(rng.uniform_int(0, int64_t(m.size()) - 1))]);
    const double v = stat(idx);
    if (std::isfinite(v)) vals.push_back(v);
  }
  if (vals.empty()) return {nan, nan};
  std::sort(vals.begin(), vals.end());
  auto q = [&](double p) { return vals[std::min(vals.size() - 1, size_t(p * (vals.size() - 1) + 0.5))]; };
  return {q(0.025), q(0.975)};
}

bool defined(const Interval& i) { return std::isfinite(i.lo) && std::isfinite(i.hi); }
json interval_json(const Interval& i) { return defined(i) ? json{i.lo, i.hi} : json(); }

Interval BootstrapDist::ci95() const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (values.empty()) return {nan, nan};
  auto q = [&](double p) { return values[std::min(values.size() - 1, size_t(p * (values.size() - 1) + 0.5))]; };
  return {q(0.025), q(0.975)};
}

double BootstrapDist::se() const {
  if (values.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  return mean_std(values).std;
}

double BootstrapDist::p_one_sided(int direction) const {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  size_t k = 0;
  for (double v : values) k += direction * v <= 0;
  return double(k + 1) / double(values.size() + 1);
}

BootstrapDist hierarchical_bootstrap(const std::vector<int>& unit_top, const std::vector<int>& stratum,
                                     const std::function<double(const std::vector<int>&, const std::vector<int>&)>& stat,
                                     int reps, uint64_t seed) {
  std::map<int, std::vector<int>> units_of, groups_of;
  for (size_t u = 0; u < unit_top.size(); ++u) units_of[unit_top[u]].push_back(int(u));
  for (size_t g = 0; g < stratum.size(); ++g) groups_of[stratum[g]].push_back(int(g));
  std::vector<int> tops;
  for (auto& [t, v] : units_of) tops.push_back(t);
  BootstrapDist d;
  if (tops.empty() || stratum.size() < 2) return d;
  Rng rng(seed);
  std::vector<int> units, groups;
  for (int r = 0; r < reps; ++r) {
    units.clear(), groups.clear();
    for (size_t i = 0; i < tops.size(); ++i) {
      const auto& in = units_of[tops[size_t(rng.uniform_int(0, int64_t(tops.size()) - 1))]];
      for (size_t j = 0; j < in.size(); ++j) units.push_back(in[size_t(rng.uniform_int(0, int64_t(in.size()) - 1))]);
    }
    for (auto& [s, m] : groups_of)
      for (size_t k = 0; k < m.size(); ++k) groups.push_back(m[size_t(rng.uniform_int(0, int64_t(m.size()) - 1))]);
    const double v = stat(units, groups);
    if (std::isfinite(v)) d.values.push_back(v);
  }
  std::sort(d.values.begin(), d.values.end());
  return d;
}

double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) return std::numeric_limits<double>::quiet_NaN();
  // Bisection on the CDF 0.5 erfc(-x / sqrt 2): 200 halvings of [-40, 40] reach double precision.
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double minimum_detectable_effect(double se, double alpha, double power) {
  return (normal_quantile(1 - alpha / 2) + normal_quantile(power)) * se;
}

std::vector<bool> holm(const std::vector<double>& p, double alpha) {
  std::vector<size_t> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<bool> rejected(p.size(), false);
  for (size_t k = 0; k < order.size(); ++k) {
    if (!(p[order[k]] <= alpha / double(order.size() - k))) break;  // the first acceptance stops the steps
    rejected[order[k]] = true;
  }
  return rejected;
}

MeanStd mean_std(const std::vector<double>& v) {
  MeanStd m;
  m.n = int(v.size());
  if (v.empty()) return m;
  for (double x : v) m.mean += x;
  m.mean /= v.size();
  if (v.size() > 1) {
    double s = 0;
    for (double x : v) s += (x - m.mean) * (x - m.mean);
    m.std = std::sqrt(s / (v.size() - 1));
  }
  return m;
}

Interval newcombe_difference(const Rate& a, const Rate& b) {
  if (!a.n || !b.n) return {-1.0, 1.0};
  const double p1 = double(a.k) / a.n, p2 = double(b.k) / b.n, d = p1 - p2;
  const Interval w1 = a.ci(), w2 = b.ci();
  return {d - std::sqrt((p1 - w1.lo) * (p1 - w1.lo) + (w2.hi - p2) * (w2.hi - p2)),
          d + std::sqrt((w1.hi - p1) * (w1.hi - p1) + (p2 - w2.lo) * (p2 - w2.lo))};
}

Interval pearson_ci95(double r, int n) {
  if (n < 4 || !std::isfinite(r)) return {-1, 1};
  const double z = std::atanh(std::clamp(r, -0.999999, 0.999999)), h = 1.959963984540054 / std::sqrt(double(n - 3));
  return {std::tanh(z - h), std::tanh(z + h)};
}

Interval mean_ci95(const MeanStd& m) {
  if (m.n < 2) return {-std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  // t(0.975, df) for df = 1..30; beyond, the Cornish-Fisher expansion around z.
  static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                             2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                             2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  const int df = m.n - 1;
  const double z = 1.959963984540054;
  const double q = df <= 30 ? t[df - 1] : z + (z * z * z + z) / (4.0 * df);
  const double h = q * m.std / std::sqrt(double(m.n));
  return {m.mean - h, m.mean + h};
}

}  // namespace unigap
