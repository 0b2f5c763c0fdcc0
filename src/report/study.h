// The runs of a self-improvement study as the report and `unigap results` read them. A
// seed's folder holds, whoever made it (`unigap demo`, scripts/results.sh):
//   eval-base/      the base model's gap (`eval`)
//   <arm>/          an `improve` run: config.json, summary.json (with its audit)
//   eval-<arm>/     its model evaluated against the base (`eval --ref`)
//   audit-gate.txt  what `improve --audit-min-precision` said on corrupted data (optional)
// An arm is recognised by its config (method, supervision, replay epochs), never by its
// folder's name; seeds of an arm share the folder name and must share its options. Every
// difference with the base is paired (same eval prompts, images and rendered pairs): over
// seeds, a t-interval of the per-seed differences; with one seed, that seed's interval over
// the eval prompts (paired bootstrap; Newcombe for Und).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "eval/gap_metrics.h"
#include "eval/stats.h"
#include "io/jsonl.h"

namespace unigap {

// One arm in one seed.
struct ArmSeed {
  int seed = 0;
  json eval, summary;                                              // eval-<arm> per_seed[0]; <arm>/summary.json
  double gen = NAN, und = NAN, non = NAN, weakgen = NAN;           // of the arm's model
  double d_gen = NAN, d_und = NAN, d_non = NAN;                    // minus the base, same seed
  int64_t win_k = 0, win_n = 0, fp_to_tn = 0, tn_to_fp = 0;        // on the base's images
  int64_t sft_samples = 0, dpo_pairs = 0, discarded = 0, joined = 0;
  int64_t rollouts = 0;                                            // GRPO: images sampled and rewarded
  Rate audit_precision, audit_accept;
  json audit;                                                      // the audit as the run wrote it (null: none)
  double seconds = NAN;
  std::map<std::string, double> gen_by_tag;
  json held_out;  // heldout-<arm>/summary.json: `dynamics --held-out` of the arm's model (null: not run)
  json monitor;   // GRPO: the reward-hacking monitor's point of every step, from <arm>/metrics.jsonl (null: not GRPO)
  // The held-out tracking's Gen at each epoch ([0]: before training) where it read the
  // validation split (the figures tuning may use); NaN at an epoch tracked on another split.
  std::vector<double> val_gen_by_epoch;
  double final_val_gen() const { return val_gen_by_epoch.empty() ? NAN : val_gen_by_epoch.back(); }
  // Within this seed, when the evaluations' per-image results are there: the 95% intervals
  // of d_gen and d_non (paired bootstrap over eval prompts) and of d_und (Newcombe).
  std::vector<ImageRecord> recs;
  // Per image of the base's images (eval-<arm>/ref_results.jsonl): the base's verdict
  // (ref_verdict), this arm's (verdict) and the oracle's: the win rate's transitions.
  struct OnBase {
    std::string group, tag;
    bool ref_verdict = false, verdict = false, oracle = false;
  };
  std::vector<OnBase> on_base;
  bool has_ci = false, has_und_ci = false;
  Interval ci_gen, ci_non, ci_und;
};

struct Arm {
  std::string name, method, supervision;
  std::vector<int> replay;  // curriculum epochs
  json config;              // the improve config of its first seed
  std::vector<ArmSeed> seeds;
  std::string description() const;  // "SFT, self supervision, replay after epoch 2"
};

// A method's learning rate, chosen on validation: where its self-supervised arms without
// replay ran at several learning rates, the rate whose held-out tracking ends with the highest
// Gen on the validation split, mean over the seeds every rate ran; that method's endpoints
// then read its arms at that rate (the others are tuning runs). No choice (NaN) with one rate,
// or where no seed has every rate's validation tracking.
struct RateChoice {
  std::string method;  // "sft", "dpo", "grpo"
  double chosen = NAN;
  std::vector<std::pair<double, double>> gen;  // (lr, mean final validation Gen over `seeds`)
  std::vector<int> seeds;                      // the seeds compared
  bool admits(const Arm& a) const;             // another method, no choice, or at the chosen rate
};
// Every method's choice, in the order of the methods' first arms.
struct RateChoices {
  std::vector<RateChoice> by_method;
  bool admits(const Arm& a) const;  // by every method's choice
};

struct Study {
  std::string judge;  // the external judge of every evaluation (runs that predate its record: "oracle")
  std::vector<int> seeds;
  std::map<int, json> base_of;  // eval-base per_seed[0], by seed
  std::map<int, std::vector<ImageRecord>> base_recs;  // the base's own images, by seed (when results.jsonl is there)
  // The base model of each seed (eval-base's checkpoint): seeds that share one are
  // fine-tuning seeds of one pretraining seed, the top level of the hierarchical bootstrap.
  std::map<int, std::string> pretrain_of;
  std::vector<Arm> arms;        // evaluated arms, in the order of the method: plain SFT, replay, DPO, oracle, corrupted, others
  json gates = json::object();  // audit-gate.txt by seed
  std::vector<std::pair<std::string, std::string>> failed;  // arms that were refused or could not run: (folder, why)
  // Per seed: which commit on which machine ran which stage (an improve run or an eval).
  std::map<int, std::map<std::pair<std::string, std::string>, std::vector<std::string>>> made_by;
  RateChoices rates;  // each method's learning rate, where it was chosen on validation
  // The first arm that satisfies pred, among those the rate choices admit (a method's arms at a
  // rate it did not choose are tuning runs: on the page, never in a claim or an endpoint).
  const Arm* find(const std::function<bool(const Arm&)>& pred) const;
  std::vector<const Arm*> find_all(const std::function<bool(const Arm&)>& pred) const;  // every such arm, in order
  // The seeds of each base model (pretraining seed), by its path ("" when unrecorded).
  std::map<std::string, std::vector<int>> seeds_by_base() const;
  // The base's row label on the page: "base", or "base (PATH)" when the study has several.
  std::string base_label(const std::string& base) const;
};
RateChoice choose_rate(const Study& st, const std::string& method);
RateChoices choose_rates(const Study& st);

// The external judge an evaluation (an eval summary's per_seed entry) was measured against;
// evaluations written before the judge was recorded all used the oracle.
std::string judge_of(const json& eval);
// The guidance weight an evaluation chose on the validation split (eval --cfg-grid); NaN when
// it was given one instead.
double chosen_guidance(const json& eval);

// Every s<seed>/ folder of `runs_dir` with a finished eval-base; a UserError naming
// `runs_dir` when there is none.
Study read_study(const std::string& runs_dir);
// One folder laid out as one seed (a demo run), as seed `seed`.
Study read_run(const std::string& dir, int seed);

// ---- paired differences with the base, and their verdicts ----

// A difference in fractions over an arm's seeds; with one seed, that seed's interval over
// the eval prompts.
struct Diff {
  std::vector<double> per_seed;
  bool one_seed_ci = false;
  Interval ci;
};
Diff gen_diff(const Arm& a);
Diff und_diff(const Arm& a);
Diff non_diff(const Arm& a);
// Gen of arm x minus arm y, seed by seed (the seeds both have).
Diff gen_vs(const Arm& x, const Arm& y);

// Verdict of a claim that a paired difference is > 0 (direction +1) or < 0 (-1), from its
// per-seed values: "reproduced" when the 95% t-interval lies on the claimed side,
// "not reproduced" when the mean lies on the other side (or at 0), else "inconclusive".
std::string paired_verdict(const std::vector<double>& diffs, int direction);
// Verdict of the same claim from one difference d and its 95% interval: "reproduced" when
// the interval lies on the claimed side, "not reproduced" when d does not, else "inconclusive".
std::string interval_verdict(double d, const Interval& ci, int direction);
// The verdict of a Diff: paired_verdict over seeds, or interval_verdict over one seed's
// prompts, then marked "(one seed)".
std::string verdict_of(const Diff& d, int direction);

// ---- study-level estimates (docs/metrics.md, "Intervals") ----

// A paired difference (arm minus base, or minus another arm) of one endpoint over every seed
// with per-image results, with its hierarchical bootstrap: pretraining seeds, fine-tuning
// seeds within them, meaning groups within tags (one draw shared by both sides).
enum class Endpoint {
  Gen,        // GenEval overall (mean of tags), own images
  Non,        // share of own images the own judge rejects
  TpShare,    // share of own images accepted and correct (Non decomposed)
  FpShare,    // share of own images accepted and wrong
  Precision,  // of the own images the own judge accepts, the share the oracle calls correct
  WinRate     // on the base's images, where the two judges disagree: share the arm gets right, minus 0.5
};
const char* endpoint_name(Endpoint e);
struct Estimate {
  double value = NAN;  // mean over seeds of the full-sample difference (win rate: pooled, minus 0.5)
  BootstrapDist dist;
  int seeds = 0, pretrain_seeds = 0, groups = 0;
  // The smallest true difference the study detects with 80% power at two-sided level alpha.
  double mde(double alpha) const { return minimum_detectable_effect(dist.se(), alpha); }
  json to_json(double alpha) const;
};
Estimate estimate(const Study& st, const Arm& arm, const Arm* versus, Endpoint e, uint64_t seed, int reps = 1000);

// ---- text ----
std::string fmt(const char* f, double v);
std::vector<double> finite_values(const std::vector<double>& v);  // the finite ones, in order
// The mean of the finite values, scaled and formatted, with its 95% t-interval over them:
// "+0.12 [-0.03, +0.27]" (one value: the value; none: "-").
std::string mean_ci_text(const std::vector<double>& values, const char* format, double scale = 1);
std::string pct_ms(const std::vector<double>& v);  // "23.0 &plusmn; 0.4" percent over seeds
std::string diff_text(const Diff& d);              // "+1.2 [-0.3, +2.7]" points; one seed's interval marked "p"
std::string rate_text(const Rate& r);              // "12.3% [10.1, 14.8] (k/n)"
template <class F>
std::vector<double> column(const Arm& a, F f) {
  std::vector<double> v;
  for (auto& s : a.seeds) v.push_back(f(s));
  return v;
}

}  // namespace unigap
