#include "report/study.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "common/error.h"
#include "dynamics/held_out.h"
#include "eval/gap_eval.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "train/reward_monitor.h"

namespace unigap {

namespace {

namespace fs = std::filesystem;

// The evaluation of one model: per_seed[0] of an `eval` summary.json (null: not there), with
// the guidance the evaluation chose on validation (`guidance`, when it chose one).
json eval_summary(const std::string& dir) {
  const std::string p = dir + "/summary.json";
  if (!file_exists(p)) return nullptr;
  json s = read_json(p);
  if (!s.is_object() || !s.contains("per_seed") || !s["per_seed"].is_array() || s["per_seed"].empty())
    throw UserError("not an eval summary (no per_seed)", p);
  json e = s["per_seed"][0];
  if (s.contains("guidance")) e["guidance"] = s["guidance"];
  return e;
}

// Every evaluation of a study must share one external judge: figures against two judges
// do not add up.
void same_judge(Study& st, const json& eval, const std::string& where) {
  const std::string j = judge_of(eval);
  if (st.judge.empty()) st.judge = j;
  if (j != st.judge)
    throw UserError("was judged by " + j + ", the study's other evaluations by " + st.judge, where,
                    "a study compares figures of one external judge; evaluate again with the same --judge");
}

// An option added after runs were archived, as those runs had it.
json with_old_defaults(json improve_config) {
  if (!improve_config.contains("judge")) improve_config["judge"] = "oracle";
  if (!improve_config.contains("world")) improve_config["world"] = "";
  return improve_config;
}

// The order of the method: plain SFT, replay, DPO, oracle, corrupted, the rest; replay arms
// by their first replay epoch.
int rank_of(const Arm& a) {
  if (a.supervision == "self" && a.method == "sft") return a.replay.empty() ? 0 : 1;
  if (a.supervision == "self") return 2;
  if (a.supervision == "oracle") return 3;
  if (a.supervision == "inverted" || a.supervision.rfind("flip:", 0) == 0) return 4;
  return 5;
}

ArmSeed arm_seed(int seed, const json& base, const std::vector<ImageRecord>& base_recs, const json& ev, const json& sum,
                 const std::string& eval_dir) {
  ArmSeed r;
  r.seed = seed;
  r.eval = ev, r.summary = sum;
  r.gen = number_or(ev["gap"]["gen_overall"]);
  r.und = number_or(ev["und"]["overall"]["accuracy"]["value"]);
  r.non = number_or(ev["gap"]["pooled"]["non"]["value"]);
  r.weakgen = number_or(ev["gap"]["pooled"]["weakgen"]["value"]);
  r.d_gen = r.gen - number_or(base["gap"]["gen_overall"]);
  r.d_und = r.und - number_or(base["und"]["overall"]["accuracy"]["value"]);
  r.d_non = r.non - number_or(base["gap"]["pooled"]["non"]["value"]);
  if (ev.contains("vs_ref")) {
    const Rate w = Rate::from_json(ev["vs_ref"]["win_rate"]);
    r.win_k = w.k, r.win_n = w.n;
    r.fp_to_tn = ev["vs_ref"].value("fp_to_tn", int64_t(0)), r.tn_to_fp = ev["vs_ref"].value("tn_to_fp", int64_t(0));
  }
  for (auto& [tag, g] : ev["gap"]["by_tag"].items()) r.gen_by_tag[tag] = number_or(g["gen"]["value"]);
  r.sft_samples = sum.value("sft_samples", int64_t(0)), r.dpo_pairs = sum.value("dpo_pairs", int64_t(0));
  r.discarded = sum.value("discarded_initially", int64_t(0)), r.rollouts = sum.value("rollouts", int64_t(0));
  for (auto& j : sum.value("joined_at_replay", json::array())) r.joined += j.get<int64_t>();
  if (sum.contains("audit")) {
    r.audit = sum["audit"];
    r.audit_precision = Rate::from_json(sum["audit"]["precision"]), r.audit_accept = Rate::from_json(sum["audit"]["accept_rate"]);
  }
  r.seconds = number_or(sum.value("seconds", json()));
  const std::string res = eval_dir + "/results.jsonl";
  if (!base_recs.empty() && file_exists(res)) {
    r.recs = read_results(res);
    const PairedGap p = paired_gap(base_recs, r.recs, 17);
    r.has_ci = defined(p.d_gen_ci), r.ci_gen = p.d_gen_ci, r.ci_non = p.d_non_ci;
  }
  const std::string on_base = eval_dir + "/ref_results.jsonl";
  if (file_exists(on_base))
    for (auto& line : read_jsonl(on_base)) {
      const std::string where = on_base + ":" + std::to_string(line.line);
      ArmSeed::OnBase o;
      read_required_field(line.value, "group", o.group, where), read_required_field(line.value, "tag", o.tag, where);
      read_required_field(line.value, "ref_verdict", o.ref_verdict, where), read_required_field(line.value, "verdict", o.verdict, where);
      read_required_field(line.value, "correct", o.oracle, where);
      r.on_base.push_back(o);
    }
  const Rate ua = Rate::from_json(ev["und"]["overall"]["accuracy"]), ub = Rate::from_json(base["und"]["overall"]["accuracy"]);
  if (ua.n > 0 && ub.n > 0) r.has_und_ci = true, r.ci_und = newcombe_difference(ua, ub);
  return r;
}

// A `dynamics --held-out` run of an arm: its summary, with each judge's AUROC change and its
// prompt-clustered interval computed from probes.jsonl where the summary predates them.
json held_out_of(const std::string& dir, int seed) {
  json sum = read_json(dir + "/summary.json");
  if (!sum.is_object() || !sum.contains("judges") || !sum["judges"].is_object())
    throw UserError("not a held-out dynamics summary (no 'judges')", dir + "/summary.json");
  const std::string rows_path = dir + "/probes.jsonl";
  if (!file_exists(rows_path)) return sum;
  std::vector<HeldOutProbe> probes;
  for (auto& l : read_jsonl(rows_path)) probes.push_back(HeldOutProbe::from_json(l.value, rows_path + ":" + std::to_string(l.line)));
  for (HeldOutJudge j : {HeldOutJudge::YesNo, HeldOutJudge::Bayes}) {
    json& js = sum["judges"][judge_name(j)];
    if (js.is_object() && !js.contains("auroc_change")) js["auroc_change"] = auroc_change(probes, j, uint64_t(seed));
  }
  return sum;
}

// The held-out tracking's Gen at each epoch of an improve run ([0]: before training) where it
// read the validation split: its record says so ("split", or before that the split its guidance
// was chosen on). NaN at an epoch tracked on another split; a resumed run's later record wins.
std::vector<double> val_gen_by_epoch(const std::vector<JsonlLine>& metrics) {
  std::vector<double> gen;
  for (auto& l : metrics) {
    const json& r = l.value;
    if (!r.is_object() || r.value("kind", json()) != "eval") continue;
    const double epoch = number_or(r.value("epoch", json()));
    if (!(epoch >= 0 && epoch < 1e6)) continue;
    const json guidance = r.value("guidance", json());
    const json split = r.contains("split") ? r["split"] : guidance.is_object() ? guidance.value("split", json()) : json();
    const size_t e = size_t(epoch);
    if (gen.size() <= e) gen.resize(e + 1, NAN);
    gen[e] = split == "val" ? number_or(r.value("gen", json())) : NAN;
  }
  return gen;
}

// The reward-hacking monitor of a GRPO run: its point of every step, in order (metrics.jsonl's
// "grpo" records; a resumed run wrote each step once).
json monitor_of(const std::vector<JsonlLine>& lines, const std::string& metrics) {
  json points = json::array();
  for (const MonitorPoint& p : monitor_points(lines, metrics)) points.push_back(p.to_json());
  return points;
}

// Adds seed `s`, laid out in folder D, to the study; arms gathered by folder name in `arms`.
void read_seed(Study& st, std::map<std::string, Arm>& arms, const std::string& D, int s) {
  const json base = eval_summary(D + "/eval-base");
  st.seeds.push_back(s);
  st.base_of[s] = base;
  same_judge(st, base, D + "/eval-base/summary.json");
  std::vector<ImageRecord> base_recs;
  if (file_exists(D + "/eval-base/results.jsonl")) base_recs = read_results(D + "/eval-base/results.jsonl");
  if (!base_recs.empty()) st.base_recs[s] = base_recs;
  const json base_cfg = file_exists(D + "/eval-base/config.json") ? read_json(D + "/eval-base/config.json") : json();
  st.pretrain_of[s] = base_cfg.is_object() && base_cfg.contains("ckpt") && base_cfg["ckpt"].is_string()
                          ? base_cfg["ckpt"].get<std::string>()
                          : "";
  if (file_exists(D + "/audit-gate.txt")) st.gates[std::to_string(s)] = read_file(D + "/audit-gate.txt");
  for (auto& e : fs::directory_iterator(D)) {
    const std::string name = e.path().filename().string();
    const std::string dir = e.path().string(), cfg_path = dir + "/config.json";
    if (!e.is_directory()) continue;
    const json sum = file_exists(dir + "/summary.json") ? read_json(dir + "/summary.json") : json();
    if (sum.is_object() && sum.contains("failed")) {
      st.failed.push_back({name, sum["failed"].is_string() ? sum["failed"].get<std::string>() : sum["failed"].dump()});
      continue;
    }
    if (!file_exists(cfg_path)) continue;
    const json cfg = read_json(cfg_path);
    if (!cfg.is_object()) throw UserError("config.json is not a JSON object", cfg_path);
    const json p = cfg.value("provenance", json::object());
    st.made_by[s][{p.value("commit", "unknown"), machine_text(p)}].push_back(name);
    if (cfg.value("command", "") != "improve" || sum.is_null()) continue;
    const json ev = eval_summary(D + "/eval-" + name);
    if (ev.is_null()) continue;  // not evaluated yet
    same_judge(st, ev, D + "/eval-" + name + "/summary.json");
    if (!cfg.contains("improve") || !cfg["improve"].is_object()) throw UserError("an improve run without its 'improve' config", cfg_path);
    Arm& a = arms[name];
    const json& ic = cfg.at("improve");
    if (a.seeds.empty()) {
      a.name = name, a.method = ic.value("method", ""), a.supervision = ic.value("supervision", "");
      a.replay = ic.value("curriculum_epochs", std::vector<int>{});
      a.config = ic;
    } else {  // seeds made apart (another session, the archive) must have run the same arm
      // Options a seed takes from its own runs may differ, but an arm has them in every seed or
      // in none: its seed, the pool it trains on (--pool-from), its prompts (--train-suite: E4's
      // per seed) and the per-epoch budget it matches to its seed's self-SFT (--sft-samples).
      static const std::set<std::string> per_seed = {"seed", "pool_from", "train_suite", "sft_samples"};
      json mine = with_old_defaults(ic), first = with_old_defaults(a.config);
      for (auto& [k, v] : mine.items())
        if (!first.contains(k)) first[k] = nullptr;
      for (auto& [k, v] : first.items()) {
        const json m = mine.value(k, json());
        if (per_seed.count(k) ? m.is_null() != v.is_null() : m != v)
          throw UserError("this seed's " + name + " ran with " + k + " = " + m.dump() + ", seed " +
                              std::to_string(a.seeds.front().seed) + "'s with " + v.dump(),
                          cfg_path, "every seed of an arm needs the same options");
      }
    }
    a.seeds.push_back(arm_seed(s, base, base_recs, ev, sum, D + "/eval-" + name));
    const std::string held = D + "/heldout-" + name;
    if (file_exists(held + "/summary.json")) a.seeds.back().held_out = held_out_of(held, s);
    if (file_exists(dir + "/metrics.jsonl")) {  // read once for the tracking and the monitor
      const auto metrics = read_jsonl(dir + "/metrics.jsonl");
      a.seeds.back().val_gen_by_epoch = val_gen_by_epoch(metrics);
      if (a.method == "grpo") a.seeds.back().monitor = monitor_of(metrics, dir + "/metrics.jsonl");
    }
  }
  std::sort(st.failed.begin(), st.failed.end());
}

void order_arms(Study& st, std::map<std::string, Arm>& arms) {
  for (auto& [n, a] : arms) st.arms.push_back(std::move(a));
  std::stable_sort(st.arms.begin(), st.arms.end(), [](const Arm& x, const Arm& y) {
    if (rank_of(x) != rank_of(y)) return rank_of(x) < rank_of(y);
    const int ex = x.replay.empty() ? 0 : x.replay[0], ey = y.replay.empty() ? 0 : y.replay[0];
    return ex < ey;
  });
}

Diff seed_diff(const Arm& a, double ArmSeed::*value, Interval ArmSeed::*ci, bool ArmSeed::*has) {
  Diff d;
  for (auto& s : a.seeds) d.per_seed.push_back(s.*value);
  if (a.seeds.size() == 1 && a.seeds[0].*has) d.one_seed_ci = true, d.ci = a.seeds[0].*ci;
  return d;
}

// The finite values of v, in percent (points).
std::vector<double> finite_percent(const std::vector<double>& v) {
  std::vector<double> p;
  for (double x : v)
    if (std::isfinite(x)) p.push_back(100 * x);
  return p;
}

// A paired difference in points with its 95% t-interval.
std::string diff_ci(const std::vector<double>& v) { return mean_ci_text(v, "%+.1f", 100); }

// Sufficient statistics of one seed's images of one meaning group.
struct Suff {
  double correct = 0, n = 0, rejected = 0, tp = 0, fp = 0, win_k = 0, win_n = 0;
};

}  // namespace

const char* endpoint_name(Endpoint e) {
  switch (e) {
    case Endpoint::Gen: return "Gen";
    case Endpoint::Non: return "Non";
    case Endpoint::TpShare: return "accepted-correct share";
    case Endpoint::FpShare: return "accepted-wrong share";
    case Endpoint::Precision: return "precision of own acceptances";
    case Endpoint::WinRate: return "win rate - 50%";
  }
  return "?";
}

json Estimate::to_json(double alpha) const {
  auto n = [](double x) { return std::isfinite(x) ? json(x) : json(); };
  return {{"value", n(value)},      {"ci95", interval_json(dist.ci95())}, {"se", n(dist.se())},
          {"mde", n(mde(alpha))},   {"alpha", alpha},                      {"seeds", seeds},
          {"pretrain_seeds", pretrain_seeds}, {"groups", groups},         {"reps", dist.values.size()}};
}

Estimate estimate(const Study& st, const Arm& arm, const Arm* versus, Endpoint e, uint64_t seed, int reps) {
  // The units: seeds where both sides have per-image results.
  struct Unit {
    int seed;
    const std::vector<ImageRecord>* a;
    const std::vector<ImageRecord>* b;
    const std::vector<ArmSeed::OnBase>* on_base;
  };
  std::vector<Unit> units;
  for (auto& s : arm.seeds) {
    const std::vector<ImageRecord>* other = nullptr;
    if (versus) {
      for (auto& t : versus->seeds)
        if (t.seed == s.seed && !t.recs.empty()) other = &t.recs;
    } else if (st.base_recs.count(s.seed)) {
      other = &st.base_recs.at(s.seed);
    }
    const bool ok = e == Endpoint::WinRate ? !versus && !s.on_base.empty() : !s.recs.empty() && other;
    if (ok) units.push_back({s.seed, &s.recs, other, &s.on_base});
  }
  Estimate est;
  est.seeds = int(units.size());
  if (units.empty()) return est;
  // Groups and their tags over every unit; per unit and group, both sides' sufficient statistics.
  std::map<std::string, int> gid;
  std::vector<int> stratum;
  std::map<std::string, int> tag_id;
  auto group_index = [&](const std::string& g, const std::string& tag) {
    auto it = gid.find(g);
    if (it != gid.end()) return it->second;
    stratum.push_back(tag_id.emplace(tag, int(tag_id.size())).first->second);
    return gid.emplace(g, int(gid.size())).first->second;
  };
  for (auto& u : units) {
    if (e == Endpoint::WinRate)
      for (auto& o : *u.on_base) group_index(o.group, o.tag);
    else
      for (auto* v : {u.a, u.b})
        for (auto& r : *v) group_index(group_of(r), r.tag);
  }
  const size_t G = gid.size();
  std::vector<std::vector<Suff>> A(units.size(), std::vector<Suff>(G)), B = A;
  for (size_t k = 0; k < units.size(); ++k) {
    if (e == Endpoint::WinRate) {
      for (auto& o : *units[k].on_base) {
        if (o.ref_verdict == o.verdict) continue;
        Suff& x = A[k][size_t(gid.at(o.group))];
        x.win_n += 1, x.win_k += o.verdict == o.oracle;
      }
      continue;
    }
    for (int side = 0; side < 2; ++side)
      for (auto& r : *(side ? units[k].b : units[k].a)) {
        Suff& x = (side ? B : A)[k][size_t(gid.at(group_of(r)))];
        x.n += 1, x.correct += r.oracle, x.rejected += !r.verdict, x.tp += r.verdict && r.oracle, x.fp += r.verdict && !r.oracle;
      }
  }
  const int T = int(tag_id.size());
  auto side_value = [&](const std::vector<Suff>& s, const std::vector<int>& groups) {
    if (e == Endpoint::Gen) {  // mean over tags of the tag's accuracy
      std::vector<double> c(size_t(T), 0), n(size_t(T), 0);
      for (int g : groups) c[size_t(stratum[size_t(g)])] += s[size_t(g)].correct, n[size_t(stratum[size_t(g)])] += s[size_t(g)].n;
      double sum = 0;
      int tags = 0;
      for (int t = 0; t < T; ++t)
        if (n[size_t(t)] > 0) sum += c[size_t(t)] / n[size_t(t)], ++tags;
      return tags ? sum / tags : NAN;
    }
    double k = 0, n = 0;
    for (int g : groups) {
      const Suff& x = s[size_t(g)];
      n += e == Endpoint::Precision ? x.tp + x.fp : x.n;
      k += e == Endpoint::Non ? x.rejected : e == Endpoint::TpShare || e == Endpoint::Precision ? x.tp : x.fp;
    }
    return n > 0 ? k / n : NAN;
  };
  auto stat = [&](const std::vector<int>& us, const std::vector<int>& groups) {
    if (e == Endpoint::WinRate) {  // pooled over the drawn seeds
      double k = 0, n = 0;
      for (int u : us)
        for (int g : groups) k += A[size_t(u)][size_t(g)].win_k, n += A[size_t(u)][size_t(g)].win_n;
      return n > 0 ? k / n - 0.5 : NAN;
    }
    double sum = 0;
    for (int u : us) sum += side_value(A[size_t(u)], groups) - side_value(B[size_t(u)], groups);
    return sum / double(us.size());
  };
  std::map<std::string, int> top_id;
  std::vector<int> top;
  for (auto& u : units) {
    const auto it = st.pretrain_of.find(u.seed);
    top.push_back(top_id.emplace(it == st.pretrain_of.end() ? "" : it->second, int(top_id.size())).first->second);
  }
  std::vector<int> all_units(units.size()), all_groups(G);
  for (size_t i = 0; i < units.size(); ++i) all_units[i] = int(i);
  for (size_t g = 0; g < G; ++g) all_groups[g] = int(g);
  est.value = stat(all_units, all_groups);
  est.pretrain_seeds = int(top_id.size());
  est.groups = int(G);
  est.dist = hierarchical_bootstrap(top, stratum, stat, reps, seed);
  return est;
}

std::string Arm::description() const {
  std::string d = method == "dpo" ? "DPO" : method == "grpo" ? "GRPO" : "SFT";
  d += ", " + supervision + " supervision";
  if (!replay.empty()) {
    d += ", replay after epoch";
    for (size_t i = 0; i < replay.size(); ++i) d += (i ? "," : " ") + std::to_string(replay[i]);
  }
  return d;
}

std::vector<const Arm*> Study::find_all(const std::function<bool(const Arm&)>& pred) const {
  std::vector<const Arm*> out;
  for (auto& a : arms)
    if (pred(a) && rates.admits(a)) out.push_back(&a);
  return out;
}

std::map<std::string, std::vector<int>> Study::seeds_by_base() const {
  std::map<std::string, std::vector<int>> out;
  for (int s : seeds) out[pretrain_of.count(s) ? pretrain_of.at(s) : std::string()].push_back(s);
  return out;
}

std::string Study::base_label(const std::string& base) const {
  return seeds_by_base().size() < 2 ? std::string("base") : "base (" + (base.empty() ? std::string("?") : base) + ")";
}

const Arm* Study::find(const std::function<bool(const Arm&)>& pred) const {
  const auto all = find_all(pred);
  return all.empty() ? nullptr : all.front();
}

std::vector<double> finite_values(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v)
    if (std::isfinite(x)) out.push_back(x);
  return out;
}

