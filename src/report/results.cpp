#include "report/results.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "eval/stats.h"
#include "report/claims.h"
#include "report/svg.h"

namespace unigap {

namespace {

std::string pts(double x) { return std::isfinite(x) ? fmt("%+.1f", 100 * x) : std::string("-"); }
std::string est_text(const Estimate& e) {
  const Interval ci = e.dist.ci95();
  if (!std::isfinite(e.value)) return "not measured";
  return pts(e.value) + (defined(ci) ? " [" + pts(ci.lo) + ", " + pts(ci.hi) + "]" : std::string(" [no interval]"));
}

// The study's pre-declared primary endpoints: one per claim, each a paired difference with a
// direction (docs/results.md explains the choice). Their family is tested with Holm's rule.
struct Primary {
  std::string claim;
  std::function<bool(const Arm&)> arm, versus;  // versus empty: the base
  Endpoint endpoint;
  int direction;
};
const std::vector<Primary>& primaries() {
  static const auto self_sft = [](const Arm& a) { return a.method == "sft" && a.supervision == "self" && a.replay.empty(); };
  static const std::vector<Primary> p = {
      {"Self-SFT raises Gen", self_sft, nullptr, Endpoint::Gen, +1},
      {"Self-SFT improves understanding on the base's images (win rate > 50%)", self_sft, nullptr, Endpoint::WinRate, +1},
      {"Self-DPO raises Gen", [](const Arm& a) { return a.method == "dpo" && a.supervision == "self"; }, nullptr, Endpoint::Gen, +1},
      {"Oracle SFT raises Gen (the upper bound)", [](const Arm& a) { return a.method == "sft" && a.supervision == "oracle"; }, nullptr,
       Endpoint::Gen, +1},
      {"Curriculum replay beats plain self-SFT",
       [](const Arm& a) { return a.method == "sft" && a.supervision == "self" && !a.replay.empty(); }, self_sft, Endpoint::Gen, +1},
      {"Inverted supervision lowers Gen (co-degradation)",
       [](const Arm& a) { return a.method == "sft" && a.supervision == "inverted"; }, nullptr, Endpoint::Gen, -1},
      {"Self-SFT beats unfiltered SFT on every candidate", self_sft,
       [](const Arm& a) { return a.method == "sft" && a.supervision == "all"; }, Endpoint::Gen, +1},
      {"Self-SFT beats continued pretraining on renders", self_sft,
       [](const Arm& a) { return a.method == "sft" && a.supervision == "render"; }, Endpoint::Gen, +1},
      // Online RL (declared before its arms ran): the same images and optimizer steps as self-SFT.
      {"Online self-reward (GRPO) beats offline self-SFT", [](const Arm& a) { return a.method == "grpo" && a.supervision == "self"; },
       self_sft, Endpoint::Gen, +1},
      {"GRPO with the oracle's reward raises Gen", [](const Arm& a) { return a.method == "grpo" && a.supervision == "oracle"; }, nullptr,
       Endpoint::Gen, +1},
      {"Inverted reward lowers Gen under GRPO (co-degradation online)",
       [](const Arm& a) { return a.method == "grpo" && a.supervision == "inverted"; }, nullptr, Endpoint::Gen, -1},
  };
  return p;
}

// A learning rate as its option is written: 1e-4, 3e-5, 0.5.
std::string lr_text(double lr) {
  if (!(lr > 0 && lr < 1e-2)) return fmt("%g", lr);
  std::string t = fmt("%.0e", lr);  // "3e-05"
  const auto e = t.find("e-0");
  return e == std::string::npos ? t : t.erase(e + 2, 1);
}

// The page's note of each learning rate chosen on validation ("" where none was).
std::string rate_notes(const RateChoices& rates, json& data) {
  std::string md;
  data["learning_rates"] = json::object();
  for (const RateChoice& rate : rates.by_method) {
    if (!std::isfinite(rate.chosen)) continue;
    std::string by, seeds, name = rate.method;
    for (auto& [lr, g] : rate.gen) by += (by.empty() ? "" : ", ") + lr_text(lr) + ": " + fmt("%.2f%%", 100 * g);
    for (int s : rate.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(s);
    for (char& c : name) c = char(std::toupper(static_cast<unsigned char>(c)));
    json g = json::array();
    for (auto& [lr, gen] : rate.gen) g.push_back({{"lr", lr}, {"val_gen", gen}});
    data["learning_rates"][rate.method] = {{"chosen", rate.chosen}, {"by_lr", g}, {"seeds", rate.seeds}};
    md += "\n" + name + "'s learning rate, chosen on validation: **" + lr_text(rate.chosen) + "**, the highest Gen of the " + name +
          " self-supervised arms' held-out tracking (validation split) at the end of training, mean over seeds " + seeds + " (" +
          by + "). The " + name + " endpoints read the arms at that rate; the others are tuning runs.\n";
  }
  return md;
}

std::string primary_endpoints(const Study& st, json& data) {
  const double alpha = 0.05;
  struct Row {
    const Primary* p;
    const Arm *arm, *versus;
    Estimate e;
  };
  std::vector<Row> rows;
  for (auto& p : primaries()) {
    const Arm* a = st.find(p.arm);
    const Arm* v = p.versus ? st.find(p.versus) : nullptr;
    if (!a || (p.versus && !v)) continue;
    Estimate e = estimate(st, *a, v, p.endpoint, derive_seed(20261206, p.claim));
    if (e.dist.values.empty()) continue;
    rows.push_back({&p, a, v, std::move(e)});
  }
  if (rows.empty()) return "";
  std::vector<double> pv;
  for (auto& r : rows) pv.push_back(r.e.dist.p_one_sided(r.p->direction));
  const std::vector<bool> rejected = holm(pv, alpha);
  const double mde_alpha = alpha / double(rows.size());
  std::string md = "\n## Primary endpoints\n\nOne pre-declared endpoint per claim, each a paired difference in points "
                   "(arm minus base, or minus the named arm). Intervals: 95% hierarchical bootstrap (pretraining seeds, then "
                   "fine-tuning seeds within them, then distinct prompts within tags, one draw of prompts shared by both sides). "
                   "p: one-sided bootstrap p-value of the claimed direction. The family of " + std::to_string(rows.size()) +
                   " endpoints is tested with Holm's rule at 5%. MDE: the smallest true difference detected with 80% power at "
                   "the Bonferroni level " + fmt("%.4f", mde_alpha) + " (Holm's first step), from the bootstrap standard error.\n\n"
                   "| claim | endpoint | arm | seeds (pretraining) | estimate [95% CI] | p | Holm 5% | MDE | verdict |\n"
                   "|---|---|---|---|---|---|---|---|---|\n";
  data["primary_endpoints"] = json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const Interval ci = r.e.dist.ci95();
    const bool wrong_side = r.p->direction > 0 ? ci.hi < 0 : ci.lo > 0;
    const double mde = r.e.mde(mde_alpha);
    const std::string verdict = rejected[i]   ? "supported"
                                : wrong_side ? "contradicted (the interval lies on the other side)"
                                             : "undetermined at this power (MDE " + fmt("%.1f", 100 * mde) + " points)";
    const std::string arm = r.arm->name + (r.versus ? " vs " + r.versus->name : std::string(" vs base"));
    const std::string seeds = std::to_string(r.e.seeds) + " (" + std::to_string(r.e.pretrain_seeds) + ")";
    md += "| " + r.p->claim + " | " + endpoint_name(r.p->endpoint) + " (" + (r.p->direction > 0 ? ">" : "<") + " 0) | " + arm +
          " | " + seeds + " | " + est_text(r.e) + " | " + fmt("%.3f", pv[i]) + " | " + (rejected[i] ? "rejects H0" : "does not reject") +
          " | " + fmt("%.1f", 100 * mde) + " | **" + verdict + "** |\n";
    json j = r.e.to_json(mde_alpha);
    j["claim"] = r.p->claim, j["endpoint"] = endpoint_name(r.p->endpoint), j["direction"] = r.p->direction;
    j["arm"] = arm, j["p_one_sided"] = pv[i], j["holm_rejects"] = bool(rejected[i]), j["verdict"] = verdict;
    data["primary_endpoints"].push_back(j);
  }
  // Each endpoint reads the seeds where its arms (both, for a comparison of two) have run: its column.
  md += "\nSeeds: the fine-tuning seeds each endpoint reads (over how many pretraining seeds); " +
        std::to_string(rows.front().e.groups) + " distinct eval prompts. Every other figure on this page is "
        "secondary: descriptive, with unadjusted intervals.\n";
  return md;
}

// One seed's own images: its confusion added to `c`, its AUROC appended to `au`.
void add_own(const std::vector<ImageRecord>& recs, Confusion& c, std::vector<double>& au) {
  std::vector<const ImageRecord*> p;
  for (auto& r : recs) p.push_back(&r);
  const Confusion g = metrics_of(p).confusion;
  c.tp += g.tp, c.fp += g.fp, c.tn += g.tn, c.fn += g.fn;
  au.push_back(auroc(p));
}

// Non decomposed for every arm: was a fall in Non better images or a laxer judge?
std::string non_decomposed(const Study& st, const std::vector<const Arm*>& order, json& data) {
  if (st.base_recs.empty()) return "";
  std::string md = "\n## Non decomposed: better images or a laxer judge?\n\nNon = 1 - (TP + FP) / N on a model's own images, "
                   "so -dNon = d(TP share) + d(FP share) exactly. Shares in points with hierarchical intervals; precision of the "
                   "judge's own acceptances TP / (TP + FP) and AUROC of its score against the oracle (pooled over seeds; mean over "
                   "seeds); its change against the base is paired on the arm's seeds, with its hierarchical interval (a base's "
                   "row pools every seed it has, so read the change, not the two rows); transitions of the judge's verdicts on "
                   "the base's images, summed over seeds.\n\n"
                   "| model | Non | TP share | FP share | precision of own acceptances | precision vs base | AUROC | FP&rarr;TN / "
                   "TN&rarr;FP / TP&rarr;FN / FN&rarr;TP | reading |\n|---|---|---|---|---|---|---|---|---|\n";
  data["non_decomposed"] = json::object();
  for (auto& [base, seeds] : st.seeds_by_base()) {
    Confusion c;
    std::vector<double> au;
    for (int s : seeds)
      if (st.base_recs.count(s)) add_own(st.base_recs.at(s), c, au);
    if (c.tp + c.fp + c.tn + c.fn == 0) continue;
    md += "| " + st.base_label(base) + " | | | | " + rate_text(c.precision()) + " | | " + fmt("%.3f", mean_std(au).mean) + " | | |\n";
  }
  for (auto* a : order) {
    const Estimate dn = estimate(st, *a, nullptr, Endpoint::Non, 11), dt = estimate(st, *a, nullptr, Endpoint::TpShare, 12),
                   df = estimate(st, *a, nullptr, Endpoint::FpShare, 13), dp = estimate(st, *a, nullptr, Endpoint::Precision, 14);
    if (dn.dist.values.empty()) continue;
    Confusion c;
    std::vector<double> au;
    int64_t fptn = 0, tnfp = 0, tpfn = 0, fntp = 0;
    for (auto& s : a->seeds) {
      if (s.recs.empty()) continue;
      add_own(s.recs, c, au);
      if (s.eval.contains("vs_ref")) {
        const json& v = s.eval["vs_ref"];
        fptn += v.value("fp_to_tn", int64_t(0)), tnfp += v.value("tn_to_fp", int64_t(0));
        tpfn += v.value("tp_to_fn", int64_t(0)), fntp += v.value("fn_to_tp", int64_t(0));
      }
    }
    const std::string reading = non_reading(dn.value, dt.value, df.value);
    md += "| " + a->name + " | " + est_text(dn) + " | " + est_text(dt) + " | " + est_text(df) + " | " + rate_text(c.precision()) +
          " | " + est_text(dp) + " | " + fmt("%.3f", mean_std(au).mean) + " | " + std::to_string(fptn) + " / " + std::to_string(tnfp) + " / " +
          std::to_string(tpfn) + " / " + std::to_string(fntp) + " | " + reading + " |\n";
    data["non_decomposed"][a->name] = {{"d_non", dn.to_json(0.05)}, {"d_tp_share", dt.to_json(0.05)},
                                       {"d_fp_share", df.to_json(0.05)}, {"precision", c.precision().to_json()}, {"d_precision", dp.to_json(0.05)},
                                       {"auroc_mean", mean_std(au).mean}, {"fp_to_tn", fptn}, {"tn_to_fp", tnfp},
                                       {"tp_to_fn", tpfn}, {"fn_to_tp", fntp}, {"reading", reading}};
  }
  return md;
}
// The paper's mechanism on images no arm trained on (`dynamics --held-out`, docs/dynamics.md):
// per arm and seed, both judges' change on the base's false positives, their transitions and
// AUROC, the gradient alignment and the first-order fit of the run's update.
std::string held_out_dynamics_section(const std::vector<const Arm*>& order, json& data) {
  std::string md;
  json out = json::object();
  auto f = [](const json& v, const char* format) { return v.is_number() ? fmt(format, v.get<double>()) : std::string("-"); };
  auto with_ci = [&](const json& c, const char* format) {  // {"mean", "ci95"} -> "+0.004 [-0.010, +0.018]"
    std::string t = f(c.value("mean", json()), format);
    if (c.value("ci95", json()).is_array()) t += " [" + f(c["ci95"][0], format) + ", " + f(c["ci95"][1], format) + "]";
    return t;
  };
  auto change = [&](const json& c) { return with_ci(c, "%+.2f") + " (" + std::to_string(c.value("images", 0)) + ")"; };
  auto auroc = [&](const json& j) {  // "0.929 -> 0.933 (+0.004 [-0.010, +0.018])"
    std::string t = f(j.value("auroc_base", json()), "%.3f") + " &rarr; " + f(j.value("auroc_now", json()), "%.3f");
    const json c = j.value("auroc_change", json::object());
    if (c.value("mean", json()).is_number()) t += " (" + with_ci(c, "%+.3f") + ")";
    return t;
  };
  auto flips = [](const json& t) {
    return std::to_string(t.value("fp_corrected", 0)) + " / " + std::to_string(t.value("newly_wrong_tn_to_fp", 0));
  };
  for (auto* a : order)
    for (auto& s : a->seeds) {
      if (!s.held_out.is_object() || !s.held_out.contains("judges")) continue;
      if (md.empty()) {
        md += "\n## Held-out dynamics: does fine-tuning generation move the judge on unseen images?\n\n";
        md += "`unigap dynamics --held-out eval` of each arm's model against the base (docs/dynamics.md): the base's own images "
              "of eval prompts, which no arm trained on. Change on FP: the mean change of the judge's statistic on the images "
              "the base's judge wrongly accepted (yes/no: log-odds; Bayes: log posterior of the prompt), 95% bootstrap over "
              "prompts, (images); a fall is co-improvement. FP&rarr;TN / TN&rarr;FP: transitions on these images. AUROC against "
              "the oracle, base &rarr; arm (change, 95% bootstrap over prompts): threshold-free. cos: mean "
              "cosine of the generation gradient with the judge's at the base. r: measured change of the log-odds against "
              "<gradient, theta_arm - theta_base>.\n\n";
        md += "| arm | seed | yes/no: change on FP | FP&rarr;TN / TN&rarr;FP | AUROC | Bayes: change on FP | FP&rarr;TN / TN&rarr;FP | AUROC "
              "| cos(G, yes/no) | cos(G, Bayes) | r (log-odds) |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
      }
      const json& j = s.held_out["judges"];
      const json& yn = j.value("yes_no", json::object());
      const json& by = j.value("bayes", json::object());
      const json& k = s.held_out.value("kernel", json::object());
      const json& fo = s.held_out.value("first_order", json::object());
      md += "| " + a->name + " | " + std::to_string(s.seed) + " | " + change(yn.value("change_on_base_fp", json::object())) + " | " +
            flips(yn.value("transitions", json::object())) + " | " + auroc(yn) + " | " + change(by.value("change_on_base_fp", json::object())) +
            " | " + flips(by.value("transitions", json::object())) + " | " + auroc(by) + " | " + f(k.value("mean_cos_gen_und", json()), "%.4f") + " | " +
            f(k.value("mean_cos_gen_bayes", json()), "%.4f") + " | " +
            f(fo.value("log_odds", json::object()).value("pearson", json()), "%.2f") + " |\n";
      out[a->name][std::to_string(s.seed)] = s.held_out;
    }
  if (!out.empty()) data["held_out_dynamics"] = out;
  return md;
}

// How an evaluation's guidance was decided: "first look", "second look" (the two-look rule of
// docs/metrics.md) or "one look" (an evaluation from before that rule); "" when none was chosen.
std::string guidance_look(const json& eval) {
  if (!std::isfinite(chosen_guidance(eval))) return "";
  const json& g = eval["guidance"];
  if (g.value("rule", "") != "two-stage") return "one look";
  return g.value("second", json()).is_object() ? "second look" : "first look";
}

// The guidance each model was evaluated at, chosen on the validation split per model and seed
// (eval --cfg-grid), and by which look; "" when no evaluation chose one.
std::string guidance_section(const Study& st, const std::vector<const Arm*>& order, json& data) {
  struct Row {
    std::string name;
    std::vector<double> weight;     // per seed of the study
    std::vector<std::string> look;  // guidance_look, per seed
  };
  auto row_of = [&](const std::string& name, const std::function<const json*(int)>& eval_of) {
    Row r{name, std::vector<double>(st.seeds.size(), NAN), std::vector<std::string>(st.seeds.size())};
    for (size_t i = 0; i < st.seeds.size(); ++i)
      if (const json* e = eval_of(st.seeds[i])) r.weight[i] = chosen_guidance(*e), r.look[i] = guidance_look(*e);
    return r;
  };
  std::vector<Row> rows = {row_of("base", [&](int s) { return &st.base_of.at(s); })};
  for (const Arm* a : order)
    rows.push_back(row_of(a->name, [&](int seed) -> const json* {
      for (const ArmSeed& s : a->seeds)
        if (s.seed == seed) return &s.eval;
      return nullptr;
    }));
  if (finite_values(rows.front().weight).empty()) return "";
  std::string md = "\n## Evaluation guidance\n\nEach model's guidance weight, chosen on the validation split (never on eval) by "
                   "Gen at each weight of the grid, per seed; the win rate reads the base's images at the base's weight. A first "
                   "look on " + std::to_string(st.base_of.begin()->second.value("guidance", json::object()).value("prompts", 0)) +
                   " validation prompts decides unless it cannot separate its best weight from another (the 95% "
                   "interval of their difference, over distinct prompts, reaches 0); then those weights are compared again on "
                   "every validation prompt, marked `2nd`. `1 look`: an evaluation from before this rule, whose first look "
                   "decided alone (docs/metrics.md).\n\n| model |";
  for (int s : st.seeds) md += " seed " + std::to_string(s) + " |";
  md += "\n|---|";
  for (size_t i = 0; i < st.seeds.size(); ++i) md += "---|";
  md += "\n";
  json weights = json::object(), looks = json::object();
  for (auto& r : rows) {
    md += "| " + r.name + " |";
    json jw = json::array(), jl = json::array();
    for (size_t i = 0; i < r.weight.size(); ++i) {
      const double x = r.weight[i];
      const std::string mark = r.look[i] == "second look" ? " (2nd)" : r.look[i] == "one look" ? " (1 look)" : "";
      md += " " + (std::isfinite(x) ? fmt("%g", x) + mark : std::string("-")) + " |";
      jw.push_back(std::isfinite(x) ? json(x) : json());
      jl.push_back(r.look[i].empty() ? json() : json(r.look[i]));
    }
    md += "\n";
    weights[r.name] = jw, looks[r.name] = jl;
  }
  data["guidance"] = weights;
  data["guidance_look"] = looks;
  return md;
}

// What the validation split says of the declared number of epochs: each arm's held-out
// tracking Gen at every epoch (validation split), mean over its seeds tracked there at every
// epoch, the best epoch marked; "" when no arm of two epochs or more was tracked on validation.
std::string epochs_section(const std::vector<const Arm*>& order, json& data) {
  struct Row {
    const Arm* arm;
    std::vector<double> gen;  // per epoch, mean over `seeds`
    std::vector<int> seeds;
    size_t best = 1;
  };
  std::vector<Row> rows;
  size_t width = 0;  // epochs shown, epoch 0 included
  for (const Arm* a : order) {
    size_t epochs = 0;
    for (const ArmSeed& s : a->seeds) epochs = std::max(epochs, s.val_gen_by_epoch.size());
    if (epochs < 3) continue;  // the base and at least two trained epochs
    Row r{a, std::vector<double>(epochs, 0.0), {}};
    for (const ArmSeed& s : a->seeds) {
      const auto& g = s.val_gen_by_epoch;
      if (g.size() != epochs || !std::all_of(g.begin(), g.end(), [](double x) { return std::isfinite(x); })) continue;
      r.seeds.push_back(s.seed);
      for (size_t e = 0; e < epochs; ++e) r.gen[e] += g[e];
    }
    if (r.seeds.empty()) continue;
    for (double& g : r.gen) g /= double(r.seeds.size());
    r.best = size_t(std::max_element(r.gen.begin() + 1, r.gen.end()) - r.gen.begin());
    width = std::max(width, epochs);
    rows.push_back(std::move(r));
  }
  if (rows.empty()) return "";
  std::string md =
      "\n## Epochs on validation\n\nThe number of epochs of the budget is declared, not tuned on this study (docs/metrics.md). "
      "What a choice on validation would have read: each arm's held-out tracking Gen on the validation split after every epoch "
      "(epoch 0: the base), mean over the seeds tracked on it at every epoch, percent; the best epoch in bold, and its margin "
      "over the last epoch, which is the model evaluated.\n\n| model | seeds |";
  for (size_t e = 0; e < width; ++e) md += " " + std::to_string(e) + " |";
  md += " best epoch | best - last |\n|---|---|";
  for (size_t e = 0; e < width + 2; ++e) md += "---|";
  md += "\n";
  json out = json::object();
  for (const Row& r : rows) {
    std::string seeds;
    for (int s : r.seeds) seeds += (seeds.empty() ? "" : " ") + std::to_string(s);
    md += "| " + r.arm->name + " | " + seeds + " |";
    for (size_t e = 0; e < width; ++e) {
      const std::string g = e < r.gen.size() ? fmt("%.1f", 100 * r.gen[e]) : "";
      md += " " + (e == r.best ? "**" + g + "**" : g) + " |";
    }
    md += " " + std::to_string(r.best) + " | " + pts(r.gen[r.best] - r.gen.back()) + " |\n";
    out[r.arm->name] = {{"seeds", r.seeds}, {"val_gen", r.gen}, {"best_epoch", r.best}, {"last_epoch", r.gen.size() - 1}};
  }
  data["epochs_on_validation"] = out;
  return md;
}

// Online RL: the reward-hacking monitor of every GRPO arm and seed, the first steps against the
// last, and a figure per arm of the self reward and the oracle's accuracy over the steps.
std::string reward_hacking_section(const std::vector<const Arm*>& order, const std::string& figure_stem, json& data,
                                   std::map<std::string, std::string>& figures) {
  constexpr size_t kWindow = 10;          // steps averaged at each end
  constexpr double kHackedGrowth = 0.05;  // the divergence's growth, first window to last, read as hacking
  std::string md, links, verdicts;        // the table, the figures, the reading per arm
  json out = json::object(), readings = json::object();
  auto window_mean = [](const json& points, const char* key, size_t from, size_t to) {
    double sum = 0;
    int n = 0;
    for (size_t i = from; i < to; ++i)
      if (points[i].value(key, json()).is_number()) sum += points[i][key].get<double>(), ++n;
    return n ? sum / n : NAN;
  };
  for (auto* a : order) {
    std::vector<Series> curves;
    int hacked_seeds = 0, monitored_seeds = 0;
    for (auto& s : a->seeds) {
      const json& p = s.monitor;
      if (!p.is_array() || p.empty()) continue;
      if (md.empty()) {
        md += "\n## Reward hacking (GRPO)\n\n";
        md += "The reward-hacking monitor of `improve --method grpo` (docs/improve.md) on every step's samples: the reward the "
              "supervision gave them (self: the frozen base's P(yes) score) against the oracle's accuracy on the same samples. "
              "Means over the first and the last " + std::to_string(kWindow) + " steps, in percent. Favoured: the share the oracle "
              "calls right among the samples with a positive advantage. Divergence: reward minus oracle accuracy. Alarms: steps "
              "whose divergence's 95% interval over the step's prompts lay above the first step's divergence. Reading: "
              "*hacked* when the divergence grew by more than " + fmt("%.0f", 100 * kHackedGrowth) + " points from the first "
              "window to the last (about 2.5 standard errors of that difference; docs/improve.md), its growth in "
              "brackets: descriptive, not a test.\n\n";
        md += "| arm | seed | steps | reward | oracle accuracy | favoured | divergence | alarms (first at step) | reading |\n"
              "|---|---|---|---|---|---|---|---|---|\n";
      }
      const size_t n = p.size(), w = std::min(kWindow, n);
      auto ends = [&](const char* key) {
        auto pct = [](double v) { return std::isfinite(v) ? fmt("%.1f", 100 * v) : std::string("-"); };
        return pct(window_mean(p, key, 0, w)) + " &rarr; " + pct(window_mean(p, key, n - w, n));
      };
      int alarms = 0;
      std::string first_alarm = "-";
      Series reward{"reward, seed " + std::to_string(s.seed), {}, {}, "", false};
      Series oracle{"oracle accuracy, seed " + std::to_string(s.seed), {}, {}, "", true};
      for (auto& q : p) {
        const double step = q["step"].get<double>();
        if (q.value("alarm", false) && alarms++ == 0) first_alarm = fmt("%.0f", step);
        if (q.value("self_reward", json()).is_number()) reward.x.push_back(step), reward.y.push_back(q["self_reward"].get<double>());
        if (q.value("oracle_accuracy", json()).is_number()) oracle.x.push_back(step), oracle.y.push_back(q["oracle_accuracy"].get<double>());
      }
      const double growth = window_mean(p, "divergence", n - w, n) - window_mean(p, "divergence", 0, w);
      const bool hacked = growth > kHackedGrowth;
      hacked_seeds += hacked, ++monitored_seeds;
      md += "| " + a->name + " | " + std::to_string(s.seed) + " | " + std::to_string(n) + " | " + ends("self_reward") + " | " +
            ends("oracle_accuracy") + " | " + ends("favoured_precision") + " | " + ends("divergence") + " | " +
            std::to_string(alarms) + " (" + first_alarm + ") | " + (hacked ? "hacked" : "not hacked") + " (" + pts(growth) + ") |\n";
      out[a->name][std::to_string(s.seed)] = p;
      readings[a->name][std::to_string(s.seed)] = {{"divergence_growth", growth}, {"hacked", hacked}};
      curves.push_back(reward), curves.push_back(oracle);
    }
    if (curves.empty()) continue;
    verdicts += std::string(verdicts.empty() ? "" : "; ") + a->name + " in " + std::to_string(hacked_seeds) + " of " +
                std::to_string(monitored_seeds) + (monitored_seeds == 1 ? " seed" : " seeds");
    ChartOptions o;
    o.title = a->name + ": reward and oracle accuracy of each step's samples";
    o.x_label = "step";
    o.y_label = "share of the step's samples";
    o.y_from_zero = true;
    const std::string path = figure_stem + "-" + a->name + ".svg";
    figures[path] = line_chart(curves, o);
    links += "\n![" + a->name + ": reward-hacking monitor](" + path + ")\n";
  }
  if (!out.empty()) data["reward_hacking"] = out, data["reward_hacking_reading"] = readings;
  if (!verdicts.empty()) md += "\nRead as hacked: " + verdicts + ".\n";
  return md + links;
}

}  // namespace

ResultsTable build_results(const std::string& runs_dir, const std::string& figure_stem) {
  const Study st = read_study(runs_dir);  // gather
  const std::vector<int>& seeds = st.seeds;
  const std::map<int, json>& base_of = st.base_of;
  std::vector<const Arm*> order;
  for (auto& a : st.arms) order.push_back(&a);
  const json& gates = st.gates;
  const auto& made_by = st.made_by;
  auto find = [&](auto pred) { return st.find(pred); };

  // ---- the page ----
  std::string md;
  md += "# Results: self-improvement from the model's own understanding\n\n";
  md += "Written by `unigap results` from the runs of `bash scripts/results.sh` (folder `" + runs_dir + "`); do not edit by hand.\n";
  md += "Seeds:";
  for (int s : seeds) md += " " + std::to_string(s);
  // The bases (pretraining seeds), each with its fine-tuning seeds; the base's rows are per base.
  const std::map<std::string, std::vector<int>> bases = st.seeds_by_base();
  md += ". Each seed draws its own training prompts, candidates, shuffles and evaluation samples; ";
  if (bases.size() < 2) {
    md += "the base model is fixed" + (bases.begin()->first.empty() ? std::string() : " (`" + bases.begin()->first + "`)") + ".\n";
  } else {
    md += "each of " + std::to_string(bases.size()) + " base models (pretraining seeds) has its own seeds:";
    for (auto& [b, ss] : bases) {
      md += " `" + (b.empty() ? "?" : b) + "` (";
      for (size_t i = 0; i < ss.size(); ++i) md += (i ? " " : "") + std::to_string(ss[i]);
      md += ")";
    }
    md += ". Every difference is paired with its own seed's base.\n";
  }
  md += "External judge of Gen, WeakGen, the audit and the win rate: " + st.judge + ".\n";
  md += "Every model is evaluated on the same held-out suite per seed (" +
        std::to_string(base_of.begin()->second.value("images", 0)) +
        " images), and the win rate is measured on the base model's images.\n";
  md += "Figures: mean &plusmn; sample std over seeds, in percent; differences are paired with the base (same seed) and shown with "
        "their 95% t-interval over seeds. With one seed, a difference's interval is that seed's, over the eval prompts (paired "
        "bootstrap of the two models' images of each prompt; Newcombe's interval for Und), marked `p`: it covers the sampling "
        "of images and prompts, not the variation between training seeds.\n\n";
  // The budget line's learning rate; an arm at another names its own.
  const double budget_lr = order.empty() ? NAN : number_or(order.front()->config.value("lr", json()));
  if (!order.empty()) {
    const json& c = order.front()->config;
    md += "Budget of every arm: " + std::to_string(c.value("train_prompts", 0)) + " train prompts x N = " +
          std::to_string(c.value("candidates", 0)) + " candidates (guidance " + fmt("%g", number_or(c["candidate_cfg"])) +
          ", temperature " + fmt("%g", number_or(c["candidate_temperature"])) + "), " + std::to_string(c.value("epochs", 0)) +
          " SFT epochs (DPO arms: their own epochs below), batch " + std::to_string(c.value("batch", 0)) + ", lr (where an arm names none) " +
          lr_text(budget_lr) + ", prompt dropout " + fmt("%g", number_or(c["prompt_dropout"])) + ", trained groups: " +
          c.value("train_groups", json::array()).dump() + ".\n\n";
  }

  md += "## Gen, Und, Non per method\n\n";
  md += "| model | seeds | Gen | Und (rendered pairs) | Non | WeakGen | Gen vs base | Und vs base | Non vs base | win rate vs base "
        "(pooled) | FP&rarr;TN / TN&rarr;FP | training data | minutes |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (auto& [base, ss] : bases) {
    std::vector<double> g, u, n, w;
    for (int s : ss) {
      const json& b = base_of.at(s);
      g.push_back(number_or(b["gap"]["gen_overall"])), u.push_back(number_or(b["und"]["overall"]["accuracy"]["value"]));
      n.push_back(number_or(b["gap"]["pooled"]["non"]["value"])), w.push_back(number_or(b["gap"]["pooled"]["weakgen"]["value"]));
    }
    md += "| " + st.base_label(base) + " | " + std::to_string(ss.size()) + " | " + pct_ms(g) + " | " + pct_ms(u) + " | " + pct_ms(n) +
          " | " + pct_ms(w) + " | | | | | | | |\n";
  }
  json data = {{"seeds", seeds}, {"arms", json::object()}, {"audit_gate", gates}};
  for (auto* a : order) {
    Rate win;
    int64_t fptn = 0, tnfp = 0;
    for (auto& s : a->seeds) win.k += s.win_k, win.n += s.win_n, fptn += s.fp_to_tn, tnfp += s.tn_to_fp;
    // What the arm trained on: DPO pairs, GRPO's rollouts, else SFT samples.
    std::vector<double> items = column(*a, [&](const ArmSeed& s) {
      return double(a->method == "dpo" ? s.dpo_pairs : a->method == "grpo" ? s.rollouts : s.sft_samples);
    });
    // A budget-matched SFT arm (--sft-samples) trains on that many of its samples per epoch.
    const int64_t per_epoch = a->config.value("sft_samples", int64_t(0));
    const std::string unit = a->method == "dpo"    ? " pairs"
                             : a->method == "grpo" ? " rollouts"
                             : per_epoch > 0       ? " samples, " + std::to_string(per_epoch) + " per epoch"
                                                   : " samples";
    // An arm at another learning rate says so; one at a rate its method did not choose is a tuning run.
    const double lr = number_or(a->config.value("lr", json()));
    const std::string rate = lr == budget_lr ? "" : ", lr " + lr_text(lr);
    md += "| " + a->name + ": " + a->description() + rate + (st.rates.admits(*a) ? "" : " (tuning run)") +
          (a->method == "dpo" ? " (" + std::to_string(a->config.value("epochs", 0)) + " epochs)" : "") +
          " | " + std::to_string(a->seeds.size()) + " | " + pct_ms(column(*a, [](auto& s) { return s.gen; })) + " | " +
          pct_ms(column(*a, [](auto& s) { return s.und; })) + " | " + pct_ms(column(*a, [](auto& s) { return s.non; })) + " | " +
          pct_ms(column(*a, [](auto& s) { return s.weakgen; })) + " | " + diff_text(gen_diff(*a)) + " | " +
          diff_text(und_diff(*a)) + " | " + diff_text(non_diff(*a)) + " | " + rate_text(win) + " | " + std::to_string(fptn) + " / " +
          std::to_string(tnfp) + " | " + fmt("%.0f", mean_std(items).mean) + unit + " | " +
          fmt("%.1f", mean_std(column(*a, [](auto& s) { return s.seconds / 60; })).mean) + " |\n";
    json ja = {{"description", a->description()}, {"config", a->config}, {"per_seed", json::array()}};
    for (auto& s : a->seeds)
      ja["per_seed"].push_back({{"seed", s.seed}, {"gen", s.gen}, {"und", s.und}, {"non", s.non}, {"weakgen", s.weakgen},
                                {"d_gen", s.d_gen}, {"d_und", s.d_und}, {"d_non", s.d_non},
                                {"d_gen_ci95", s.has_ci ? json{s.ci_gen.lo, s.ci_gen.hi} : json()},
                                {"d_non_ci95", s.has_ci ? json{s.ci_non.lo, s.ci_non.hi} : json()},
                                {"d_und_ci95", s.has_und_ci ? json{s.ci_und.lo, s.ci_und.hi} : json()},
                                {"win_k", s.win_k}, {"win_n", s.win_n},
                                {"fp_to_tn", s.fp_to_tn}, {"tn_to_fp", s.tn_to_fp}, {"sft_samples", s.sft_samples},
                                {"dpo_pairs", s.dpo_pairs}, {"discarded", s.discarded}, {"joined", s.joined}, {"rollouts", s.rollouts},
                                {"audit_precision", s.audit_precision.to_json()}, {"seconds", s.seconds},
                                {"gen_by_tag", s.gen_by_tag}});
    data["arms"][a->name] = ja;
  }
  md += "\nGen: GenEval overall (mean of the six tags), by the oracle. Und: accuracy of the model's own judge on rendered "
        "eval pairs (half the negatives hard), the external understanding metric. Non: share of its own images its judge "
        "rejects. Win rate: both models judge the base model's images; among those where they disagree, the share where the "
        "arm's model agrees with the oracle (counts summed over seeds, Wilson interval).\n";
  md += guidance_section(st, order, data) + rate_notes(st.rates, data) + epochs_section(order, data) + "\n";

