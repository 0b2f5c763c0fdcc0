#include "report/results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include "common/error.h"
#include "eval/gap_eval.h"
#include "eval/stats.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"

namespace unigap {

namespace {

namespace fs = std::filesystem;

// ---- reading the runs --------------------------------------------------------------------

struct ArmSeed {
  int seed = 0;
  double gen = NAN, und = NAN, non = NAN, weakgen = NAN;          // of the arm's model
  double d_gen = NAN, d_und = NAN, d_non = NAN;                    // minus the base, same seed
  int64_t win_k = 0, win_n = 0, fp_to_tn = 0, tn_to_fp = 0;        // on the base's images
  int64_t sft_samples = 0, dpo_pairs = 0, discarded = 0, joined = 0;
  Rate audit_precision, audit_accept;
  double seconds = NAN;
  std::map<std::string, double> gen_by_tag;
  // Within this seed, when the evaluations' per-image results are there: the 95% intervals
  // of d_gen and d_non (paired bootstrap over eval prompts) and of d_und (Newcombe).
  std::vector<ImageRecord> recs;
  bool has_ci = false, has_und_ci = false;
  Interval ci_gen, ci_non, ci_und;
};

struct Arm {
  std::string name, method, supervision;
  std::vector<int> replay;  // curriculum epochs
  json config;              // the improve config of its first seed
  std::vector<ArmSeed> seeds;
};

double num(const json& j, double fallback = NAN) { return j.is_number() ? j.get<double>() : fallback; }

// The evaluation of one model: per_seed[0] of an `eval` summary.json.
json eval_summary(const std::string& dir) {
  const std::string p = dir + "/summary.json";
  if (!file_exists(p)) return nullptr;
  json s = read_json(p);
  if (!s.contains("per_seed") || s["per_seed"].empty()) throw UserError("not an eval summary (no per_seed)", p);
  return s["per_seed"][0];
}


std::string arm_description(const Arm& a) {
  std::string d = a.method == "dpo" ? "DPO" : "SFT";
  d += ", " + a.supervision + " supervision";
  if (!a.replay.empty()) {
    d += ", replay after epoch";
    for (size_t i = 0; i < a.replay.size(); ++i) d += (i ? "," : " ") + std::to_string(a.replay[i]);
  }
  return d;
}

// ---- formatting ----------------------------------------------------------------------------

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// Percentages: "23.0 +- 0.4" over seeds (one seed: the value alone).
std::string pct_ms(const std::vector<double>& v) {
  std::vector<double> ok;
  for (double x : v)
    if (std::isfinite(x)) ok.push_back(100 * x);
  if (ok.empty()) return "-";
  const MeanStd m = mean_std(ok);
  return ok.size() == 1 ? fmt("%.1f", m.mean) : fmt("%.1f", m.mean) + " &plusmn; " + fmt("%.1f", m.std);
}

// A paired difference in points with its 95% t-interval.
std::string diff_ci(const std::vector<double>& v) {
  std::vector<double> p;
  for (double x : v)
    if (std::isfinite(x)) p.push_back(100 * x);
  if (p.empty()) return "-";
  const MeanStd m = mean_std(p);
  if (p.size() < 2) return fmt("%+.1f", m.mean);
  const Interval ci = mean_ci95(m);
  return fmt("%+.1f", m.mean) + " [" + fmt("%+.1f", ci.lo) + ", " + fmt("%+.1f", ci.hi) + "]";
}

std::string rate_text(const Rate& r) {
  if (!r.n) return "undefined (n = 0)";
  const Interval ci = r.ci();
  return fmt("%.1f%%", 100.0 * r.k / r.n) + " [" + fmt("%.1f", 100 * ci.lo) + ", " + fmt("%.1f", 100 * ci.hi) + "] (" +
         std::to_string(r.k) + "/" + std::to_string(r.n) + ")";
}

template <class F>
std::vector<double> column(const Arm& a, F f) {
  std::vector<double> v;
  for (auto& s : a.seeds) v.push_back(f(s));
  return v;
}

// A difference in points with its 95% interval: over seeds (t-interval of the per-seed
// paired differences) with two or more seeds; with one seed, over that seed's eval prompts
// (paired bootstrap; Newcombe for Und), marked with a "p" after the interval.
struct Diff {
  std::vector<double> per_seed;  // fractions
  bool one_seed_ci = false;
  Interval ci;                   // fractions, the one seed's interval
};

Diff seed_diff(const Arm& a, double ArmSeed::*value, Interval ArmSeed::*ci, bool ArmSeed::*has) {
  Diff d;
  for (auto& s : a.seeds) d.per_seed.push_back(s.*value);
  if (a.seeds.size() == 1 && a.seeds[0].*has) d.one_seed_ci = true, d.ci = a.seeds[0].*ci;
  return d;
}
Diff gen_diff(const Arm& a) { return seed_diff(a, &ArmSeed::d_gen, &ArmSeed::ci_gen, &ArmSeed::has_ci); }
Diff non_diff(const Arm& a) { return seed_diff(a, &ArmSeed::d_non, &ArmSeed::ci_non, &ArmSeed::has_ci); }
Diff und_diff(const Arm& a) { return seed_diff(a, &ArmSeed::d_und, &ArmSeed::ci_und, &ArmSeed::has_und_ci); }

std::string diff_text(const Diff& d) {
  if (d.per_seed.size() == 1 && d.one_seed_ci && std::isfinite(d.per_seed[0]))
    return fmt("%+.1f", 100 * d.per_seed[0]) + " [" + fmt("%+.1f", 100 * d.ci.lo) + ", " + fmt("%+.1f", 100 * d.ci.hi) + "]p";
  return diff_ci(d.per_seed);
}

std::string verdict_of(const Diff& d, int direction) {
  if (d.per_seed.size() == 1 && d.one_seed_ci && std::isfinite(d.per_seed[0])) {
    const std::string v = interval_verdict(d.per_seed[0], d.ci, direction);
    return v == "reproduced" ? v + " (one seed)" : v;
  }
  return paired_verdict(d.per_seed, direction);
}

bool reproduced(const std::string& v) { return v.rfind("reproduced", 0) == 0; }

struct Claim {
  std::string text, verdict, evidence;
};

}  // namespace

std::string paired_verdict(const std::vector<double>& diffs, int direction) {
  std::vector<double> d;
  for (double x : diffs)
    if (std::isfinite(x)) d.push_back(direction * x);
  if (d.empty()) return "not measured";
  const MeanStd m = mean_std(d);
  if (!(m.mean > 0)) return "not reproduced";
  if (d.size() < 2) return "inconclusive (one seed)";
  return mean_ci95(m).lo > 0 ? "reproduced" : "inconclusive";
}

std::string interval_verdict(double d, const Interval& ci, int direction) {
  if (!(direction * d > 0)) return "not reproduced";
  return (direction > 0 ? ci.lo > 0 : ci.hi < 0) ? "reproduced" : "inconclusive";
}

ResultsTable build_results(const std::string& runs_dir) {
  // ---- gather: seeds, then every arm of every seed ----
  std::vector<int> seeds;
  if (dir_exists(runs_dir))
    for (auto& e : fs::directory_iterator(runs_dir)) {
      const std::string n = e.path().filename().string();
      if (e.is_directory() && n.size() > 1 && n[0] == 's' && n.find_first_not_of("0123456789", 1) == std::string::npos &&
          file_exists(e.path().string() + "/eval-base/summary.json"))
        seeds.push_back(std::stoi(n.substr(1)));
    }
  std::sort(seeds.begin(), seeds.end());
  if (seeds.empty())
    throw UserError("no finished seed folder (s<seed>/eval-base/summary.json)", runs_dir, "run scripts/results.sh first");

  std::map<std::string, Arm> arms;
  std::map<int, json> base_of;
  json gates = json::object();
  // Per seed: which commit on which machine ran which stage (an improve run or an eval).
  std::map<int, std::map<std::pair<std::string, std::string>, std::vector<std::string>>> made_by;
  for (int s : seeds) {
    const std::string D = runs_dir + "/s" + std::to_string(s);
    const json base = eval_summary(D + "/eval-base");
    base_of[s] = base;
    std::vector<ImageRecord> base_recs;
    if (file_exists(D + "/eval-base/results.jsonl")) base_recs = read_results(D + "/eval-base/results.jsonl");
    if (file_exists(D + "/audit-gate.txt")) gates[std::to_string(s)] = read_file(D + "/audit-gate.txt");
    for (auto& e : fs::directory_iterator(D)) {
      const std::string name = e.path().filename().string();
      const std::string cfg_path = e.path().string() + "/config.json";
      if (!e.is_directory() || !file_exists(cfg_path)) continue;
      const json cfg = read_json(cfg_path);
      const json p = cfg.value("provenance", json::object());
      made_by[s][{p.value("commit", "unknown"), machine_text(p)}].push_back(name);
      if (cfg.value("command", "") != "improve" || !file_exists(e.path().string() + "/summary.json")) continue;
      const json ev = eval_summary(D + "/eval-" + name);
      if (ev.is_null()) continue;  // not evaluated yet
      Arm& a = arms[name];
      const json& ic = cfg.at("improve");
      if (a.seeds.empty()) {
        a.name = name, a.method = ic.value("method", ""), a.supervision = ic.value("supervision", "");
        a.replay = ic.value("curriculum_epochs", std::vector<int>{});
        a.config = ic;
      } else {  // seeds made apart (another session, the archive) must have run the same arm
        for (auto& [k, v] : a.config.items())
          if (k != "seed" && k != "pool_from" && ic.value(k, json()) != v)
            throw UserError("this seed's " + name + " ran with " + k + " = " + ic.value(k, json()).dump() + ", seed " +
                                std::to_string(a.seeds.front().seed) + "'s with " + v.dump(),
                            cfg_path, "every seed of an arm needs the same options");
      }
      const json sum = read_json(e.path().string() + "/summary.json");
      ArmSeed r;
      r.seed = s;
      r.gen = num(ev["gap"]["gen_overall"]);
      r.und = num(ev["und"]["overall"]["accuracy"]["value"]);
      r.non = num(ev["gap"]["pooled"]["non"]["value"]);
      r.weakgen = num(ev["gap"]["pooled"]["weakgen"]["value"]);
      r.d_gen = r.gen - num(base["gap"]["gen_overall"]);
      r.d_und = r.und - num(base["und"]["overall"]["accuracy"]["value"]);
      r.d_non = r.non - num(base["gap"]["pooled"]["non"]["value"]);
      if (ev.contains("vs_ref")) {
        const Rate w = Rate::from_json(ev["vs_ref"]["win_rate"]);
        r.win_k = w.k, r.win_n = w.n;
        r.fp_to_tn = ev["vs_ref"].value("fp_to_tn", int64_t(0)), r.tn_to_fp = ev["vs_ref"].value("tn_to_fp", int64_t(0));
      }
      for (auto& [tag, g] : ev["gap"]["by_tag"].items()) r.gen_by_tag[tag] = num(g["gen"]["value"]);
      r.sft_samples = sum.value("sft_samples", int64_t(0)), r.dpo_pairs = sum.value("dpo_pairs", int64_t(0));
      r.discarded = sum.value("discarded_initially", int64_t(0));
      for (auto& j : sum.value("joined_at_replay", json::array())) r.joined += j.get<int64_t>();
      if (sum.contains("audit")) r.audit_precision = Rate::from_json(sum["audit"]["precision"]), r.audit_accept = Rate::from_json(sum["audit"]["accept_rate"]);
      r.seconds = num(sum.value("seconds", json()));
      const std::string res = D + "/eval-" + name + "/results.jsonl";
      if (!base_recs.empty() && file_exists(res)) {
        r.recs = read_results(res);
        const PairedGap p = paired_gap(base_recs, r.recs, 17);
        r.has_ci = true, r.ci_gen = p.d_gen_ci, r.ci_non = p.d_non_ci;
      }
      const Rate ua = Rate::from_json(ev["und"]["overall"]["accuracy"]), ub = Rate::from_json(base["und"]["overall"]["accuracy"]);
      if (ua.n > 0 && ub.n > 0) r.has_und_ci = true, r.ci_und = newcombe_difference(ua, ub);
      a.seeds.push_back(r);
    }
  }

  // Arms in the order of the method: plain SFT, replay, DPO, oracle, corrupted, the rest.
  auto rank = [](const Arm& a) {
    if (a.supervision == "self" && a.method == "sft") return a.replay.empty() ? 0 : 1;
    if (a.supervision == "self") return 2;
    if (a.supervision == "oracle") return 3;
    if (a.supervision == "inverted" || a.supervision.rfind("flip:", 0) == 0) return 4;
    return 5;
  };
  std::vector<const Arm*> order;
  for (auto& [n, a] : arms) order.push_back(&a);
  std::stable_sort(order.begin(), order.end(), [&](const Arm* x, const Arm* y) {
    if (rank(*x) != rank(*y)) return rank(*x) < rank(*y);
    const int ex = x->replay.empty() ? 0 : x->replay[0], ey = y->replay.empty() ? 0 : y->replay[0];
    return ex < ey;
  });
  auto find = [&](auto pred) -> const Arm* {
    for (auto* a : order)
      if (pred(*a)) return a;
    return nullptr;
  };

  // ---- the page ----
  std::string md;
  md += "# Results: self-improvement from the model's own understanding\n\n";
  md += "Written by `unigap results` from the runs of `bash scripts/results.sh` (folder `" + runs_dir + "`); do not edit by hand.\n";
  md += "Seeds:";
  for (int s : seeds) md += " " + std::to_string(s);
  md += ". Each seed draws its own training prompts, candidates, shuffles and evaluation samples; the base model is fixed.\n";
  md += "Every model is evaluated on the same held-out suite per seed (" +
        std::to_string(base_of.begin()->second.value("images", 0)) +
        " images), and the win rate is measured on the base model's images.\n";
  md += "Figures: mean &plusmn; sample std over seeds, in percent; differences are paired with the base (same seed) and shown with "
        "their 95% t-interval over seeds. With one seed, a difference's interval is that seed's, over the eval prompts (paired "
        "bootstrap of the two models' images of each prompt; Newcombe's interval for Und), marked `p`: it covers the sampling "
        "of images and prompts, not the variation between training seeds.\n\n";
  if (!order.empty()) {
    const json& c = order.front()->config;
    md += "Budget of every arm: " + std::to_string(c.value("train_prompts", 0)) + " train prompts x N = " +
          std::to_string(c.value("candidates", 0)) + " candidates (guidance " + fmt("%g", num(c["candidate_cfg"])) +
          ", temperature " + fmt("%g", num(c["candidate_temperature"])) + "), " + std::to_string(c.value("epochs", 0)) +
          " SFT epochs (DPO arms: their own epochs below), batch " + std::to_string(c.value("batch", 0)) + ", lr " +
          fmt("%g", num(c["lr"])) + ", prompt dropout " + fmt("%g", num(c["prompt_dropout"])) + ", trained groups: " +
          c.value("train_groups", json::array()).dump() + ".\n\n";
  }

  md += "## Gen, Und, Non per method\n\n";
  md += "| model | seeds | Gen | Und (rendered pairs) | Non | WeakGen | Gen vs base | Und vs base | Non vs base | win rate vs base "
        "(pooled) | FP&rarr;TN / TN&rarr;FP | training data | minutes |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  {
    std::vector<double> g, u, n, w;
    for (auto& [s, b] : base_of) {
      g.push_back(num(b["gap"]["gen_overall"])), u.push_back(num(b["und"]["overall"]["accuracy"]["value"]));
      n.push_back(num(b["gap"]["pooled"]["non"]["value"])), w.push_back(num(b["gap"]["pooled"]["weakgen"]["value"]));
    }
    md += "| base | " + std::to_string(seeds.size()) + " | " + pct_ms(g) + " | " + pct_ms(u) + " | " + pct_ms(n) + " | " + pct_ms(w) +
          " | | | | | | | |\n";
  }
  json data = {{"seeds", seeds}, {"arms", json::object()}, {"audit_gate", gates}};
  for (auto* a : order) {
    Rate win;
    int64_t fptn = 0, tnfp = 0;
    for (auto& s : a->seeds) win.k += s.win_k, win.n += s.win_n, fptn += s.fp_to_tn, tnfp += s.tn_to_fp;
    std::vector<double> items = column(*a, [&](const ArmSeed& s) { return double(a->method == "dpo" ? s.dpo_pairs : s.sft_samples); });
    const std::string unit = a->method == "dpo" ? " pairs" : " samples";
    md += "| " + a->name + ": " + arm_description(*a) + (a->method == "dpo" ? " (" + std::to_string(a->config.value("epochs", 0)) + " epochs)" : "") +
          " | " + std::to_string(a->seeds.size()) + " | " + pct_ms(column(*a, [](auto& s) { return s.gen; })) + " | " +
          pct_ms(column(*a, [](auto& s) { return s.und; })) + " | " + pct_ms(column(*a, [](auto& s) { return s.non; })) + " | " +
          pct_ms(column(*a, [](auto& s) { return s.weakgen; })) + " | " + diff_text(gen_diff(*a)) + " | " +
          diff_text(und_diff(*a)) + " | " + diff_text(non_diff(*a)) + " | " + rate_text(win) + " | " + std::to_string(fptn) + " / " +
          std::to_string(tnfp) + " | " + fmt("%.0f", mean_std(items).mean) + unit + " | " +
          fmt("%.1f", mean_std(column(*a, [](auto& s) { return s.seconds / 60; })).mean) + " |\n";
    json ja = {{"description", arm_description(*a)}, {"config", a->config}, {"per_seed", json::array()}};
    for (auto& s : a->seeds)
      ja["per_seed"].push_back({{"seed", s.seed}, {"gen", s.gen}, {"und", s.und}, {"non", s.non}, {"weakgen", s.weakgen},
                                {"d_gen", s.d_gen}, {"d_und", s.d_und}, {"d_non", s.d_non},
                                {"d_gen_ci95", s.has_ci ? json{s.ci_gen.lo, s.ci_gen.hi} : json()},
                                {"d_non_ci95", s.has_ci ? json{s.ci_non.lo, s.ci_non.hi} : json()},
                                {"d_und_ci95", s.has_und_ci ? json{s.ci_und.lo, s.ci_und.hi} : json()},
                                {"win_k", s.win_k}, {"win_n", s.win_n},
                                {"fp_to_tn", s.fp_to_tn}, {"tn_to_fp", s.tn_to_fp}, {"sft_samples", s.sft_samples},
                                {"dpo_pairs", s.dpo_pairs}, {"discarded", s.discarded}, {"joined", s.joined},
                                {"audit_precision", s.audit_precision.to_json()}, {"seconds", s.seconds},
                                {"gen_by_tag", s.gen_by_tag}});
    data["arms"][a->name] = ja;
  }
  md += "\nGen: GenEval overall (mean of the six tags), by the oracle. Und: accuracy of the model's own judge on rendered "
        "eval pairs (half the negatives hard), the external understanding metric. Non: share of its own images its judge "
        "rejects. Win rate: both models judge the base model's images; among those where they disagree, the share where the "
        "arm's model agrees with the oracle (counts summed over seeds, Wilson interval).\n\n";