std::string mean_ci_text(const std::vector<double>& values, const char* format, double scale) {
  const std::vector<double> v = finite_values(values);
  if (v.empty()) return "-";
  const MeanStd m = mean_std(v);
  if (m.n < 2) return fmt(format, scale * m.mean);
  const Interval ci = mean_ci95(m);
  return fmt(format, scale * m.mean) + " [" + fmt(format, scale * ci.lo) + ", " + fmt(format, scale * ci.hi) + "]";
}

std::string judge_of(const json& eval) {
  return eval.is_object() && eval.contains("external_judge") && eval["external_judge"].is_string()
             ? eval["external_judge"].get<std::string>()
             : "oracle";
}

double chosen_guidance(const json& eval) {
  return eval.is_object() && eval.contains("guidance") && eval["guidance"].is_object() ? number_or(eval["guidance"].value("chosen", json())) : NAN;
}

bool RateChoice::admits(const Arm& a) const {
  return a.method != method || !std::isfinite(chosen) || number_or(a.config.value("lr", json())) == chosen;
}

RateChoice choose_rate(const Study& st, const std::string& method) {
  std::map<double, std::map<int, double>> by_lr;  // lr -> seed -> final validation Gen
  for (const Arm& a : st.arms)
    if (a.method == method && a.supervision == "self" && a.replay.empty())
      for (const ArmSeed& s : a.seeds) by_lr[number_or(a.config.value("lr", json()))][s.seed] = s.final_val_gen();
  RateChoice r;
  r.method = method;
  if (by_lr.size() < 2) return r;
  for (auto& [seed, g] : by_lr.begin()->second) {
    bool everywhere = true;
    for (auto& [lr, seeds] : by_lr) everywhere = everywhere && seeds.count(seed) && std::isfinite(seeds.at(seed));
    if (everywhere) r.seeds.push_back(seed);
  }
  if (r.seeds.empty()) return r;
  for (auto& [lr, seeds] : by_lr) {
    double sum = 0;
    for (int s : r.seeds) sum += seeds.at(s);
    r.gen.push_back({lr, sum / double(r.seeds.size())});
  }
  r.chosen = std::max_element(r.gen.begin(), r.gen.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
  return r;
}

bool RateChoices::admits(const Arm& a) const {
  return std::all_of(by_method.begin(), by_method.end(), [&](const RateChoice& r) { return r.admits(a); });
}

RateChoices choose_rates(const Study& st) {
  RateChoices r;
  for (const Arm& a : st.arms)
    if (std::none_of(r.by_method.begin(), r.by_method.end(), [&](const RateChoice& c) { return c.method == a.method; }))
      r.by_method.push_back(choose_rate(st, a.method));
  return r;
}

Study read_study(const std::string& runs_dir) {
  std::vector<int> seeds;
  if (dir_exists(runs_dir))
    for (auto& e : fs::directory_iterator(runs_dir)) {
      const std::string n = e.path().filename().string();
      if (e.is_directory() && n.size() > 1 && n.size() < 10 && n[0] == 's' &&
          n.find_first_not_of("0123456789", 1) == std::string::npos && file_exists(e.path().string() + "/eval-base/summary.json"))
        seeds.push_back(std::stoi(n.substr(1)));
    }
  std::sort(seeds.begin(), seeds.end());
  if (seeds.empty())
    throw UserError("no finished seed folder (s<seed>/eval-base/summary.json)", runs_dir, "run scripts/results.sh first");
  Study st;
  std::map<std::string, Arm> arms;
  for (int s : seeds) read_seed(st, arms, runs_dir + "/s" + std::to_string(s), s);
  order_arms(st, arms);
  st.rates = choose_rates(st);
  return st;
}

Study read_run(const std::string& dir, int seed) {
  Study st;
  std::map<std::string, Arm> arms;
  if (file_exists(dir + "/eval-base/summary.json")) read_seed(st, arms, dir, seed);
  order_arms(st, arms);
  st.rates = choose_rates(st);
  return st;
}

Diff gen_diff(const Arm& a) { return seed_diff(a, &ArmSeed::d_gen, &ArmSeed::ci_gen, &ArmSeed::has_ci); }
Diff non_diff(const Arm& a) { return seed_diff(a, &ArmSeed::d_non, &ArmSeed::ci_non, &ArmSeed::has_ci); }
Diff und_diff(const Arm& a) { return seed_diff(a, &ArmSeed::d_und, &ArmSeed::ci_und, &ArmSeed::has_und_ci); }

Diff gen_vs(const Arm& x, const Arm& y) {
  Diff d;
  for (auto& s : x.seeds)
    for (auto& t : y.seeds)
      if (s.seed == t.seed) {
        d.per_seed.push_back(s.gen - t.gen);
        if (x.seeds.size() == 1 && !s.recs.empty() && !t.recs.empty())
          d.one_seed_ci = true, d.ci = paired_gap(t.recs, s.recs, 17).d_gen_ci;
      }
  return d;
}

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

std::string verdict_of(const Diff& d, int direction) {
  if (d.per_seed.size() == 1 && d.one_seed_ci && std::isfinite(d.per_seed[0])) {
    const std::string v = interval_verdict(d.per_seed[0], d.ci, direction);
    return v == "reproduced" ? v + " (one seed)" : v;
  }
  return paired_verdict(d.per_seed, direction);
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string pct_ms(const std::vector<double>& v) {
  const std::vector<double> ok = finite_percent(v);
  if (ok.empty()) return "-";
  const MeanStd m = mean_std(ok);
  return ok.size() == 1 ? fmt("%.1f", m.mean) : fmt("%.1f", m.mean) + " &plusmn; " + fmt("%.1f", m.std);
}

std::string diff_text(const Diff& d) {
  if (d.per_seed.size() == 1 && d.one_seed_ci && std::isfinite(d.per_seed[0]))
    return fmt("%+.1f", 100 * d.per_seed[0]) + " [" + fmt("%+.1f", 100 * d.ci.lo) + ", " + fmt("%+.1f", 100 * d.ci.hi) + "]p";
  return diff_ci(d.per_seed);
}

std::string rate_text(const Rate& r) {
  if (!r.n) return "undefined (n = 0)";
  const Interval ci = r.ci();
  return fmt("%.1f%%", 100.0 * r.k / r.n) + " [" + fmt("%.1f", 100 * ci.lo) + ", " + fmt("%.1f", 100 * ci.hi) + "] (" +
         std::to_string(r.k) + "/" + std::to_string(r.n) + ")";
}

}  // namespace unigap