  // Per tag.
  md += "## Gen per tag (mean over seeds, percent)\n\n| model |";
  std::vector<std::string> tags;
  for (auto& [t, g] : base_of.begin()->second["gap"]["by_tag"].items()) tags.push_back(t);
  for (auto& t : tags) md += " " + t + " |";
  md += "\n|---|";
  for (size_t i = 0; i < tags.size(); ++i) md += "---|";
  md += "\n";
  for (auto& [base, ss] : bases) {
    md += "| " + st.base_label(base) + " |";
    for (auto& t : tags) {
      std::vector<double> v;
      for (int s : ss) v.push_back(number_or(base_of.at(s)["gap"]["by_tag"][t]["gen"]["value"]));
      md += " " + fmt("%.1f", 100 * mean_std(v).mean) + " |";
    }
    md += "\n";
  }
  for (auto* a : order) {
    md += "| " + a->name + " |";
    for (auto& t : tags) {
      std::vector<double> v;
      for (auto& s : a->seeds)
        if (s.gen_by_tag.count(t)) v.push_back(s.gen_by_tag.at(t));
      md += " " + (v.empty() ? std::string("-") : fmt("%.1f", 100 * mean_std(v).mean)) + " |";
    }
    md += "\n";
  }

  // Audit.
  md += "\n## The data-quality check (audit of each pool against the oracle, before training)\n\n";
  md += "| model | accepted | precision of the accepted (pooled over seeds) |\n|---|---|---|\n";
  for (auto* a : order) {
    if (a->method == "grpo") {  // no pool before training: its monitor checks every step (below)
      md += "| " + a->name + " | no pool: online RL | see the reward-hacking monitor |\n";
      continue;
    }
    Rate p, acc;
    for (auto& s : a->seeds) p.k += s.audit_precision.k, p.n += s.audit_precision.n, acc.k += s.audit_accept.k, acc.n += s.audit_accept.n;
    md += "| " + a->name + " | " + rate_text(acc) + " | " + rate_text(p) + " |\n";
  }
  if (!gates.empty()) {
    md += "\n`improve --audit-min-precision` on the corrupted pool, per seed:\n\n";
    for (auto& [s, text] : gates.items()) {
      std::string t = text.get<std::string>();
      while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
      md += "- seed " + s + ": `" + t + "`\n";
    }
  }

