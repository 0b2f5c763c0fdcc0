#include "eval/gap_metrics.h"

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
          {"gen_overall_ci95", {gen_overall_ci.lo, gen_overall_ci.hi}},
          {"non_ci95_bootstrap", {non_ci.lo, non_ci.hi}},
          {"pooled", pooled.to_json()},
          {"by_tag", tags},
          {"by_level", levels}};
}

namespace {

// Images grouped by suite line: the bootstrap's resampling unit.
using Clusters = std::vector<std::vector<const ImageRecord*>>;

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

  // Bootstrap over prompts: resample suite lines; each keeps all its images.
  std::map<int, std::vector<const ImageRecord*>> by_prompt;
  for (auto& r : recs) by_prompt[r.prompt_index].push_back(&r);
  Clusters clusters;
  for (auto& [i, v] : by_prompt) clusters.push_back(v);
  s.gen_overall_ci = bootstrap(
      int(clusters.size()), [&](const std::vector<int>& idx) { return gen_overall_of(clusters, idx); }, reps, seed);
  s.non_ci = bootstrap(
      int(clusters.size()), [&](const std::vector<int>& idx) { return non_of(clusters, idx); }, reps, seed + 1);
  return s;
}

json PairedGap::to_json() const {
  return {{"d_gen", d_gen}, {"d_gen_ci95", {d_gen_ci.lo, d_gen_ci.hi}}, {"d_non", d_non},
          {"d_non_ci95", {d_non_ci.lo, d_non_ci.hi}}, {"lines", lines}};
}

PairedGap paired_gap(const std::vector<ImageRecord>& base, const std::vector<ImageRecord>& now, uint64_t seed, int reps) {
  std::map<int, std::vector<const ImageRecord*>> b, n;
  for (auto& r : base) b[r.prompt_index].push_back(&r);
  for (auto& r : now) n[r.prompt_index].push_back(&r);
  Clusters cb, cn;
  for (auto& [i, v] : b)
    if (n.count(i)) cb.push_back(v), cn.push_back(n.at(i));
  PairedGap p;
  p.lines = int(cb.size());
  std::vector<int> all(cb.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = int(i);
  p.d_gen = gen_overall_of(cn, all) - gen_overall_of(cb, all);
  p.d_non = non_of(cn, all) - non_of(cb, all);
  p.d_gen_ci = bootstrap(
      p.lines, [&](const std::vector<int>& idx) { return gen_overall_of(cn, idx) - gen_overall_of(cb, idx); }, reps, seed);
  p.d_non_ci = bootstrap(
      p.lines, [&](const std::vector<int>& idx) { return non_of(cn, idx) - non_of(cb, idx); }, reps, seed + 1);
  return p;
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