  // Per tag.
  md += "## Gen per tag (mean over seeds, percent)\n\n| model |";
  std::vector<std::string> tags;
  for (auto& [t, g] : base_of.begin()->second["gap"]["by_tag"].items()) tags.push_back(t);
  for (auto& t : tags) md += " " + t + " |";
  md += "\n|---|";
  for (size_t i = 0; i < tags.size(); ++i) md += "---|";
  md += "\n| base |";
  for (auto& t : tags) {
    std::vector<double> v;
    for (auto& [s, b] : base_of) v.push_back(num(b["gap"]["by_tag"][t]["gen"]["value"]));
    md += " " + fmt("%.1f", 100 * mean_std(v).mean) + " |";
  }
  md += "\n";
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
  // Paired per-seed difference x - y of Gen, over the seeds both arms have; with one seed,
  // the interval of a paired bootstrap over the eval prompts of both models.
  auto gen_vs = [](const Arm& x, const Arm& y) {
    Diff d;
    for (auto& s : x.seeds)
      for (auto& t : y.seeds)
        if (s.seed == t.seed) {
          d.per_seed.push_back(s.gen - t.gen);
          if (x.seeds.size() == 1 && !s.recs.empty() && !t.recs.empty())
            d.one_seed_ci = true, d.ci = paired_gap(t.recs, s.recs, 17).d_gen_ci;
        }
    return d;
  };
  if (!replays.empty()) {
    md += "\n## Curriculum replay\n\n| model | discarded prompts (round 0) | rejoined at replay | SFT samples after | Gen vs plain SFT |\n|---|---|---|---|---|\n";
    for (auto* a : replays)
      md += "| " + a->name + " | " + fmt("%.0f", mean_std(column(*a, [](auto& s) { return double(s.discarded); })).mean) + " | " + fmt("%.0f", mean_std(column(*a, [](auto& s) { return double(s.joined); })).mean) + " | " +
            fmt("%.0f", mean_std(column(*a, [](auto& s) { return double(s.sft_samples); })).mean) + " | " +
            (plain ? diff_text(gen_vs(*a, *plain)) : std::string("-")) + " |\n";
  }

