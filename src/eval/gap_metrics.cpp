#include "eval/gap_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "common/error.h"

namespace unigap {

json Confusion::to_json() const {
  return {{"tp", tp}, {"fp", fp}, {"tn", tn}, {"fn", fn}, {"precision", precision().to_json()}, {"recall", recall().to_json()}};
}

json GapMetrics::to_json() const {
  return {{"gen", gen.to_json()},           {"non", non.to_json()},
          {"weakgen", weakgen.to_json()},   {"confusion", confusion.to_json()},
          {"prompts", prompts},             {"prompts_any_correct", prompts_any_correct}};
}

std::string group_of(const ImageRecord& r) { return r.group.empty() ? r.tag + "|" + r.prompt : r.group; }

GapMetrics metrics_of(const std::vector<const ImageRecord*>& recs) {
  GapMetrics g;
  std::map<int, bool> any;
  for (auto* r : recs) {
    g.gen.n++, g.non.n++;
    g.gen.k += r->oracle;
    g.non.k += !r->verdict;
    if (r->verdict) (r->oracle ? g.confusion.tp : g.confusion.fp)++;
    else (r->oracle ? g.confusion.fn : g.confusion.tn)++;
    any[r->prompt_index] = any[r->prompt_index] || r->oracle;
  }
  g.weakgen = {g.confusion.tn, g.confusion.tn + g.confusion.fn};
  g.prompts = int(any.size());
  for (auto& [i, a] : any) g.prompts_any_correct += a;
  return g;
}

json GapSummary::to_json() const {
  json tags = json::object(), levels = json::object();
  for (auto& [t, m] : by_tag) tags[t] = m.to_json();
  for (auto& [t, m] : by_level) levels[t] = m.to_json();
  return {{"gen_overall", gen_overall},
          {"groups", groups},
          {"gen_overall_ci95", interval_json(gen_overall_ci)},
          {"non_ci95_bootstrap", interval_json(non_ci)},
          {"pooled", pooled.to_json()},
          {"by_tag", tags},
          {"by_level", levels}};
}

namespace {

// Images grouped by meaning group: the bootstrap's resampling unit.
using Clusters = std::vector<std::vector<const ImageRecord*>>;

// Each group's images (in the order of `recs`) and the group's tag as its stratum.
void cluster(const std::vector<ImageRecord>& recs, std::map<std::string, std::vector<const ImageRecord*>>& by_group) {
  for (auto& r : recs) by_group[group_of(r)].push_back(&r);
}
// The groups both evaluations have, each side's images of a group at the same index.
void paired_clusters(const std::vector<ImageRecord>& base, const std::vector<ImageRecord>& now, Clusters& cb, Clusters& cn) {
  std::map<std::string, std::vector<const ImageRecord*>> b, n;
  cluster(base, b);
  cluster(now, n);
  for (auto& [g, v] : b)
    if (n.count(g)) cb.push_back(v), cn.push_back(n.at(g));
}
std::vector<int> strata_of(const Clusters& clusters) {
  std::map<std::string, int> id;
  std::vector<int> s;
  for (auto& c : clusters) s.push_back(id.emplace(c.front()->tag, int(id.size())).first->second);
  return s;
}

// GenEval overall (mean of the per-tag accuracies) over the lines idx.
double gen_overall_of(const Clusters& clusters, const std::vector<int>& idx) {
  std::map<std::string, std::pair<double, double>> acc;  // tag -> (correct, n)
  for (int i : idx)
    for (auto* r : clusters[i]) acc[r->tag].first += r->oracle, acc[r->tag].second += 1;
  double sum = 0;
  for (auto& [t, a] : acc) sum += a.first / a.second;
  return acc.empty() ? 0.0 : sum / acc.size();
}

// Non (share of images the own judge rejects) over the lines idx.
double non_of(const Clusters& clusters, const std::vector<int>& idx) {
  double rej = 0, n = 0;
  for (int i : idx)
    for (auto* r : clusters[i]) rej += !r->verdict, n += 1;
  return n ? rej / n : 0.0;
}

}  // namespace

GapSummary summarize_gap(const std::vector<ImageRecord>& recs, uint64_t seed, int reps) {
  GapSummary s;
  std::map<std::string, std::vector<const ImageRecord*>> tag, level;
  std::vector<const ImageRecord*> all;
  for (auto& r : recs) tag[r.tag].push_back(&r), level[r.level].push_back(&r), all.push_back(&r);
  for (auto& [t, v] : tag) s.by_tag[t] = metrics_of(v);
  for (auto& [l, v] : level) s.by_level[l] = metrics_of(v);
  s.pooled = metrics_of(all);
  for (auto& [t, m] : s.by_tag) s.gen_overall += *m.gen.value();
  if (!s.by_tag.empty()) s.gen_overall /= s.by_tag.size();

  // Cluster bootstrap over meaning groups within tags; each group keeps all its images.
  std::map<std::string, std::vector<const ImageRecord*>> by_group;
  cluster(recs, by_group);
  Clusters clusters;
  for (auto& [g, v] : by_group) clusters.push_back(v);
  s.groups = int(clusters.size());
  const auto strata = strata_of(clusters);
  s.gen_overall_ci = stratified_bootstrap(
      strata, [&](const std::vector<int>& idx) { return gen_overall_of(clusters, idx); }, reps, seed);
  s.non_ci = stratified_bootstrap(
      strata, [&](const std::vector<int>& idx) { return non_of(clusters, idx); }, reps, seed + 1);
  return s;
}

json PairedGap::to_json() const {
  return {{"d_gen", d_gen}, {"d_gen_ci95", interval_json(d_gen_ci)}, {"d_non", d_non},
          {"d_non_ci95", interval_json(d_non_ci)}, {"groups", groups}};
}

PairedGap paired_gap(const std::vector<ImageRecord>& base, const std::vector<ImageRecord>& now, uint64_t seed, int reps) {
  Clusters cb, cn;
  paired_clusters(base, now, cb, cn);
  PairedGap p;
  p.groups = int(cb.size());
  std::vector<int> all(cb.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = int(i);
  p.d_gen = gen_overall_of(cn, all) - gen_overall_of(cb, all);
  p.d_non = non_of(cn, all) - non_of(cb, all);
  const auto strata = strata_of(cb);
  p.d_gen_ci = stratified_bootstrap(
      strata, [&](const std::vector<int>& idx) { return gen_overall_of(cn, idx) - gen_overall_of(cb, idx); }, reps, seed);
  p.d_non_ci = stratified_bootstrap(
      strata, [&](const std::vector<int>& idx) { return non_of(cn, idx) - non_of(cb, idx); }, reps, seed + 1);
  return p;
}

double auroc(const std::vector<const ImageRecord*>& recs) {
  std::vector<std::pair<double, bool>> v;
  int64_t pos = 0;
  for (auto* r : recs) v.push_back({r->score, r->oracle}), pos += r->oracle;
  const int64_t neg = int64_t(v.size()) - pos;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first < b.first; });
  // Mann-Whitney: sum of the positives' mid-ranks.
  double rank_sum = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j].first == v[i].first) ++j;
    const double mid = (double(i) + double(j - 1)) / 2 + 1;
    for (size_t k = i; k < j; ++k)
      if (v[k].second) rank_sum += mid;
    i = j;
  }
  return (rank_sum - double(pos) * (pos + 1) / 2) / (double(pos) * double(neg));
}

