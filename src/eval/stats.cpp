#include "eval/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

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
