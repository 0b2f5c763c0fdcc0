#include "eval/stats.h"

#include <algorithm>
#include <cmath>

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

}  // namespace unigap
