// `unigap improve` (self-improvement: SFT, DPO, curriculum replay, supervision
// sources) and `unigap audit` (the data-quality check of a pool).
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"
#include "io/atomic_file.h"
#include "train/audit.h"
#include "train/improve.h"
#include "world/spec.h"

namespace unigap::cli {

namespace {
std::vector<int> parse_epochs(const std::string& s) {
  std::vector<int> v;
  if (s.empty()) return v;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      v.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw UserError("not an epoch number: '" + item + "'", "--curriculum-epochs", "e.g. --curriculum-epochs 10 or 4,10");
    }
  }
  return v;
}
}  // namespace

void register_improve(CLI::App& app) {
  struct Args {
    std::string ckpt, out, curriculum, groups, lora_targets;
    bool resume = false, quiet = false;
    ImproveConfig c;
  };
  static Args a;
  auto* cmd = app.add_subcommand("improve", "Self-improve generation from the model's own understanding (SFT/DPO)");
  cmd->add_option("--ckpt", a.ckpt, "Starting (base) model checkpoint folder")->required();
  cmd->add_option("--out,-o", a.out, "Run directory")->required();
  cmd->add_option("--method", a.c.method, "sft | dpo | grpo (online RL: samples from the current policy every step)")->capture_default_str();
  cmd->add_option("--supervision", a.c.supervision,
                  "self | oracle (the external judge) | flip:P | inverted | ckpt:PATH | all (unfiltered: every candidate) | "
                  "render (ground-truth renders of the prompts: continued pretraining)")->capture_default_str();
  cmd->add_option("--judge", a.c.judge, "External judge of the audit and the held-out tracking: oracle | ckpt:PATH")
      ->capture_default_str();
  cmd->add_option("--world", a.c.world, "World spec of the prompts, for a model without a world of its own (v1 | v2 | a spec file; default: v2)");
  cmd->add_option("--seed", a.c.seed, "Seed")->capture_default_str();
  cmd->add_option("--prompts", a.c.train_prompts, "Training prompts (train split)")->capture_default_str();
  cmd->add_option("--train-suite", a.c.train_suite,
                  "Training prompts from a metadata JSONL instead (all of them; GenEval's open vocabulary for a model without a world and no --world)");
  cmd->add_option("--eval-suite", a.c.eval_suite,
                  "Held-out prompts of the tracking from a metadata JSONL instead of --eval-prompts from the validation split (disjoint from the training prompts; in a world with a validation split, only its prompts)");
  cmd->add_option("--candidates,-n", a.c.pool.candidates, "Candidates per prompt (N)")->capture_default_str();
  cmd->add_option("--cfg", a.c.pool.sampling.cfg_weight, "Guidance of candidate sampling")->capture_default_str();
  cmd->add_option("--temperature", a.c.pool.sampling.temperature, "Temperature of candidate sampling")->capture_default_str();
  cmd->add_option("--threshold", a.c.pool.threshold, "Verdict threshold of the supervision and the external judge on P(yes)/(P(yes)+P(no))")
      ->capture_default_str();
  cmd->add_option("--epochs", a.c.epochs, "Training epochs")->capture_default_str();
  cmd->add_option("--batch", a.c.batch, "Samples (SFT), pairs (DPO) or prompts (GRPO) per step")->capture_default_str();
  cmd->add_option("--group", a.c.grpo.group, "GRPO: samples per prompt (G)")->capture_default_str();
  cmd->add_option("--clip", a.c.grpo.clip, "GRPO: clip range of the policy ratio (epsilon)")->capture_default_str();
  cmd->add_option("--kl", a.c.grpo.kl, "GRPO: weight of the KL penalty to the frozen base (k3 estimator)")->capture_default_str();
  cmd->add_option("--inner-epochs", a.c.grpo.inner_epochs, "GRPO: optimizer steps on each sampled batch")->capture_default_str();
  cmd->add_option("--reward", a.c.grpo.reward, "GRPO: score (the supervision's confidence) | verdict (1 accepted, 0 not)")
      ->capture_default_str();
  cmd->add_option("--reward-judge", a.c.grpo.reward_judge,
                  "GRPO: whose understanding scores self, flip and inverted rewards: frozen (the base's) | policy (the model being trained)")
      ->capture_default_str();
  cmd->add_option("--rollout-log-every", a.c.grpo.rollout_log_every,
                  "GRPO: steps between per-sample records (reward, advantage, oracle) in metrics.jsonl (0: none)")->capture_default_str();
  cmd->add_option("--checkpoint-steps", a.c.grpo.checkpoint_steps,
                  "GRPO: steps between checkpoints within an epoch (0: at its end only); --resume continues from the newest")
      ->capture_default_str();
  cmd->add_option("--lr", a.c.lr, "Learning rate")->capture_default_str();
  cmd->add_option("--beta", a.c.beta, "DPO beta")->capture_default_str();
  cmd->add_option("--nll-weight", a.c.nll_weight, "DPO lambda on the chosen NLL")->capture_default_str();
  cmd->add_option("--prompt-dropout", a.c.prompt_dropout, "Share of SFT rows trained unconditionally")->capture_default_str();
  cmd->add_option("--sft-samples", a.c.sft_samples,
                  "SFT samples per epoch (0: every accepted candidate); a seeded subset, or the accepted cycled when fewer: "
                  "matched budgets between arms")->capture_default_str();
  cmd->add_option("--train-groups", a.groups, "Comma-separated parameter groups to train (default: the model's, the shared LLM)");
  cmd->add_option("--adapter", a.c.adapter, "A LoRA adapter (PEFT folder) on the --ckpt model, trained further");
  cmd->add_option("--lora-rank", a.c.lora.rank, "Train a fresh LoRA adapter of this rank instead of the groups (0: off)")->capture_default_str();
  cmd->add_option("--lora-alpha", a.c.lora.alpha, "LoRA alpha (the update is scaled by alpha / rank)")->capture_default_str();
  cmd->add_option("--lora-dropout", a.c.lora.dropout, "LoRA dropout on the adapter's input")->capture_default_str();
  cmd->add_option("--lora-targets", a.lora_targets, "Comma-separated module names of the adapted linear layers (PEFT's target_modules; default: q,k,v,o,gate,up,down _proj)");
  cmd->add_flag("--grad-checkpointing", a.c.grad_checkpointing, "Recompute each transformer block in the backward pass (less memory, one more forward)");
  cmd->add_option("--curriculum-epochs", a.curriculum, "Replay the discard pool after these epochs, e.g. 10 or 4,10");
  cmd->add_option("--audit-min-precision", a.c.audit_min_precision, "Refuse to train below this audited precision");
  cmd->add_option("--audit-sample", a.c.audit_sample, "Candidates audited against the external judge")->capture_default_str();
  cmd->add_option("--eval-every", a.c.eval_every, "Epochs between held-out evaluations")->capture_default_str();
  cmd->add_option("--eval-prompts", a.c.eval_prompts, "Held-out prompts for tracking, from the validation split (the eval split in a version 1 world, which has none)")->capture_default_str();
  cmd->add_option("--eval-k", a.c.eval.samples_per_prompt, "Images per held-out prompt")->capture_default_str();
  cmd->add_option("--eval-cfg", a.c.eval.sampling.cfg_weight, "Guidance of evaluation sampling")->capture_default_str();
  cmd->add_option("--eval-cfg-grid", a.c.eval_cfg_grid,
                  "Choose the tracking's guidance at every evaluation among these weights, on as many other validation prompts "
                  "(fine-tuning moves the best guidance); replaces --eval-cfg")
      ->delimiter(',');
  cmd->add_option("--pool-from", a.c.pool_from,
                  "Train on the round-0 candidates of this earlier improve run (same base, seed, prompts, sampling; relabeled if its supervision differs)");
  cmd->add_flag("--resume", a.resume, "Continue the run in --out");
  cmd->add_flag("--quiet,-q", a.quiet, "No progress output");
  cmd->callback([] {
    Progress::set_enabled(!a.quiet);
    a.c.curriculum_epochs = parse_epochs(a.curriculum);
    if (!a.lora_targets.empty()) a.c.lora.targets = LoraOptions::parse_targets(a.lora_targets);
    a.c.train_groups.clear();
    std::stringstream in(a.groups);
    std::string g;
    while (std::getline(in, g, ',')) a.c.train_groups.push_back(g);
    a.c.eval.samples_per_prompt = std::max(1, a.c.eval.samples_per_prompt);
    auto r = improve(a.c, a.ckpt, a.out, a.resume);
    std::cout << "model: " << r.model_dir << "\nsft samples: " << r.sft_samples << "\ndpo pairs: " << r.dpo_pairs
              << "\ndiscarded prompts: " << r.discarded << "\nseconds: " << r.seconds << "\n";
  });

  struct AuditArgs {
    std::string pool, world, out;
    int sample = 400;
    uint64_t seed = 0;
  };
  static AuditArgs u;
  auto* audit = app.add_subcommand("audit", "Data-quality check of a pool's labels against its external judge");
  audit->add_option("--pool", u.pool, "pool.jsonl written by `unigap improve` (it names its external judge)")->required();
  audit->add_option("--sample", u.sample, "Candidates to audit (0 = all)")->capture_default_str();
  audit->add_option("--seed", u.seed, "Sampling seed")->capture_default_str();
  audit->add_option("--world", u.world, "World spec JSON (v1 | v2 | a spec file; default: v2)");
  audit->add_option("--out,-o", u.out, "Write the audit as JSON here");
  audit->callback([] {
    auto spec = load_world_spec(u.world);
    auto pool = Pool::load(u.pool, spec);
    auto rep = audit_pool(pool, u.sample, u.seed);
    std::cout << rep.text();
    if (!u.out.empty()) write_json(u.out, rep.to_json());
  });
}

}  // namespace unigap::cli
