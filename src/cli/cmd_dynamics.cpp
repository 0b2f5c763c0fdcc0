// `unigap dynamics`: the eNTK check of co-improvement (predicted vs measured dG, dU
// after a real SFT step; kernel proxies; the FP-correction group with --improved).
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"
#include "common/rng.h"
#include "dynamics/entk.h"
#include "dist/data_parallel.h"
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
}  // namespace

void register_dynamics(CLI::App& app) {
  struct Args {
    std::string ckpt, pool, improved, out, world, adapter, etas = "1e-4,1e-3,1e-2";
    LoraOptions lora;
    double threshold = -1;
    int fp_probes = 600;
    bool quiet = false;
    DynamicsConfig c;
  };
  static Args a;
  auto* cmd = app.add_subcommand("dynamics", "Learning dynamics: eNTK-predicted vs measured changes of G and U");
  cmd->add_option("--ckpt", a.ckpt, "Model checkpoint (the starting model of the step)")->required();
  cmd->add_option("--pool", a.pool, "pool.jsonl of an improve run (training pairs and probes)")->required();
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
  cmd->add_option("--world", a.world, "World spec of the pool's prompts, for a model without a world of its own (default: embedded)");
  cmd->add_flag("--quiet,-q", a.quiet, "No progress output");
  cmd->callback([] {
    Progress::set_enabled(!a.quiet);
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
