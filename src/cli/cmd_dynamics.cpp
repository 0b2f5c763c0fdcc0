// `unigap dynamics`: the eNTK check of co-improvement (predicted vs measured dG, dU
// after a real SFT step; kernel proxies; the FP-correction group with --improved), and with
// --held-out the held-out dynamics of a fine-tuned model (dynamics/held_out.h).
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"
#include "common/rng.h"
#include "dynamics/entk.h"
#include "dynamics/held_out.h"
#include "dist/data_parallel.h"
#include "eval/external_judge.h"
#include "eval/gap_eval.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "model/lora_options.h"

namespace unigap::cli {

namespace {
// The verdict threshold of the improve run whose pool.jsonl is `pool_path` (its config.json
// beside it): the groups must call a verdict what that run called one.
double improve_threshold_of(const std::string& pool_path) {
  const auto slash = pool_path.find_last_of('/');
  const std::string cfg = (slash == std::string::npos ? std::string(".") : pool_path.substr(0, slash)) + "/config.json";
  if (!file_exists(cfg))
    throw UserError("no config.json of an improve run next to the pool, to take its verdict threshold from", pool_path,
                    "pass --threshold");
  const json j = read_json(cfg);
  const auto t = j.is_object() && j.contains("improve") && j["improve"].is_object() ? json_as<double>(j["improve"].value("threshold", json()))
                                                                                      : std::nullopt;
  if (!t || !(*t > 0 && *t < 1)) throw UserError("no verdict threshold in (0, 1) at improve.threshold", cfg, "pass --threshold");
  return *t;
}

// --held-out: the base's images of held-out prompts, the improved model on them, both judges.
void run_held_out(UnifiedMultimodal& base, const WorldSpec& spec, const std::string& improved, const std::string& pool_path,
                  const HeldOutConfig& c, RunDir& run, Dist& dist) {
  auto imp = open_model(improved, dist);
  if (imp->world() && imp->world()->fingerprint() != spec.fingerprint())
    throw UserError("the improved model was trained on another world than the base", improved);
  std::optional<Pool> train;
  if (!pool_path.empty()) {
    train = Pool::load(pool_path, spec);
    train->check_codes(base.image_tokens(), base.codebook_size(), pool_path);
  }
  auto judge = make_oracle_judge(spec);
  Pool probes = held_out_probes(base, *judge, spec, c);
  probes.save(run.file("probes.pool.jsonl"));
  auto rep = held_out_dynamics(base, *imp, spec, probes, train ? &*train : nullptr, c);
  std::vector<json> rows;
  for (auto& p : rep.probes) rows.push_back(p.to_json());
  write_jsonl(run.file("probes.jsonl"), rows);
  json summary = rep.to_json();
  summary["judge"] = judge->name();
  for (auto& [name, j] : summary["judges"].items()) {
    auto f = [](const json& v) { return v.is_number() ? v.get<double>() : NAN; };
    const auto& fp = j["change_on_base_fp"];
    char ci[64] = "";
    if (fp["ci95"].is_array()) std::snprintf(ci, sizeof ci, "[%+.3f, %+.3f]", f(fp["ci95"][0]), f(fp["ci95"][1]));
    std::printf("%-7s AUROC %.3f -> %.3f; change on the base's %d false positives (%d prompts): %+.3f %s\n", name.c_str(),
                f(j["auroc_base"]), f(j["auroc_now"]), fp["images"].get<int>(), fp["prompts"].get<int>(), f(fp["mean"]), ci);
    for (auto& [g, n] : j["transitions"].items()) std::printf("        %-22s %d\n", g.c_str(), n.get<int>());
  }
  const auto& fo = summary["first_order"];
  std::printf("first order (d theta of the run): log-odds r=%.3f slope=%.3f; log pi(x|y) r=%.3f slope=%.3f; Bayes r=%.3f slope=%.3f\n",
              fo["log_odds"]["pearson"].get<double>(), fo["log_odds"]["slope"].get<double>(),
              fo["log_likelihood"]["pearson"].get<double>(), fo["log_likelihood"]["slope"].get<double>(),
              fo["bayes"]["pearson"].get<double>(), fo["bayes"]["slope"].get<double>());
  const auto& k = summary["kernel"];
  std::printf("kernels: mean cos(grad G, grad log-odds) %.4f, cos(grad G, grad Bayes) %.4f; nearest of %d training examples: "
              "cos G-G %.4f, cos log-odds-G %.4f\n",
              k["mean_cos_gen_und"].get<double>(), k["mean_cos_gen_bayes"].get<double>(), k["training_examples"].get<int>(),
              k["mean_cos_gen_nearest"].get<double>(), k["mean_cos_und_nearest"].get<double>());
  run.write_summary(summary);
}
}  // namespace

void register_dynamics(CLI::App& app) {
  struct Args {
    std::string ckpt, pool, improved, out, world, adapter, etas = "1e-4,1e-3,1e-2";
    LoraOptions lora;
    double threshold = -1;
    int fp_probes = 600;
    bool quiet = false;
    DynamicsConfig c;
    std::string held_out;  // a split: the held-out mode
    HeldOutConfig h;
  };
  static Args a;
  auto* cmd = app.add_subcommand("dynamics", "Learning dynamics: eNTK-predicted vs measured changes of G and U");
  cmd->add_option("--ckpt", a.ckpt, "Model checkpoint (the starting model of the step)")->required();
  cmd->add_option("--pool", a.pool,
                  "pool.jsonl of an improve run: the step's training pairs and probes; with --held-out, the arm's training pool "
                  "(its prompts are refused as probes; its accepted candidates give the kernels' training examples)");
  cmd->add_option("--improved", a.improved, "Improved model: adds the FP-correction group analysis");
  cmd->add_option("--adapter", a.adapter, "A LoRA adapter (PEFT folder) on the --ckpt model: the step trains its tensors only");
  cmd->add_option("--lora-rank", a.lora.rank, "A fresh LoRA adapter of this rank (seeded): the step trains its tensors only (0: off)")
      ->capture_default_str();
  cmd->add_option("--lora-alpha", a.lora.alpha, "LoRA alpha of --lora-rank")->capture_default_str();
  cmd->add_option("--out,-o", a.out, "Run directory")->required();
  cmd->add_option("--probes", a.c.probes, "Probe pairs")->capture_default_str();
  cmd->add_option("--train-batch", a.c.train_batch, "Samples in the SFT step")->capture_default_str();
  cmd->add_option("--etas", a.etas, "Comma-separated SGD learning rates")->capture_default_str();
  cmd->add_option("--alternatives", a.c.alternatives, "Alternative prompts per probe (Bayes term)")->capture_default_str();
  cmd->add_option("--fp-probes", a.fp_probes, "Base images examined for the FP-correction groups")->capture_default_str();
  cmd->add_option("--seed", a.c.seed, "Seed")->capture_default_str();
  cmd->add_option("--threshold", a.threshold,
                  "Verdict threshold of the judges (default: that of the improve run that made --pool, from its config.json)");
  cmd->add_option("--world", a.world, "World spec of the pool's prompts, for a model without a world of its own (v1 | v2 | a spec file; default: v2)");
  cmd->add_option("--held-out", a.held_out,
                  "val | eval: held-out dynamics of --improved against --ckpt, its base, on the base's own images of this "
                  "split's prompts (both judges: yes/no and Bayes)");
  cmd->add_option("--held-out-prompts", a.h.prompts, "Held-out prompts")->capture_default_str();
  cmd->add_option("--held-out-k", a.h.k, "Base images per held-out prompt")->capture_default_str();
  cmd->add_option("--random-prompts", a.h.random_prompts, "Random prompts of the split among the Bayes judge's alternatives")
      ->capture_default_str();
  cmd->add_option("--neighbours", a.h.neighbours, "Training examples of --pool the kernels compare each probe with")->capture_default_str();
  cmd->add_option("--cfg", a.h.sampling.cfg_weight, "Guidance of the base's held-out images (the base's evaluation guidance)")
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", a.quiet, "No progress output");
  cmd->callback([cmd] {
    Progress::set_enabled(!a.quiet);
    // Each mode's own options are refused in the other: never silently ignored.
    const bool held = !a.held_out.empty();
    for (const char* o : {"--held-out-prompts", "--held-out-k", "--random-prompts", "--neighbours", "--cfg"})
      if (!held && cmd->count(o) > 0) throw UserError("applies only with --held-out", o);
    for (const char* o : {"--probes", "--train-batch", "--etas", "--fp-probes"})
      if (held && cmd->count(o) > 0) throw UserError("applies to the one-step check, not with --held-out", o);
    if (held) {
      if (a.improved.empty()) throw UserError("compares a fine-tuned model with its base: needs --improved", "--held-out");
      if (a.lora.enabled() || !a.adapter.empty()) throw UserError("reads the update of a whole model; not with an adapter", "--held-out");
      a.h.split = parse_split(a.held_out);
      a.h.hard_negatives = a.c.alternatives;
      a.h.seed = a.c.seed;
      a.h.threshold = a.threshold >= 0 ? a.threshold : a.pool.empty() ? 0.5 : improve_threshold_of(a.pool);
      a.h.validate();  // before any model is read
      Dist& dist = Dist::current();
      auto base = open_model(a.ckpt, dist);
      if (!base->world())
        throw UserError("the held-out probes are the model's images of its own world's prompts, judged by that world's oracle; "
                        "this model has no world",
                        a.ckpt, "--held-out runs on a shapes model");
      const WorldSpec spec = world_of(*base, a.world);  // a --world describing another world is refused
      RunDir run(a.out);
      run.start({{"command", "dynamics"}, {"ckpt", a.ckpt}, {"improved", a.improved}, {"pool", a.pool}, {"held_out", a.h.to_json()}},
                {});
      run_held_out(*base, spec, a.improved, a.pool, a.h, run, dist);
      std::cout << "summary: " << run.file("summary.json") << "\n";
      return;
    }
    if (a.pool.empty()) throw UserError("the step's training pairs and probes come from a pool", "--pool");
    a.c.etas.clear();
    std::stringstream in(a.etas);
    std::string e;
    while (std::getline(in, e, ',')) {
      try {
        a.c.etas.push_back(std::stod(e));
      } catch (const std::exception&) {
        throw UserError("not a number: '" + e + "'", "--etas");
      }
      if (!(a.c.etas.back() > 0)) throw UserError("learning rates must be > 0", "--etas");
    }
    if (a.threshold >= 0 && !(a.threshold > 0 && a.threshold < 1)) throw UserError("must be in (0, 1)", "--threshold");
    Dist& dist = Dist::current();
    ModelOptions mo;
    mo.adapter = a.adapter;
    auto model = open_model(a.ckpt, dist, mo);
    a.lora.dropout = 0;  // the step's gradients are deterministic
    if (a.lora.enabled()) model->add_lora(a.lora, derive_seed(a.c.seed, "lora"));
    const WorldSpec spec = world_of(*model, a.world);
    auto pool = Pool::load(a.pool, spec);
    pool.check_codes(model->image_tokens(), model->codebook_size(), a.pool);
    a.c.threshold = a.threshold >= 0 ? a.threshold : improve_threshold_of(a.pool);
    RunDir run(a.out);
    json config = {{"command", "dynamics"}, {"ckpt", a.ckpt}, {"pool", a.pool}, {"improved", a.improved}, {"judge", pool.judge},
                   {"dynamics", a.c.to_json()}};
    if (!a.adapter.empty()) config["adapter"] = a.adapter;
    if (a.lora.enabled()) config["lora"] = a.lora.to_json();
    run.start(config, {});
    auto rep = measure_dynamics(*model, spec, pool, a.c);
    json summary = rep.to_json();
    summary["judge"] = pool.judge;  // the external verdicts of the probes and groups
    for (auto& f : summary["fits"])
      std::printf("eta %-8g dG: r=%.3f slope=%.3f   dU(judge): r=%.3f slope=%.3f   dU(Bayes): r=%.3f slope=%.3f\n",
                  f["eta"].get<double>(), f["dG"]["pearson"].get<double>(), f["dG"]["slope"].get<double>(),
                  f["dU_judge"]["pearson"].get<double>(), f["dU_judge"]["slope"].get<double>(),
                  f["dU_bayes"]["pearson"].get<double>(), f["dU_bayes"]["slope"].get<double>());
    const auto& k = summary["kernel"];
    std::printf("kernel: mean |K(own)| %.4g vs mean |K(alternatives)| %.4g; own dominates on %d/%d probes; mean cos(gen, und) %.3f\n",
                k["mean_abs_K_own"].get<double>(), k["mean_abs_K_alternatives"].get<double>(),
                k["probes_own_dominates"].get<int>(), int(k["probes"].get<size_t>()), k["mean_cos_gen_und"].get<double>());
    if (!a.improved.empty()) {
      auto imp = open_model(a.improved, dist);
      summary["groups"] = fp_correction_groups(*model, *imp, pool, a.fp_probes, a.c.seed, a.c.threshold);
      for (auto& [g, v] : summary["groups"].items())
        std::printf("group %-22s n=%4d mean dG %+.3f (dG<0: %d) mean dU %+.3f, same sign %d\n", g.c_str(), v["n"].get<int>(),
                    v["mean_dG"].get<double>(), v["dG_negative"].get<int>(), v["mean_dU"].get<double>(),
                    v["dG_dU_same_sign"].get<int>());
    }
    run.write_summary(summary);
    std::cout << "summary: " << run.file("summary.json") << "\n";
  });
}

}  // namespace unigap::cli
