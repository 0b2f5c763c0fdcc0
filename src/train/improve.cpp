#include "train/improve.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <set>

#include "common/error.h"
#include "common/progress.h"
#include "dist/data_parallel.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "model/without_adapter.h"
#include "train/audit.h"
#include "train/checkpointing.h"
#include "train/losses.h"
#include "train/objectives.h"
#include "train/reward_monitor.h"
#include "train/train_step.h"
#include "world/suite.h"

namespace unigap {

RewardKind parse_reward(const std::string& s) {
  if (s == "score") return RewardKind::Score;
  if (s == "verdict") return RewardKind::Verdict;
  throw UserError("must be score or verdict, found '" + s + "'", "improve option 'reward'");
}

RewardJudge parse_reward_judge(const std::string& s) {
  if (s == "frozen") return RewardJudge::Frozen;
  if (s == "policy") return RewardJudge::Policy;
  throw UserError("must be frozen or policy, found '" + s + "'", "improve option 'reward_judge'");
}

void GrpoOptions::validate() const {
  auto fail = [](const std::string& f, const std::string& why) { throw UserError(why, "improve option '" + f + "'"); };
  if (group < 2) fail("group", "must be >= 2: advantages compare the samples of one prompt");
  if (!(clip > 0 && clip < 1)) fail("clip", "must be in (0, 1)");
  if (!(kl >= 0 && std::isfinite(kl))) fail("kl", "must be a finite number >= 0");
  if (inner_epochs < 1) fail("inner_epochs", "must be >= 1");
  if (rollout_log_every < 0) fail("rollout_log_every", "must be >= 0");
  if (checkpoint_steps < 0) fail("checkpoint_steps", "must be >= 0");
  parse_reward(reward);
  parse_reward_judge(reward_judge);
}

json GrpoOptions::to_json() const {
  return {{"group", group}, {"clip", clip}, {"kl", kl}, {"inner_epochs", inner_epochs}, {"reward", reward},
          {"reward_judge", reward_judge}, {"rollout_log_every", rollout_log_every}, {"checkpoint_steps", checkpoint_steps}};
}

void ImproveConfig::validate() const {
  auto fail = [](const std::string& f, const std::string& why) { throw UserError(why, "improve option '" + f + "'"); };
  const Method m = parse_method(method);
  Supervision::parse(supervision);
  JudgeSpec::parse(judge, "improve option 'judge'");
  if (train_prompts < 1) fail("train_prompts", "must be >= 1");
  if (pool.candidates < 1) fail("candidates", "must be >= 1");
  if (m == Method::Dpo && pool.candidates < 2) fail("candidates", "DPO needs >= 2 candidates per prompt");
  if (epochs < 1) fail("epochs", "must be >= 1");
  if (batch < 1) fail("batch", "must be >= 1");
  if (!(lr > 0)) fail("lr", "must be > 0");
  if (!(pool.threshold > 0 && pool.threshold < 1)) fail("threshold", "must be in (0, 1)");
  if (!(beta > 0)) fail("beta", "must be > 0");
  if (!(prompt_dropout >= 0 && prompt_dropout < 1)) fail("prompt_dropout", "must be in [0, 1)");
  if (sft_samples < 0) fail("sft_samples", "must be >= 0");
  if (sft_samples > 0 && m != Method::Sft) fail("sft_samples", "matches SFT budgets; DPO trains on pairs, GRPO on its own samples");
  if (m == Method::Grpo) {
    grpo.validate();
    const auto k = Supervision::parse(supervision).kind;
    if (k == Supervision::Kind::All || k == Supervision::Kind::Render)
      fail("supervision", "GRPO needs a reward; '" + supervision + "' accepts every candidate");
    if (!pool_from.empty()) fail("pool_from", "GRPO samples from the current policy every step; it has no pool to reuse");
    if (!curriculum_epochs.empty()) fail("curriculum_epochs", "replay is for a pool; GRPO samples every prompt every epoch");
    if (audit_min_precision >= 0) fail("audit_min_precision", "GRPO has no pool to audit before training; its reward-hacking monitor checks every step");
  }
  if (sft_samples > 0 && !curriculum_epochs.empty()) fail("sft_samples", "a fixed budget per epoch and replay's growing pool exclude each other");
  lora.validate();
  if (lora.enabled() && !train_groups.empty() && train_groups != std::vector<std::string>{"lora"})
    fail("train_groups", "with a LoRA adapter (--lora-rank) only the group 'lora' trains");
  for (int e : curriculum_epochs)
    if (e < 1 || e >= epochs) fail("curriculum_epochs", "replay epoch " + std::to_string(e) + " must be in [1, epochs)");
  for (double w : eval_cfg_grid)
    if (!(w >= 0)) fail("eval_cfg_grid", "guidance weights must be >= 0, found " + std::to_string(w));
  pool.sampling.validate();
  eval.validate();
}

json ImproveConfig::to_json() const {
  json j = {{"method", method},
          {"supervision", supervision},
          {"judge", judge},
          {"world", world},
          {"seed", seed},
          {"train_prompts", train_prompts},
          {"candidates", pool.candidates},
          {"candidate_cfg", pool.sampling.cfg_weight},
          {"candidate_temperature", pool.sampling.temperature},
          {"candidate_top_k", pool.sampling.top_k},
          {"threshold", pool.threshold},
          {"epochs", epochs},
          {"batch", batch},
          {"lr", lr},
          {"warmup", warmup},
          {"weight_decay", weight_decay},
          {"grad_clip", grad_clip},
          {"prompt_dropout", prompt_dropout},
          {"beta", beta},
          {"nll_weight", nll_weight},
          {"train_groups", train_groups},
          {"curriculum_epochs", curriculum_epochs},
          {"audit_min_precision", audit_min_precision},
          {"audit_sample", audit_sample},
          {"eval_every", eval_every},
          {"eval_prompts", eval_prompts},
          {"eval", eval.to_json()},
          {"pool_from", pool_from}};
  // Written only when used, so that the configs of earlier runs still compare equal on resume.
  if (lora.enabled())
    j["lora"] = lora.to_json();
  if (grad_checkpointing) j["grad_checkpointing"] = true;
  if (!adapter.empty()) j["adapter"] = adapter;
  if (!train_suite.empty()) j["train_suite"] = train_suite;
  if (!eval_suite.empty()) j["eval_suite"] = eval_suite;
  if (sft_samples > 0) j["sft_samples"] = sft_samples;
  if (!eval_cfg_grid.empty()) j["eval_cfg_grid"] = eval_cfg_grid;
  if (parse_method(method) == Method::Grpo) j["grpo"] = grpo.to_json();
  return j;
}

bool codegradation_alarm(double non0, double gen0, double und0, const EvalResult& now) {
  // Non measures agreement, not correctness: falling Non with a falling external metric is
  // co-degradation. "Falling" = the epoch-0 value lies above this epoch's 95% interval, so
  // that the sampling noise of a small tracking suite does not raise the alarm.
  const auto non = now.gap.pooled.non.value();
  if (!non || !(*non < non0)) return false;
  const bool gen_fell = now.gap.gen_overall_ci.hi < gen0;
  const bool und_fell = now.und.overall.accuracy.n > 0 && now.und.overall.accuracy.ci().hi < und0;
  return gen_fell || und_fell;
}

namespace {

using Clock = std::chrono::steady_clock;

// Everything an improve run works with, opened once.
struct Setup {
  ImproveConfig c;  // train_groups resolved
  Method method;
  Supervision sup;
  std::unique_ptr<UnifiedMultimodal> base, policy, other;  // other: the ckpt:PATH supervisor
  WorldSpec spec;
  std::unique_ptr<ExternalJudge> judge;
  bool train_open = false, eval_open = false;  // the prompt files are read in the open vocabulary
  std::vector<Metadata> eval_suite;            // the held-out prompts of the tracking
  RewardKind reward = RewardKind::Score;       // GRPO
  RewardJudge reward_judge = RewardJudge::Frozen;
};

// Prompt text as compared for disjointness: lower case, single spaces.
std::string normalized_prompt(const std::string& p) {
  std::string out;
  for (char ch : p) {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += char(std::tolower(static_cast<unsigned char>(ch)));
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Training on a held-out prompt would make the tracking meaningless: refused, naming it.
void check_disjoint(const std::vector<Metadata>& train, const std::vector<Metadata>& held_out, const ImproveConfig& c) {
  std::set<std::string> seen;
  for (auto& m : held_out) seen.insert(normalized_prompt(m.prompt));
  for (auto& m : train)
    if (seen.count(normalized_prompt(m.prompt)))
      throw UserError("the training prompt \"" + m.prompt + "\" is also a held-out prompt",
                      c.train_suite.empty() ? "--eval-suite " + c.eval_suite : "--train-suite " + c.train_suite,
                      "training and held-out prompts must be disjoint");
}

Setup open_setup(const ImproveConfig& cfg, const std::string& base_ckpt, Dist& dist) {
  Setup s{cfg,   parse_method(cfg.method), Supervision::parse(cfg.supervision), nullptr, nullptr, nullptr, {}, nullptr,
          false, false, {}, parse_reward(cfg.grpo.reward), parse_reward_judge(cfg.grpo.reward_judge)};
  ModelOptions mo;
  mo.adapter = s.c.adapter;
  s.policy = open_model(base_ckpt, dist, mo);
  if (s.c.lora.enabled()) {  // a fresh adapter: the base is the policy with it switched off, no second copy
    s.policy->add_lora(s.c.lora, derive_seed(s.c.seed, "lora"));
    s.base = std::make_unique<WithoutAdapter>(*s.policy);
  } else {
    s.base = open_model(base_ckpt, dist, mo);
  }
  if (s.c.grad_checkpointing) s.policy->set_gradient_checkpointing(true);
  if (s.c.train_groups.empty()) s.c.train_groups = s.policy->default_train_groups();
  s.policy->train_only(s.c.train_groups);  // unknown groups are refused here, before any work
  s.spec = world_of(*s.policy, s.c.world);
  const bool open = reads_open_vocabulary(*s.policy, s.c.world);
  s.train_open = !s.c.train_suite.empty() && open;
  s.eval_open = !s.c.eval_suite.empty() && open;
  const JudgeSpec judge_spec = JudgeSpec::parse(s.c.judge, "--judge");
  if ((s.train_open || s.eval_open) && judge_spec.kind == JudgeSpec::Kind::Oracle)
    refuse_oracle_for_open_vocabulary(s.train_open ? s.c.train_suite : s.c.eval_suite, "--judge");
  // Tracking informs the choice of epochs and learning rate: it reads the validation split.
  s.eval_suite = s.c.eval_suite.empty() ? sample_suite(s.spec, tuning_split(s.spec), s.c.eval_prompts, derive_seed(s.c.seed, "track"))
                                        : read_metadata_file(s.c.eval_suite, s.eval_open ? nullptr : &s.spec);
  if (!s.c.eval_suite.empty() && !s.eval_open) refuse_outside_tuning_split(s.eval_suite, s.spec, s.c.eval_suite);
  if (!s.c.eval_cfg_grid.empty() && (s.eval_open || tuning_split(s.spec) != Split::Val))
    throw UserError("chooses the tracking's guidance on the validation split, which " +
                        std::string(s.eval_open ? "an open-vocabulary suite" : "a version " + std::to_string(s.spec.version) + " world") +
                        " does not have",
                    "--eval-cfg-grid", "use --eval-cfg");
  s.judge = make_judge(judge_spec, s.spec, dist, s.c.pool.threshold, ModelOptions{});
  if (s.sup.kind == Supervision::Kind::Checkpoint) {
    s.other = open_model(s.sup.ckpt, dist);
    s.other->set_training(false);
    if (s.other->world() && s.other->world()->fingerprint() != s.spec.fingerprint())
      throw UserError("the judge checkpoint was trained on another world", s.sup.ckpt);
  }
  return s;
}

json eval_record(const EvalResult& r, int epoch) {
  json j = {{"kind", "eval"},
            {"epoch", epoch},
            {"judge", r.judge},
            {"gen", r.gap.gen_overall},
            {"gen_ci95", interval_json(r.gap.gen_overall_ci)},
            {"non", r.gap.pooled.non.to_json()},
            {"weakgen", r.gap.pooled.weakgen.to_json()},
            {"und", r.und.overall.accuracy.to_json()},
            {"und_fp_rate", r.und.overall.fp_rate.to_json()},
            {"confusion", r.gap.pooled.confusion.to_json()}};
  if (r.vs_ref) j["vs_base"] = r.vs_ref->to_json();
  return j;
}

// The held-out tracking: the policy on eval prompts after every eval_every epochs, against
// the base, with the co-degradation alarm relative to epoch 0.
class Tracker {
 public:
  Tracker(Setup& s, const RunDir& run)
      : s_(s), run_(run), suite_(s.eval_suite) {
    opt_ = s.c.eval;
    opt_.seed = derive_seed(s.c.seed, "track-eval");
    opt_.open_vocabulary = s.eval_open;
  }

  // A resumed run: the epoch-0 figures from the first record of metrics.jsonl.
  void baseline_from_log() {
    const std::string path = run_.file("metrics.jsonl");
    const auto lines = read_jsonl(path);
    const json first = lines.empty() ? json() : lines.front().value;
    // A rate record {"value": v | null, ...}: null (n = 0) is NaN; anything else is damage.
    auto rate = [&](const char* k) -> std::optional<double> {
      const json v = first.is_object() ? first.value(k, json()) : json();
      if (!v.is_object()) return std::nullopt;
      if (v.value("value", json(0)).is_null()) return NAN;
      return json_as<double>(v.value("value", json()));
    };
    const auto gen = json_as<double>(first.is_object() ? first.value("gen", json()) : json());
    const auto non = rate("non"), und = rate("und");
    if (!first.is_object() || first.value("kind", json()) != "eval" || first.value("epoch", json()) != 0 || !gen || !non || !und)
      throw UserError("the first record is not the epoch-0 evaluation (kind, epoch, gen, non, und)", path + ":1",
                      "the file was edited or corrupted; start the run again in a new --out");
    non0_ = *non, gen0_ = *gen, und0_ = *und;
  }

  void track(int epoch) {
    s_.policy->set_training(false);
    EvalOptions o = opt_;
    std::optional<GuidanceChoice> g;
    if (!s_.c.eval_cfg_grid.empty()) {  // on validation prompts of their own, at the tracking's K
      g = choose_guidance(*s_.policy, *s_.judge, s_.spec, s_.c.eval_cfg_grid, int(suite_.size()), opt_, GuidanceRule::OneStage);
      o.sampling.cfg_weight = g->chosen;
    }
    // The base's images for the win rate are sampled at the same guidance.
    auto r = evaluate(*s_.policy, *s_.judge, s_.spec, suite_, o, "", epoch == 0 ? nullptr : s_.base.get());
    json rec = eval_record(r, epoch);
    if (!s_.eval_open) rec["split"] = split_name(tuning_split(s_.spec));  // what the figures may tune
    if (g) rec["guidance"] = g->to_json();
    const double non = *r.gap.pooled.non.value(), gen = r.gap.gen_overall, und = r.und.overall.accuracy.value().value_or(NAN);
    auto pct = [](double x) {
      char t[16];
      std::snprintf(t, sizeof t, "%.1f%%", 100 * x);
      return std::string(t);
    };
    if (epoch == 0) {
      non0_ = non, gen0_ = gen, und0_ = und;
    } else if (codegradation_alarm(non0_, gen0_, und0_, r)) {
      rec["warning"] = "co-degradation: Non fell while an external metric fell below its 95% interval";
      log_warn("epoch " + std::to_string(epoch) + ": Non fell (" + pct(non0_) + " -> " + pct(non) + ") while Gen (" + pct(gen0_) +
               " -> " + pct(gen) + ") or Und (" + pct(und0_) + " -> " + pct(und) +
               ") fell below its 95% interval: possible co-degradation");
    }
    run_.append_metric(rec);
    log_info("epoch " + std::to_string(epoch) + ": Gen " + pct(gen) + ", Non " + pct(non) + ", Und " + pct(und) +
             " (judge: " + r.judge + ")");
  }

 private:
  Setup& s_;
  const RunDir& run_;
  std::vector<Metadata> suite_;
  EvalOptions opt_;
  double non0_ = NAN, gen0_ = NAN, und0_ = NAN;
};

// The round-0 candidates of the improve run in c.pool_from, after checking that they are
// what this run would have sampled: same base, seed, prompts, sampling and external judge.
// The candidates do not depend on who labels them, so a pool made under another
// supervision is relabeled under this run's (from each candidate's own score and external
// verdict): the pool that sampling would have made, without sampling it again. A ckpt:PATH
// supervisor has to see the images: refused.
Pool reuse_pool(const Setup& s, const std::string& base_ckpt) {
  const ImproveConfig& c = s.c;
  const std::string cfg_path = c.pool_from + "/config.json", pool_path = c.pool_from + "/pool.jsonl";
  if (!file_exists(cfg_path) || !file_exists(pool_path))
    throw UserError("not an improve run directory (config.json and pool.jsonl needed)", c.pool_from, "--pool-from");
  const json saved = read_json(cfg_path);
  if (!saved.is_object() || saved.value("command", "") != "improve" || !saved.contains("improve") || !saved["improve"].is_object())
    throw UserError("not an improve run", cfg_path, "--pool-from");
  const json mine = c.to_json(), theirs = saved.at("improve");
  for (const char* k : {"seed", "train_prompts", "candidates", "candidate_cfg", "candidate_temperature",
                        "candidate_top_k", "threshold", "train_suite"})
    if (theirs.value(k, json()) != mine.value(k, json()))
      throw UserError("its pool was made with " + std::string(k) + " = " + theirs.value(k, json()).dump() + ", this run has " +
                          mine.value(k, json()).dump(),
                      cfg_path, "--pool-from needs a run with the same pool settings");
  if (!same_checkpoint(saved.value("base", std::string()), base_ckpt))
    throw UserError("its pool was sampled from another base model (" + saved.value("base", std::string()) + ")", cfg_path,
                    "--pool-from needs a run from the same --ckpt");
  const std::string theirs_sup = theirs.value("supervision", std::string());
  const bool relabel = theirs_sup != c.supervision;
  if (relabel && s.sup.kind == Supervision::Kind::Checkpoint)
    throw UserError("its pool was labeled by " + theirs_sup + "; a ckpt: judge must see the images, which a reused pool does not keep",
                    cfg_path, "--pool-from with --supervision ckpt:PATH needs a run with the same supervision");
  if (relabel && (s.sup.kind == Supervision::Kind::Render || theirs_sup == "render"))
    throw UserError("its candidates are " + std::string(theirs_sup == "render" ? "renders" : "the model's samples") +
                        "; --supervision " + c.supervision + " needs " +
                        (theirs_sup == "render" ? "the model's samples" : "renders"),
                    cfg_path, "--pool-from with render supervision needs a run with the same supervision");
  Pool pool = Pool::load(pool_path, s.spec);
  if (pool.judge != s.judge->name())
    throw UserError("its candidates were judged by " + pool.judge + ", this run's external judge is " + s.judge->name(), pool_path,
                    "--pool-from needs a run with the same --judge");
  pool.candidates.erase(std::remove_if(pool.candidates.begin(), pool.candidates.end(), [](const Candidate& x) { return x.round > 0; }),
                        pool.candidates.end());
  if (relabel) {
    PoolOptions po = c.pool;
    po.seed = derive_seed(c.seed, "pool");
    for (auto& x : pool.candidates) label_candidate(x, s.sup, 0.0, po);
  }
  log_info("pool: " + std::to_string(pool.candidates.size()) + " round-0 candidates of " + pool_path +
           (relabel ? ", relabeled from " + theirs_sup + " to " + c.supervision : std::string()));
  return pool;
}

PoolOptions pool_options(const ImproveConfig& c) {
  PoolOptions po = c.pool;
  po.seed = derive_seed(c.seed, "pool");
  return po;
}

// The candidates of `which` prompts from the current policy (round 0, or a replay epoch).
std::vector<Candidate> sample_round(Setup& s, const std::vector<Metadata>& prompts, const std::vector<int>& which, int round) {
  s.policy->set_training(false);
  PoolOptions po = pool_options(s.c);
  po.world = &s.spec;
  return sample_candidates(*s.policy, *s.policy, s.other.get(), s.sup, *s.judge, prompts, which, po, round);
}

// The pool a run trains on: what a resumed run had at its checkpoint (`done_epochs`),
// else the round 0 of --pool-from, else sampled now. Saved in the run directory.
Pool initial_pool(Setup& s, const RunDir& run, const std::string& base_ckpt, std::optional<int> done_epochs) {
  Pool pool;
  if (done_epochs && file_exists(run.file("pool.jsonl"))) {
    pool = Pool::load(run.file("pool.jsonl"), s.spec);
    pool.check_codes(s.policy->image_tokens(), s.policy->codebook_size(), run.file("pool.jsonl"));
    // Replayed candidates made after the checkpoint go: those epochs run again, identically.
    const size_t before = pool.candidates.size();
    pool.candidates.erase(std::remove_if(pool.candidates.begin(), pool.candidates.end(),
                                         [&](const Candidate& x) { return x.round > *done_epochs; }),
                          pool.candidates.end());
    if (pool.candidates.size() == before) return pool;
    log_info("resume: dropped " + std::to_string(before - pool.candidates.size()) + " replay candidates made after the checkpoint");
  } else if (!s.c.pool_from.empty()) {
    pool = reuse_pool(s, base_ckpt);
    pool.check_codes(s.policy->image_tokens(), s.policy->codebook_size(), s.c.pool_from + "/pool.jsonl");
  } else {
    pool.judge = s.judge->name();
    pool.open_vocabulary = s.train_open;
    pool.prompts = s.c.train_suite.empty() ? sample_suite(s.spec, Split::Train, s.c.train_prompts, s.c.seed)
                                           : read_metadata_file(s.c.train_suite, s.train_open ? nullptr : &s.spec);
    if (pool.prompts.empty()) throw UserError("holds no prompt", s.c.train_suite, "--train-suite");
    check_disjoint(pool.prompts, s.eval_suite, s.c);  // before any sampling
    std::vector<int> all(pool.prompts.size());
    std::iota(all.begin(), all.end(), 0);
    if (s.method != Method::Grpo) pool.candidates = sample_round(s, pool.prompts, all, 0);  // GRPO samples as it trains
  }
  pool.save(run.file("pool.jsonl"));
  return pool;
}

// Curriculum replay (Algorithm 2): the current policy regenerates and rescores the discard
// pool; a prompt with a newly accepted candidate joins the training data. Returns how many.
int replay(Setup& s, Pool& pool, const RunDir& run, int epoch) {
  const auto discard = pool.discard();
  auto fresh = sample_round(s, pool.prompts, discard, epoch);
  std::set<int> joined;
  for (auto& cand : fresh)
    if (cand.verdict) joined.insert(cand.prompt_index);
  pool.candidates.insert(pool.candidates.end(), fresh.begin(), fresh.end());
  pool.save(run.file("pool.jsonl"));
  run.append_metric({{"kind", "replay"}, {"epoch", epoch}, {"discard_before", discard.size()}, {"joined", joined.size()},
                     {"sft_samples_after", pool.accepted().size()}, {"dpo_pairs_after", pool.pairs().size()}});
  log_info("replay at epoch " + std::to_string(epoch) + ": " + std::to_string(joined.size()) + " of " +
           std::to_string(discard.size()) + " discarded prompts rejoined");
  return int(joined.size());
}

// The learning rate of a step: linear warm-up, then constant.
double step_lr(const ImproveConfig& c, int64_t step) { return c.lr * std::min(1.0, double(step + 1) / std::max(1, c.warmup)); }

// Checkpoints: checkpoints/improve-<epoch> at the end of every epoch; within a GRPO epoch,
// checkpoints/improve-step-<global step> with the epoch and its steps done (trainer.json).
constexpr const char* kEpochStage = "improve";
constexpr const char* kStepStage = "improve-step";

// Where a resumed run continues: after `epochs` whole epochs and `steps` steps of the next,
// at `global_step`. From nothing when there is no checkpoint.
struct ResumePoint {
  int epochs = 0;
  int64_t steps = 0;
  int64_t global_step = 0;
  // A metrics record written before the checkpoint; those after it go, and are written again.
  bool keeps(const json& record) const {
    const auto epoch = json_as<int>(record.value("epoch", json(0)));
    if (!epoch) throw UserError("its 'epoch' is not an integer");
    if (*epoch <= epochs) return true;
    const std::string kind = record.value("kind", "");
    const auto step = json_as<int64_t>(record.value("step", json()));
    return *epoch == epochs + 1 && (kind == "grpo" || kind == "rollouts") && step && *step < global_step;
  }
};

ResumePoint resume_point(const CheckpointState& st) {
  const json saved = Checkpointer::saved_extra(st);
  auto field = [&](const char* key) {
    const auto v = json_as<int64_t>(saved.value(key, json()));
    if (!v || *v < 0) throw UserError(std::string("missing or bad field '") + key + "'", st.dir + "/trainer.json", "the checkpoint is damaged");
    return *v;
  };
  ResumePoint p;
  p.global_step = field("global_step");
  if (st.stage == kEpochStage) {
    p.epochs = st.step;
  } else if (st.stage == kStepStage) {
    p.epochs = int(field("epoch")) - 1;
    p.steps = field("epoch_steps");
    if (p.epochs < 0 || p.steps < 1) throw UserError("a step checkpoint without a step of its epoch done", st.dir + "/trainer.json", "the checkpoint is damaged");
  } else {
    throw UserError("a checkpoint of stage '" + st.stage + "', not of improve", st.dir, "was this folder written by another command?");
  }
  return p;
}

// Dropout inside the model (LoRA's) draws from torch's generator: seeded per rank and per unit
// a run resumes at (an epoch; a GRPO step), so that a resumed run draws the same masks.
void seed_torch(const ImproveConfig& c, const std::string& unit, uint64_t index, const Dist& dist) {
  torch::manual_seed(derive_seed(c.seed, "torch-" + unit + "-rank", index * 4096 + uint64_t(dist.rank())));
}

// One epoch of the objective over its items in a seeded order. Each step: the batch, its
// loss terms, the all-reduce, the optimizer step, the log.
void train_epoch(Objective& obj, UnifiedMultimodal& policy, torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params,
                 const ImproveConfig& c, int epoch, int64_t& global_step, const RunDir& run, Dist& dist) {
  std::vector<size_t> order(obj.size());
  std::iota(order.begin(), order.end(), size_t(0));
  Rng rng(derive_seed(c.seed, "epoch", uint64_t(epoch)));
  seed_torch(c, "epoch", uint64_t(epoch), dist);
  rng.shuffle(order);
  policy.set_training(true);
  Progress prog(obj.name() + " epoch " + std::to_string(epoch), int64_t((order.size() + c.batch - 1) / c.batch), "step");
  for (size_t s = 0; s < order.size(); s += size_t(c.batch), ++global_step) {
    const std::vector<size_t> batch(order.begin() + s, order.begin() + std::min(order.size(), s + size_t(c.batch)));
    const double lr = step_lr(c, global_step);
    set_learning_rate(opt, lr);
    const auto [lo, hi] = dist.share(batch.size());
    const LossTerms terms = obj.batch_loss(policy, batch, {int64_t(lo), int64_t(hi - lo), int64_t(batch.size())}, rng);
    const Metrics metrics = all_reduce_metrics(terms.metrics, dist);
    const StepStats st = optimizer_step(terms.loss, opt, params, policy.named_parameters(), {"improve", int(global_step), c.grad_clip, {}});
    const double loss = metrics.at("loss/" + obj.name());
    prog.update(1, "loss " + std::to_string(loss));
    if (global_step % 10 != 0) continue;
    json rec = {{"kind", "train"}, {"epoch", epoch}, {"step", global_step}, {"lr", lr}, {"grad_norm", st.grad_norm}};
    for (auto& [k, v] : metrics) rec[k] = v;
    if (dist.active()) rec["dist/allreduce_ms"] = st.allreduce_ms;
    run.append_metric(rec);
  }
  prog.finish();
}

// ---- GRPO ----

// A sample's reward under the supervision: its confidence, or its verdict as 0/1. The
// external judge has no confidence of its own: its verdict either way.
double reward_of(const Candidate& c, const Setup& s) {
  if (s.reward == RewardKind::Verdict || s.sup.kind == Supervision::Kind::External) return c.verdict ? 1.0 : 0.0;
  return c.score;
}

// One step's rollouts: G samples of each prompt in `which` from the current policy (every
// rank holds all of them: sampling and judging shard themselves), their rewards and their
// advantages within each prompt's group.
struct Rollouts {
  std::vector<Candidate> samples;  // by prompt, then number: groups are consecutive
  std::vector<double> rewards, advantages;
};

Rollouts sample_rollouts(Setup& s, const std::vector<Metadata>& prompts, const std::vector<int>& which, int64_t step) {
  s.policy->set_training(false);
  PoolOptions po = s.c.pool;
  po.candidates = s.c.grpo.group;
  po.seed = derive_seed(s.c.seed, "grpo");
  po.world = &s.spec;
  UnifiedMultimodal& own = s.reward_judge == RewardJudge::Frozen ? *s.base : *s.policy;
  Rollouts r;
  r.samples = sample_candidates(*s.policy, own, s.other.get(), s.sup, *s.judge, prompts, which, po, int(step) + 1);
  for (auto& c : r.samples) r.rewards.push_back(reward_of(c, s));
  r.advantages = group_advantages(r.rewards, s.c.grpo.group);
  return r;
}

json rollouts_record(const Rollouts& r, const std::vector<Metadata>& prompts, int epoch, int64_t step) {
  json samples = json::array();
  for (size_t i = 0; i < r.samples.size(); ++i) {
    const Candidate& c = r.samples[i];
    samples.push_back({{"prompt", prompts[size_t(c.prompt_index)].prompt}, {"k", c.k}, {"reward", r.rewards[i]},
                       {"advantage", r.advantages[i]}, {"own_score", c.own_score}, {"verdict", c.verdict},
                       {"oracle", c.oracle}, {"reason", c.reason}});
  }
  return {{"kind", "rollouts"}, {"epoch", epoch}, {"step", step}, {"samples", samples}};
}

// This rank's rows of a step's rollouts with their frozen log-probs: the sampling policy's
// (the ratio's denominator, fixed over the inner epochs) and the base's (the KL's reference).
class GrpoRows {
 public:
  GrpoRows(Setup& s, const Rollouts& r, const std::vector<Metadata>& prompts, const Shard& sh) : sh_(sh) {
    std::vector<const std::vector<int64_t>*> rows;
    for (int64_t i = sh.lo; i < sh.lo + sh.n; ++i) {
      const Candidate& c = r.samples[size_t(i)];
      texts_.push_back(prompts[size_t(c.prompt_index)].prompt), rows.push_back(&c.codes);
    }
    if (sh.n == 0) return;
    codes_ = codes_tensor(rows);
    adv_ = torch::tensor(std::vector<double>(r.advantages.begin() + sh.lo, r.advantages.begin() + sh.lo + sh.n));
    torch::NoGradGuard ng;
    old_ = s.policy->image_token_logprobs(texts_, codes_);
    ref_ = s.base->image_token_logprobs(texts_, codes_);
  }

  // The loss terms of these rows, each scaled to its share of the global batch mean.
  LossTerms terms(UnifiedMultimodal& policy, const GrpoOptions& o) const {
    LossTerms t{torch::zeros({}), {{"loss/grpo", 0.0}, {"grpo/policy", 0.0}, {"grpo/kl", 0.0},
                                   {"grpo/clipped_low", 0.0}, {"grpo/clipped_high", 0.0}}};
    if (sh_.n == 0) return t;
    const GrpoTerms g = grpo_loss(policy.image_token_logprobs(texts_, codes_), old_, ref_, adv_, o.clip, o.kl);
    const double f = sh_.frac();
    t.loss = f * g.loss;
    t.metrics = {{"loss/grpo", t.loss.item<double>()}, {"grpo/policy", f * g.policy.item<double>()},
                 {"grpo/kl", f * g.kl.item<double>()}, {"grpo/clipped_low", f * g.clipped_low.item<double>()},
                 {"grpo/clipped_high", f * g.clipped_high.item<double>()}};
    return t;
  }

 private:
  Shard sh_;
  std::vector<std::string> texts_;
  torch::Tensor codes_, adv_, old_, ref_;
};

// The monitor's point of a step, on the samples the reward scored.
MonitorPoint observe(RewardMonitor& monitor, const Rollouts& r, int64_t step) {
  std::vector<Rollout> seen;
  for (size_t i = 0; i < r.samples.size(); ++i) seen.push_back({r.samples[i].prompt_index, r.rewards[i], r.advantages[i], r.samples[i].oracle});
  return monitor.observe(step, MonitorSums::of(seen));
}

// A step's record in metrics.jsonl, with the monitor's point (a warning when its alarm fires).
json grpo_record(const MonitorPoint& m, int epoch, int64_t step, double lr, const StepStats& st, const Metrics& metrics,
                 const Dist& dist) {
  json rec = {{"kind", "grpo"}, {"epoch", epoch}, {"step", step}, {"lr", lr}, {"grad_norm", st.grad_norm}, {"monitor", m.to_json()}};
  for (auto& [k, v] : metrics) rec[k] = v;
  if (dist.active()) rec["dist/allreduce_ms"] = st.allreduce_ms;
  if (m.alarm) {
    rec["warning"] = "reward hacking: the reward runs ahead of the external judge beyond its interval";
    log_warn("step " + std::to_string(step) + ": self reward " + std::to_string(m.self_reward) + " vs oracle accuracy " +
             std::to_string(m.oracle_accuracy) + ": their divergence's 95% interval lies above its first value " +
             std::to_string(*m.baseline) + ": possible reward hacking");
  }
  return rec;
}

// One GRPO epoch: the training prompts in a seeded order, c.batch per step, from step `done`
// of the epoch on (a run resumed within it). Each step: the rollouts -> this rank's rows ->
// inner_epochs x (loss terms -> all-reduce -> step) -> the log, with the reward-hacking
// monitor on the very samples the reward scored -> every checkpoint_steps, a checkpoint.
void grpo_epoch(Setup& s, const std::vector<Metadata>& prompts, torch::optim::Optimizer& opt,
                const std::vector<torch::Tensor>& params, int epoch, int64_t done, int64_t& global_step, const RunDir& run,
                Dist& dist, RewardMonitor& monitor, int64_t& rollouts_done, Checkpointer& ckpt) {
  const ImproveConfig& c = s.c;
  std::vector<int> order(prompts.size());
  std::iota(order.begin(), order.end(), 0);
  Rng rng(derive_seed(c.seed, "grpo-epoch", uint64_t(epoch)));
  rng.shuffle(order);
  const int64_t steps = int64_t((order.size() + c.batch - 1) / c.batch);
  Progress prog("grpo epoch " + std::to_string(epoch), steps - done, "step");
  for (size_t at = size_t(done * c.batch); at < order.size(); at += size_t(c.batch), ++global_step) {
    const std::vector<int> which(order.begin() + at, order.begin() + std::min(order.size(), at + size_t(c.batch)));
    seed_torch(c, "grpo-step", uint64_t(global_step), dist);
    const Rollouts r = sample_rollouts(s, prompts, which, global_step);
    rollouts_done += int64_t(r.samples.size());
    const auto [lo, hi] = dist.share(r.samples.size());
    const GrpoRows rows(s, r, prompts, {int64_t(lo), int64_t(hi - lo), int64_t(r.samples.size())});
    const double lr = step_lr(c, global_step);
    set_learning_rate(opt, lr);
    s.policy->set_training(true);
    Metrics metrics;
    StepStats st;
    for (int inner = 0; inner < c.grpo.inner_epochs; ++inner) {
      const LossTerms t = rows.terms(*s.policy, c.grpo);
      metrics = all_reduce_metrics(t.metrics, dist);
      st = optimizer_step(t.loss, opt, params, s.policy->named_parameters(), {"improve", int(global_step), c.grad_clip, {}});
    }
    const MonitorPoint m = observe(monitor, r, global_step);
    run.append_metric(grpo_record(m, epoch, global_step, lr, st, metrics, dist));
    if (c.grpo.rollout_log_every > 0 && global_step % c.grpo.rollout_log_every == 0)
      run.append_metric(rollouts_record(r, prompts, epoch, global_step));
    prog.update(1, "reward " + std::to_string(m.self_reward) + " oracle " + std::to_string(m.oracle_accuracy));
    ++done;  // the epoch's end has its own checkpoint, after the tracking
    if (c.grpo.checkpoint_steps > 0 && done % c.grpo.checkpoint_steps == 0 && done < steps)
      ckpt.save(kStepStage, int(global_step + 1), *s.policy, opt, {{"global_step", global_step + 1}, {"epoch", epoch}, {"epoch_steps", done}});
  }
  prog.finish();
}

}  // namespace

ImproveResult improve(const ImproveConfig& cfg, const std::string& base_ckpt, const std::string& out_dir, bool resume) {
  cfg.validate();
  const auto t0 = Clock::now();
  Dist& dist = Dist::current();
  Setup s = open_setup(cfg, base_ckpt, dist);
  const ImproveConfig& c = s.c;
  RunDir run(out_dir);
  const json run_config = {{"command", "improve"}, {"base", base_ckpt}, {"improve", c.to_json()}, {"world", s.spec.to_json()}};
  const bool resumed =
      run.start(run_config, {resume, {}, [&](bool b) { return dist.main_value(b); }}) == RunStart::Resumed;

  // Resuming: what a crash left half-done goes (an incomplete checkpoint folder), and so
  // does everything made after the checkpoint (replayed candidates, metrics records):
  // those epochs run again, identically.
  Checkpointer ckpt(out_dir + "/checkpoints");
  std::optional<CheckpointState> resume_from;
  std::optional<int> done_epochs;
  ResumePoint at;
  if (resumed) {
    const int orphans = ckpt.remove_orphans();
    resume_from = ckpt.latest();
    if (resume_from) at = resume_point(*resume_from);
    if (at.steps > 0 && s.method != Method::Grpo)
      throw UserError("a checkpoint within an epoch, which only GRPO writes", resume_from->dir, "was this run's config edited?");
    done_epochs = at.epochs;
    const int dropped = run.rewind_metrics([&](const json& r) { return resume_from && at.keeps(r); });
    if (orphans + dropped > 0)
      log_info("resume: removed " + std::to_string(orphans) + " incomplete checkpoint(s), " + std::to_string(dropped) +
               " metrics record(s) after the checkpoint");
  }
  Pool pool = initial_pool(s, run, base_ckpt, done_epochs);  // GRPO: its prompts only
  const bool online = s.method == Method::Grpo;

  // ---- data-quality check before training (GRPO has no data yet: its monitor checks every step) ----
  std::optional<AuditReport> audit;
  if (!online) {
    audit = audit_pool(pool, c.audit_sample, c.seed);
    write_json(run.file("audit.json"), audit->to_json());
    log_info(audit->text());
    if (c.audit_min_precision >= 0 && (!audit->precision.value() || *audit->precision.value() < c.audit_min_precision))
      throw UserError("refusing to train: estimated precision of the accepted data is " +
                          (audit->precision.value() ? std::to_string(*audit->precision.value()) : std::string("undefined")) +
                          ", below --audit-min-precision " + std::to_string(c.audit_min_precision),
                      run.file("audit.json"), "the supervision accepts too many wrong images; see the audit");
  }

  ImproveResult res;
  if (!online) {  // prompts the initial round left without an accepted candidate
    Pool initial = pool;
    initial.candidates.erase(std::remove_if(initial.candidates.begin(), initial.candidates.end(), [](const Candidate& x) { return x.round > 0; }),
                             initial.candidates.end());
    res.discarded = int(initial.discard().size());
  }

  UnifiedMultimodal& policy = *s.policy;
  policy.train_only(c.train_groups);
  const std::vector<torch::Tensor> params = policy.trainable_parameters();
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
  const int start_epoch = at.epochs + 1;
  int64_t global_step = at.global_step;
  RewardMonitor monitor;  // GRPO
  if (resume_from) {
    ckpt.restore(*resume_from, policy, opt);
    // GRPO: the monitor's baseline and the rollouts so far.
    const auto lines = read_jsonl(run.file("metrics.jsonl"));  // every record an object (rewind_metrics checked)
    const std::vector<MonitorPoint> points = monitor_points(lines, run.file("metrics.jsonl"));
    if (!points.empty()) {
      if (!points.front().baseline)
        throw UserError("the first grpo record's monitor has no divergence_baseline", run.file("metrics.jsonl"),
                        "the file was edited or corrupted; start the run again in a new --out");
      monitor.set_baseline(*points.front().baseline);
    }
    for (const MonitorPoint& p : points) res.rollouts += p.samples;
    for (auto& l : lines) {
      const json kind = l.value.value("kind", json());
      if (kind == "replay") {
        const auto joined = json_as<int>(l.value.value("joined", json()));
        if (!joined) throw UserError("a replay record without its count 'joined'", run.file("metrics.jsonl") + ":" + std::to_string(l.line));
        res.joined_at_replay.push_back(*joined);
      }
    }
    log_info("resuming improve at epoch " + std::to_string(start_epoch) + (at.steps ? ", step " + std::to_string(at.steps + 1) : std::string()));
  }
  if (dist.active()) {
    dist.agree("the improvement epoch and step to start from", std::to_string(start_epoch) + "/" + std::to_string(at.steps));
    std::vector<torch::Tensor> state;
    for (auto& p : policy.named_parameters()) state.push_back(p.value());
    dist.broadcast(state);  // equal anyway (same checkpoint); rank 0's are the reference
  }

  Tracker tracker(s, run);
  if (!resume_from) tracker.track(0);
  else tracker.baseline_from_log();

  std::unique_ptr<Objective> objective;
  if (s.method == Method::Sft) objective = make_sft(c.prompt_dropout, c.sft_samples, derive_seed(c.seed, "sft-samples"));
  if (s.method == Method::Dpo) objective = make_dpo(*s.base, c.beta, c.nll_weight);
  if (objective) objective->refresh(pool);
  for (int epoch = start_epoch; epoch <= c.epochs; ++epoch) {
    if (online) {
      grpo_epoch(s, pool.prompts, opt, params, epoch, epoch == start_epoch ? at.steps : 0, global_step, run, dist, monitor, res.rollouts, ckpt);
    } else if (objective->size() == 0) {
      throw UserError(s.method == Method::Dpo ? "no DPO pairs: no prompt has both an accepted and a rejected candidate"
                                              : "no training data: the supervision accepted no candidate",
                      out_dir);
    } else {
      train_epoch(*objective, policy, opt, params, c, epoch, global_step, run, dist);
    }
    if (std::find(c.curriculum_epochs.begin(), c.curriculum_epochs.end(), epoch) != c.curriculum_epochs.end()) {
      res.joined_at_replay.push_back(replay(s, pool, run, epoch));
      objective->refresh(pool);  // rejoined prompts are training items from the next epoch on
    }
    if ((c.eval_every > 0 && epoch % c.eval_every == 0) || epoch == c.epochs) tracker.track(epoch);
    ckpt.save(kEpochStage, epoch, policy, opt, {{"global_step", global_step}});
  }
  policy.set_training(false);
  res.model_dir = out_dir + "/model";
  policy.save(res.model_dir, {{"improve", c.to_json()}, {"base", base_ckpt}});
  res.sft_samples = int(pool.accepted().size());
  res.dpo_pairs = int(pool.pairs().size());
  res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  json summary = {{"model_dir", res.model_dir},
                  {"sft_samples", res.sft_samples},
                  // What an epoch trained on: the accepted, or the --sft-samples budget (DPO: pairs; GRPO: prompts).
                  {"items_per_epoch", objective ? objective->size() : pool.prompts.size()},
                  {"dpo_pairs", res.dpo_pairs},
                  {"discarded_initially", res.discarded},
                  {"joined_at_replay", res.joined_at_replay},
                  {"optimizer_steps", global_step * (online ? c.grpo.inner_epochs : 1)},
                  {"seconds", res.seconds}};
  if (audit) summary["audit"] = audit->to_json();
  if (online) summary["rollouts"] = res.rollouts;
  run.write_summary(summary);
  return res;
}

}  // namespace unigap
