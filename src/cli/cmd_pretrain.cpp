// `unigap pretrain`: the VQ tokenizer and the unified model from scratch.
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"
#include "io/jsonl.h"
#include "train/pretrain.h"

namespace unigap::cli {

void register_pretrain(CLI::App& app) {
  struct Args {
    std::string preset = "small", out, config, world, vq_from, und_order;
    uint64_t seed = 0;
    int steps = -1, vq_steps = -1;
    bool resume = false, quiet = false;
  };
  static Args a;
  auto* cmd = app.add_subcommand("pretrain", "Pretrain the VQ tokenizer and the unified model on the shapes world");
  cmd->add_option("--preset", a.preset, "Model + schedule preset: tiny | small")->capture_default_str();
  cmd->add_option("--out,-o", a.out, "Run directory (checkpoints, metrics.jsonl, model/)")->required();
  cmd->add_option("--config", a.config, "Pretrain config JSON (overrides the fields of the preset and of the world version's recipe)");
  cmd->add_option("--world", a.world, "World spec JSON (v1 | v2 | a spec file; default: v2)");
  cmd->add_option("--seed", a.seed, "Seed")->capture_default_str();
  cmd->add_option("--steps", a.steps, "Unified-model steps (overrides the preset)");
  cmd->add_option("--vq-steps", a.vq_steps, "VQ tokenizer steps (overrides the preset)");
  cmd->add_option("--vq-from", a.vq_from, "Reuse this checkpoint's VQ tokenizer and skip its training");
  cmd->add_flag("--resume", a.resume, "Continue the run in --out from its latest checkpoint");
  cmd->add_flag("--quiet,-q", a.quiet, "No progress output");
  cmd->callback([] {
    Progress::set_enabled(!a.quiet);
    const auto world = load_world_spec(a.world);
    PretrainConfig c = PretrainConfig::for_preset(a.preset, world.version);
    if (!a.config.empty()) {
      json j = read_json(a.config);
      if (!j.contains("preset")) j["preset"] = a.preset;
      c = PretrainConfig::from_json(j, a.config, world.version);
    }
    c.seed = a.seed;
    if (a.steps >= 0) c.steps = a.steps;
    if (a.vq_steps >= 0) c.vq_steps = a.vq_steps;
    if (!a.vq_from.empty()) c.vq_from = a.vq_from;
    auto res = pretrain(c, world, a.out, a.resume);
    std::cout << "model: " << res.model_dir << "\n" << "seconds: " << res.seconds << "\n";
  });
}

}  // namespace unigap::cli