  // Curriculum.
  const Arm* plain = find([](const Arm& a) { return a.method == "sft" && a.supervision == "self" && a.replay.empty(); });
  std::vector<const Arm*> replays;
  for (auto* a : order)
    if (a->method == "sft" && a->supervision == "self" && !a->replay.empty()) replays.push_back(a);

  if (!replays.empty()) {
    md += "\n## Curriculum replay\n\n| model | discarded prompts (round 0) | rejoined at replay | SFT samples after | Gen vs plain SFT |\n|---|---|---|---|---|\n";
    for (auto* a : replays)
      md += "| " + a->name + " | " + fmt("%.0f", mean_std(column(*a, [](auto& s) { return double(s.discarded); })).mean) + " | " + fmt("%.0f", mean_std(column(*a, [](auto& s) { return double(s.joined); })).mean) + " | " +
            fmt("%.0f", mean_std(column(*a, [](auto& s) { return double(s.sft_samples); })).mean) + " | " +
            (plain ? diff_text(gen_vs(*a, *plain)) : std::string("-")) + " |\n";
  }

  md += primary_endpoints(st, data);
  md += non_decomposed(st, order, data);
  md += held_out_dynamics_section(order, data);
  std::map<std::string, std::string> figures;
  md += reward_hacking_section(order, figure_stem, data, figures);

