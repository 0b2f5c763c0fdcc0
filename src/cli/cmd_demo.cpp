// `unigap demo`: the whole method end to end in the base's world (the shipped base of the
// default world, version 2, unless --base names another), into one run directory, resumable
// stage by stage (a stage whose summary.json exists is kept):
//   base/        pretrain, only with --pretrain or when no base is shipped or given
//   eval-base/   the internal gap of the base model
//   sft-self/    SFT on self-judged candidates with curriculum replay
//   sft-plain/   SFT on the same pool without replay
//   dpo-self/    DPO on self-judged pairs of the same pool
//   sft-inverted/ co-degradation control: the same pool under inverted supervision
//   eval-*/      each improved model against the base (win rate, FP->TN) on the base's images
//   dynamics/    eNTK prediction vs a real step; FP-correction groups
//   report.html
// --quick runs the same on the shipped base with small budgets (a newcomer's first look,
// minutes; the figures are real but noisy, and the report says so).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"
#include "dist/data_parallel.h"
#include "dynamics/entk.h"
#include "eval/gap_eval.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "report/report.h"
#include "train/improve.h"
#include "train/pretrain.h"
#include "world/suite.h"

namespace unigap::cli {

namespace {

struct DemoArgs {
  std::string out = "runs/demo", base;
  uint64_t seed = 0;
  bool quick = false, quiet = false, resume = false, pretrain_here = false;
};

// The arms of a demo run, in the order they run.
struct DemoArm {
  const char* name;         // run folder; its evaluation against the base is eval-<name>
  const char* method;       // sft | dpo
  const char* supervision;  // self | inverted | ...
  bool replay;              // curriculum replay of the discard pool at the plan's replay epoch
  const char* pool_from;    // train on this arm's round-0 pool ("" = sample one)
};
const std::vector<DemoArm> kArms = {
    {"sft-self", "sft", "self", true, ""},
    {"sft-plain", "sft", "self", false, "sft-self"},
    {"dpo-self", "dpo", "self", false, "sft-self"},
    {"sft-inverted", "sft", "inverted", false, "sft-self"},  // the same candidates, relabeled
};

// The base checkpoint that ships with the project for a preset in the default world (version 2):
// models/base-<preset>-v2/ next to the build folder of this binary (build/unigap -> models/),
// else under the current directory. "" when there is none. (models/base-<preset>/ is the
// version 1 base, kept so that version 1 runs still evaluate: --base names it.)
std::string shipped_base_name(const std::string& preset) { return "models/base-" + preset + "-v2"; }
std::string shipped_base(const std::string& preset) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::vector<std::filesystem::path> roots;
  if (!ec) roots.push_back(exe.parent_path().parent_path());
  roots.push_back(std::filesystem::current_path(ec));
  for (auto& r : roots) {
    const auto dir = r / shipped_base_name(preset);
    if (file_exists((dir / "config.json").string()) && file_exists((dir / "model.safetensors").string()))
      return dir.lexically_normal().string();
  }
  return "";
}

// Budgets of the two demo sizes. The default is the budget of docs/results.md for one seed:
// 2,000 train prompts x N = 10, 4 SFT epochs (held-out Gen of SFT peaked by epoch 4 at this
// data size; 600 prompts x 8 moved nothing, not even with oracle labels), replay after epoch 2.
// --quick: the same pipeline on the same shipped base with a twentieth of the data, for a
// first look in minutes: differences of a few points are within its noise.
// In a world with a validation split, every evaluation chooses its guidance there among
// cfg_grid on cfg_prompts prompts, and so does each arm's tracking at every epoch, as in the
// study (results.sh CFG_GRID=1,2,3,4); the arms' win rates are read on the base's images at
// the base's guidance. The full demo's evaluations take the study's second look on every
// validation prompt when the first cannot decide; --quick's first look decides alone (a
// second look would cost more than its whole evaluation).
struct DemoPlan {
  std::string preset;
  int eval_prompts, eval_k, improve_prompts, candidates, epochs, replay_epoch, track_prompts, dpo_epochs, probes, cfg_prompts;
  std::vector<double> cfg_grid;
  GuidanceRule guidance_rule;
  json to_json() const {
    return {{"preset", preset},           {"eval_prompts", eval_prompts}, {"eval_k", eval_k},
            {"train_prompts", improve_prompts}, {"candidates", candidates},  {"sft_epochs", epochs},
            {"replay_epoch", replay_epoch}, {"track_prompts", track_prompts}, {"dpo_epochs", dpo_epochs},
            {"probes", probes}, {"cfg_grid", cfg_grid}, {"cfg_prompts", cfg_prompts},
            {"guidance_looks", guidance_rule == GuidanceRule::TwoStage ? 2 : 1}};
  }
};
DemoPlan plan_for(bool quick) {
  if (quick) return {"small", 120, 2, 100, 4, 2, 1, 24, 2, 16, 24, {1, 2, 3, 4}, GuidanceRule::OneStage};
  return {"small", 553, 4, 2000, 10, 4, 2, 120, 6, 64, 120, {1, 2, 3, 4}, GuidanceRule::TwoStage};
}

bool done(const std::string& dir) { return file_exists(dir + "/summary.json"); }

// An evaluation stage (the base, or an arm against the base on the base's own images).
void run_eval(const std::string& ckpt, const std::string& ref, const std::string& dir, const DemoPlan& p, uint64_t seed,
              const std::string& base_eval) {
  if (done(dir)) return;
  Dist& dist = Dist::current();
  auto model = open_model(ckpt, dist);
  std::unique_ptr<UnifiedMultimodal> r;
  if (!ref.empty()) r = open_model(ref, dist);
  const WorldSpec spec = world_of(*model, "");
  auto judge = make_oracle_judge(spec);
  EvalOptions o;
  o.samples_per_prompt = p.eval_k;
  o.seed = seed;
  const auto suite = sample_suite(spec, Split::Eval, p.eval_prompts, seed);
  std::optional<GuidanceChoice> guidance;
  if (tuning_split(spec) == Split::Val) {
    guidance = choose_guidance(*model, *judge, spec, p.cfg_grid, p.cfg_prompts, o, p.guidance_rule);
    o.sampling.cfg_weight = guidance->chosen;
  }
  json config = eval_run_config(ckpt, ref, "eval", suite.size(), 1, o, spec, judge->name());
  if (guidance) config["guidance"] = guidance->to_json();
  if (!ref.empty()) o.ref_images_dir = ref_images_of(base_eval, ref, config);  // the base's images, not sampled again
  RunDir run(dir);
  // An interrupted stage keeps its complete image folders.
  o.resume = run.start(config, {run.has("config.json"), {}, [&](bool b) { return dist.main_value(b); }}) == RunStart::Resumed;
  auto res = evaluate(*model, *judge, spec, suite, o, dir, r.get());
  std::cout << "\n== " << dir << " ==\n" << eval_table(res);
  write_file_atomic(dir + "/summary.csv", eval_csv(res));
  json j = res.to_json();
  j["seed"] = seed;
  json summary = {{"per_seed", {j}}};
  if (guidance) summary["guidance"] = guidance->to_json();
  run.write_summary(summary);
}

ImproveConfig improve_config(const DemoPlan& p, const DemoArm& arm, const WorldSpec& spec, const std::string& run_dir,
                             uint64_t seed) {
  ImproveConfig c;
  c.method = arm.method;
  c.supervision = arm.supervision;
  c.seed = seed;
  c.train_prompts = p.improve_prompts;
  c.pool.candidates = p.candidates;
  c.epochs = c.method == "dpo" ? p.dpo_epochs : p.epochs;
  if (arm.replay) c.curriculum_epochs = {p.replay_epoch};
  if (*arm.pool_from) c.pool_from = run_dir + "/" + arm.pool_from;
  c.eval_prompts = p.track_prompts;
  c.eval.samples_per_prompt = 2;
  if (tuning_split(spec) == Split::Val) c.eval_cfg_grid = p.cfg_grid;
  return c;
}

// The eNTK check on the self-SFT pool, with the FP-correction groups of its model.
void run_dynamics(const std::string& D, const std::string& base, const DemoPlan& p, uint64_t seed) {
  const std::string dyn = D + "/dynamics";
  if (done(dyn) || !file_exists(D + "/sft-self/pool.jsonl")) return;
  Dist& dist = Dist::current();
  auto model = open_model(base, dist);
  const WorldSpec spec = world_of(*model, "");
  auto pool = Pool::load(D + "/sft-self/pool.jsonl", spec);
  DynamicsConfig dc;
  dc.probes = p.probes;
  dc.seed = seed;
  dc.threshold = improve_config(p, kArms[0], spec, D, seed).pool.threshold;
  RunDir dr(dyn);  // an interrupted stage runs again from the start (it keeps nothing)
  dr.start({{"command", "dynamics"}, {"ckpt", base}, {"judge", pool.judge}, {"dynamics", dc.to_json()}},
           {dr.has("config.json"), {}, [&](bool b) { return dist.main_value(b); }});
  json summary;
  try {
    summary = measure_dynamics(*model, spec, pool, dc).to_json();
    summary["judge"] = pool.judge;
    if (file_exists(D + "/sft-self/model/config.json")) {
      auto imp = open_model(D + "/sft-self/model", dist);
      summary["groups"] = fp_correction_groups(*model, *imp, pool, 4 * p.probes, seed, dc.threshold);
    }
  } catch (const UserError& e) {
    summary = {{"failed", e.what()}};
  }
  dr.write_summary(summary);
}

void run_demo(const DemoArgs& a) {
  Progress::set_enabled(!a.quiet);
  const DemoPlan p = plan_for(a.quick);
  RunDir run(a.out);
  const std::string D = a.out;
  if (!a.base.empty() && a.pretrain_here) throw UserError("--base and --pretrain exclude each other", "--pretrain");
  // The base: --base, else the shipped checkpoint of the preset, else pretrained here
  // (--quick --pretrain: the tiny preset, seconds: the pipeline, not meaningful figures).
  const std::string given = a.base.empty() && !a.pretrain_here ? shipped_base(p.preset) : a.base;
  if (given.empty() && a.quick && !a.pretrain_here)
    throw UserError("no shipped base model (" + shipped_base_name(p.preset) + ") found", "--quick",
                    "pass --base CKPT, or --pretrain to pretrain a tiny model here (its figures are not meaningful)");
  const std::string pretrain_preset = a.quick ? "tiny" : p.preset;
  // The world is the base's own; a base pretrained here is pretrained in the default world.
  json config = {{"command", "demo"}, {"seed", a.seed}, {"quick", a.quick}, {"base", given},
                 {"preset", given.empty() ? pretrain_preset : p.preset}, {"plan", p.to_json()}};
  if (given.empty()) config["world"] = WorldSpec::defaults().to_json();
  if (run.start(config, {a.resume, {}, [](bool b) { return Dist::current().main_value(b); }}) == RunStart::Resumed)
    log_info("resuming the demo in " + D + " (finished stages are kept)");

  // 1. Base model: given or shipped, or pretrained here (cached in base/).
  std::string base = given;
  if (base.empty()) {
    if (!file_exists(D + "/base/model/config.json")) {
      PretrainConfig c = PretrainConfig::for_preset(pretrain_preset, WorldSpec::defaults().version);
      c.seed = a.seed;
      pretrain(c, WorldSpec::defaults(), D + "/base", file_exists(D + "/base/config.json"));
    }
    base = D + "/base/model";
  }
  log_info("demo: base model " + base);
  const WorldSpec spec = world_of(*open_model(base, Dist::current()), "");

  // 2. The gap of the base model.
  run_eval(base, "", D + "/eval-base", p, a.seed, "");

  // 3. Self-improvement and the co-degradation control (trained regardless of its audit, to
  // show what the audit warns of).
  for (const DemoArm& arm : kArms) {
    const std::string dir = D + "/" + arm.name;
    if (!done(dir)) {
      const auto c = improve_config(p, arm, spec, D, a.seed);
      if (!c.pool_from.empty() && !file_exists(c.pool_from + "/pool.jsonl")) {
        log_warn(std::string(arm.name) + ": skipped, its pool (" + c.pool_from + ") was not made");
        RunDir(dir).write_summary({{"failed", "its pool (" + c.pool_from + ") was not made"}});
        continue;
      }
      try {
        improve(c, base, dir, file_exists(dir + "/config.json"));
      } catch (const UserError& e) {
        // A refused or impossible arm is a result, not a crash: record it and go on.
        log_warn(std::string(arm.name) + ": " + e.what());
        RunDir(dir).write_summary({{"failed", e.what()}});
        continue;
      }
    }
    if (file_exists(dir + "/model/config.json"))
      run_eval(dir + "/model", base, D + "/eval-" + std::string(arm.name), p, a.seed, D + "/eval-base");
  }

  // 4. Learning dynamics on the self-SFT pool, with the FP-correction groups.
  run_dynamics(D, base, p, a.seed);

  // 5. The report.
  const std::string html = write_report(D);
  std::cout << "\nreport: " << html << "\n";
}

}  // namespace

void register_demo(CLI::App& app) {
  static DemoArgs a;
  auto* demo = app.add_subcommand("demo", "Run the whole method on the shipped base (world version 2) and write the report");
  demo->add_option("--out,-o", a.out, "Run directory (resumable)")->capture_default_str();
  demo->add_option("--base", a.base,
                   "Base checkpoint; its world is the demo's (default: the shipped models/base-<preset>-v2, else pretrain one in --out/base)");
  demo->add_flag("--pretrain", a.pretrain_here,
                 "Pretrain the base here even when a shipped one exists (with --quick: the tiny preset, seconds)");
  demo->add_option("--seed", a.seed, "Seed")->capture_default_str();
  demo->add_flag("--quick", a.quick, "Small budgets on the shipped base: the whole pipeline in minutes (noisy figures)");
  demo->add_flag("--quiet,-q", a.quiet, "No progress output");
  demo->add_flag("--resume", a.resume, "Continue an interrupted demo in --out (finished stages are kept)");
  demo->callback([] { run_demo(a); });
}

}  // namespace unigap::cli