  // ---- claims (method.md section 7) ----
  std::vector<Claim> claims;
  {
    bool all_pos = true, wg = true;
    for (auto& [s, b] : base_of) {
      for (auto& [t, g] : b["gap"]["by_tag"].items()) all_pos &= num(g["non"]["value"], 0) > 0;
      wg &= num(b["gap"]["pooled"]["weakgen"]["value"], 0) > 0.5;
    }
    std::vector<double> w;
    for (auto& [s, b] : base_of) w.push_back(num(b["gap"]["pooled"]["weakgen"]["value"]));
    claims.push_back({"1. Non > 0 on every task; WeakGen > 50%", all_pos && wg ? "reproduced" : "not reproduced",
                      "base WeakGen " + pct_ms(w) + "%, Non > 0 on every tag in every seed: " + (all_pos ? "yes" : "no")});
  }
  const Arm* dpo = find([](const Arm& a) { return a.method == "dpo" && a.supervision == "self"; });
  if (plain) {
    const Diff dg = gen_diff(*plain), dn = non_diff(*plain);
    const std::string vg = verdict_of(dg, +1), vn = verdict_of(dn, -1);
    claims.push_back({"2a. SFT (self) raises Gen and lowers Non on held-out prompts",
                      reproduced(vg) && reproduced(vn) ? vg : (vg == "not reproduced" || vn == "not reproduced") ? "not reproduced" : "inconclusive",
                      "Gen " + diff_text(dg) + " pts, Non " + diff_text(dn) + " pts"});
  }
  if (dpo && plain) {
    Rate win;
    for (auto& s : dpo->seeds) win.k += s.win_k, win.n += s.win_n;
    const Diff dg = gen_diff(*dpo);
    const bool less = mean_std(dg.per_seed).mean < mean_std(column(*plain, [](auto& s) { return s.d_gen; })).mean;
    const bool helps = win.n > 0 && win.ci().lo > 0.5;
    claims.push_back({"2b. DPO moves Gen less than SFT but still helps understanding",
                      less && helps ? "reproduced" : (!less || (win.n > 0 && win.ci().hi < 0.5)) ? "not reproduced" : "inconclusive",
                      "DPO Gen " + diff_text(dg) + " pts vs SFT " + diff_text(gen_diff(*plain)) +
                          "; DPO win rate " + rate_text(win)});
  }
  if (plain) {
    Rate win;
    int64_t fptn = 0, tnfp = 0;
    for (auto& s : plain->seeds) win.k += s.win_k, win.n += s.win_n, fptn += s.fp_to_tn, tnfp += s.tn_to_fp;
    const bool up = fptn > tnfp && win.n > 0 && win.ci().lo > 0.5, down = fptn <= tnfp || (win.n > 0 && win.ci().hi < 0.5);
    claims.push_back({"3. Understanding improves though only generation trained (FP->TN > TN->FP, win rate > 50%)",
                      up ? "reproduced" : down ? "not reproduced" : "inconclusive",
                      "SFT (self): FP->TN " + std::to_string(fptn) + " vs TN->FP " + std::to_string(tnfp) + ", win rate " + rate_text(win) +
                          "; Und on rendered pairs " + diff_text(und_diff(*plain)) + " pts"});
  }
  claims.push_back({"4. First-order eNTK prediction agrees with a real step", "see docs/dynamics.md",
                    "measured by `unigap dynamics`, not by this script"});
  for (auto* a : order) {
    if (!(a->supervision == "inverted" || a->supervision.rfind("flip:", 0) == 0)) continue;
    const Diff dg = gen_diff(*a), du = und_diff(*a), dn = non_diff(*a);
    const std::string vg = verdict_of(dg, -1), vu = verdict_of(du, -1);
    const bool non_not_up = mean_std(dn.per_seed).mean <= 0 || !reproduced(verdict_of(dn, +1));  // fell or flat
    Rate p;
    for (auto& s : a->seeds) p.k += s.audit_precision.k, p.n += s.audit_precision.n;
    const bool flagged = p.n > 0 && p.ci().hi < 0.5;
    std::string v = reproduced(vg) && reproduced(vu) && non_not_up ? vg
                    : (vg == "not reproduced" || vu == "not reproduced" || !non_not_up) ? "not reproduced" : "inconclusive";
    claims.push_back({"5. Corrupted supervision (" + a->supervision + "): Gen and external Und fall while Non falls or stays flat; the audit flags it",
                      v + (flagged ? "; audit: flagged" : "; audit: not flagged"),
                      "Gen " + diff_text(dg) + ", Und " + diff_text(du) + ", Non " + diff_text(dn) + " pts; audited precision " + rate_text(p)});
  }
  if (const Arm* o = find([](const Arm& a) { return a.supervision == "oracle"; })) {
    const Diff dg = gen_diff(*o);
    claims.push_back({"Oracle supervision (upper bound) raises Gen", verdict_of(dg, +1),
                      "Gen " + diff_text(dg) + " pts" + (plain ? "; minus self SFT: " + diff_text(gen_vs(*o, *plain)) + " pts" : "")});
  }
  if (!replays.empty() && plain) {
    const Arm* late = replays.back();
    const Arm* early = replays.size() > 1 ? replays.front() : nullptr;
    bool grew = true;
    for (auto* r : replays)
      for (auto& s : r->seeds) grew &= s.joined > 0;
    const Diff vs_plain = gen_vs(*late, *plain);
    claims.push_back({"6a. Curriculum replay grows the training set", grew ? "reproduced" : "not reproduced",
                      "prompts rejoined at replay, mean over seeds: " + fmt("%.0f", mean_std(column(*late, [](auto& s) { return double(s.joined); })).mean) +
                          " (" + late->name + ")"});
    claims.push_back({"6b. Curriculum SFT beats plain SFT (Gen)", verdict_of(vs_plain, +1),
                      late->name + " minus plain: " + diff_text(vs_plain) + " pts"});
    if (early) {
      const Diff d = gen_vs(*late, *early);
      claims.push_back({"6c. Later replay beats earlier replay (Gen)", verdict_of(d, +1), late->name + " minus " + early->name + ": " + diff_text(d) + " pts"});
    }
  }
  md += "\n## The paper's claims (method.md section 7), over these seeds\n\n| claim | verdict | evidence |\n|---|---|---|\n";
  for (auto& c : claims) md += "| " + c.text + " | **" + c.verdict + "** | " + c.evidence + " |\n";
  md += "\nVerdicts: *reproduced* when the 95% interval of the paired differences over seeds lies on the claimed side (or, for "
        "the win rate, the pooled Wilson interval lies above 50%); *reproduced (one seed)* when only one seed was run and its "
        "interval over prompts lies on the claimed side: a weaker statement, since another training seed may differ; "
        "*not reproduced* when the mean lies on the other side; *inconclusive* otherwise.\n";
  data["claims"] = json::array();
  for (auto& c : claims) data["claims"].push_back({{"claim", c.text}, {"verdict", c.verdict}, {"evidence", c.evidence}});
  md += "\n## Provenance\n\nThe commit and machine that ran each stage, from its config.json. Floating-point sums depend on the "
        "BLAS kernels and the thread count, so another machine can sample another token and train another model from the same "
        "seed.\n\n| seed | commit | machine | stages |\n|---|---|---|---|\n";
  data["provenance"] = json::array();
  for (auto& [s, groups] : made_by)
    for (auto& [key, stages] : groups) {
      std::sort(stages.begin(), stages.end());  // the folder walk's order is the file system's
      std::string list;
      for (auto& n : stages) list += (list.empty() ? "" : ", ") + n;
      md += "| " + std::to_string(s) + " | " + key.first + " | " + key.second + " | " + list + " |\n";
      data["provenance"].push_back({{"seed", s}, {"commit", key.first}, {"machine", key.second}, {"stages", stages}});
    }
  return {md, data};
}

}  // namespace unigap