  const std::vector<Claim> claims = judge_claims(st, nullptr);
  md += "\n## The paper's claims (docs/method.md section 7), over these seeds\n\n| claim | verdict | evidence |\n|---|---|---|\n";
  for (auto& c : claims) md += "| " + c.text + " | **" + c.verdict + "** | " + c.evidence + " |\n";
  md += "\n" + verdict_legend() + "\n";
  data["claims"] = json::array();
  for (auto& c : claims) data["claims"].push_back({{"claim", c.text}, {"verdict", c.verdict}, {"evidence", c.evidence}});
  md += "\n## Provenance\n\nThe commit and machine that ran each stage, from its config.json. Floating-point sums depend on the "
        "BLAS kernels and the thread count, so another machine can sample another token and train another model from the same "
        "seed.\n\n| seed | commit | machine | stages |\n|---|---|---|---|\n";
  data["provenance"] = json::array();
  for (auto& [s, groups] : made_by)
    for (auto& [key, stages] : groups) {
      std::vector<std::string> sorted = stages;
      std::sort(sorted.begin(), sorted.end());  // the folder walk's order is the file system's
      std::string list;
      for (auto& n : sorted) list += (list.empty() ? "" : ", ") + n;
      md += "| " + std::to_string(s) + " | " + key.first + " | " + key.second + " | " + list + " |\n";
      data["provenance"].push_back({{"seed", s}, {"commit", key.first}, {"machine", key.second}, {"stages", sorted}});
    }
  return {md, data, figures};
}

}  // namespace unigap