json NonDecomposition::to_json() const {
  auto num = [](double x) { return std::isfinite(x) ? json(x) : json(); };
  return {{"base", base.to_json()},
          {"now", now.to_json()},
          {"d_non", d_non},
          {"d_tp_share", d_tp},
          {"d_tp_share_ci95", interval_json(d_tp_ci)},
          {"d_fp_share", d_fp},
          {"d_fp_share_ci95", interval_json(d_fp_ci)},
          {"auroc_base", num(auroc_base)},
          {"auroc_now", num(auroc_now)},
          {"reading", reading}};
}

NonDecomposition decompose_non(const std::vector<ImageRecord>& base, const std::vector<ImageRecord>& now, uint64_t seed,
                               int reps) {
  Clusters cb, cn;
  paired_clusters(base, now, cb, cn);
  auto share = [](const Clusters& c, const std::vector<int>& idx, bool want_oracle) {
    double k = 0, total = 0;
    for (int i : idx)
      for (auto* r : c[size_t(i)]) k += (r->verdict && r->oracle == want_oracle), total += 1;
    return total ? k / total : 0.0;
  };
  std::vector<int> all(cb.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = int(i);
  std::vector<const ImageRecord*> fb, fn;
  for (auto& c : cb) fb.insert(fb.end(), c.begin(), c.end());
  for (auto& c : cn) fn.insert(fn.end(), c.begin(), c.end());
  NonDecomposition d;
  d.base = metrics_of(fb).confusion, d.now = metrics_of(fn).confusion;
  d.d_non = non_of(cn, all) - non_of(cb, all);
  d.d_tp = share(cn, all, true) - share(cb, all, true);
  d.d_fp = share(cn, all, false) - share(cb, all, false);
  const auto strata = strata_of(cb);
  d.d_tp_ci = stratified_bootstrap(
      strata, [&](const std::vector<int>& idx) { return share(cn, idx, true) - share(cb, idx, true); }, reps, seed);
  d.d_fp_ci = stratified_bootstrap(
      strata, [&](const std::vector<int>& idx) { return share(cn, idx, false) - share(cb, idx, false); }, reps, seed + 1);
  d.auroc_base = auroc(fb), d.auroc_now = auroc(fn);
  d.reading = non_reading(d.d_non, d.d_tp, d.d_fp);
  return d;
}

std::string non_reading(double d_non, double d_tp, double d_fp) {
  const double fall = -d_non;  // = d_tp + d_fp
  if (!(fall > 1e-12)) return "no fall";
  if (d_fp <= 0) return "better images";
  if (d_tp <= 0) return "laxer judge";
  if (d_fp >= 2 * fall / 3) return "mostly a laxer judge";
  if (d_tp >= 2 * fall / 3) return "mostly better images";
  return "both";
}

json UndGroup::to_json() const {
  return {{"accuracy", accuracy.to_json()},
          {"fp_rate", fp_rate.to_json()},
          {"fn_rate", fn_rate.to_json()},
          {"hard_negative_accuracy", hard_negative_accuracy.to_json()}};
}

json UndSummary::to_json() const {
  json tags = json::object(), levels = json::object();
  for (auto& [t, g] : by_tag) tags[t] = g.to_json();
  for (auto& [t, g] : by_level) levels[t] = g.to_json();
  return {{"overall", overall.to_json()}, {"by_tag", tags}, {"by_level", levels}};
}

static void add_pair(UndGroup& g, const PairRecord& p) {
  g.accuracy.n++;
  g.accuracy.k += (p.verdict == p.positive);
  if (p.positive) {
    g.fn_rate.n++;
    g.fn_rate.k += !p.verdict;
  } else {
    g.fp_rate.n++;
    g.fp_rate.k += p.verdict;
    if (p.hard) {
      g.hard_negative_accuracy.n++;
      g.hard_negative_accuracy.k += !p.verdict;
    }
  }
}

UndSummary summarize_und(const std::vector<PairRecord>& pairs) {
  UndSummary s;
  for (auto& p : pairs) {
    add_pair(s.overall, p);
    add_pair(s.by_tag[p.tag], p);
    add_pair(s.by_level[p.level], p);
  }
  return s;
}

json Comparison::to_json() const {
  return {{"win_rate", win_rate.to_json()},
          {"fp_to_tn", fp_to_tn},
          {"tn_to_fp", tn_to_fp},
          {"fn_to_tp", fn_to_tp},
          {"tp_to_fn", tp_to_fn}};
}

Comparison compare_judges(const std::vector<bool>& ref, const std::vector<bool>& now, const std::vector<bool>& oracle) {
  UNIGAP_ASSERT(ref.size() == now.size() && now.size() == oracle.size(), "compare_judges: sizes differ");
  Comparison c;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (ref[i] == now[i]) continue;
    c.win_rate.n++;
    c.win_rate.k += (now[i] == oracle[i]);
    if (!oracle[i] && ref[i] && !now[i]) c.fp_to_tn++;
    if (!oracle[i] && !ref[i] && now[i]) c.tn_to_fp++;
    if (oracle[i] && !ref[i] && now[i]) c.fn_to_tp++;
    if (oracle[i] && ref[i] && !now[i]) c.tp_to_fn++;
  }
  return c;
}

}  // namespace unigap
