// `unigap improve`: self-improvement of the generation branch from the model's own
// understanding (Algorithm 1: SFT on accepted candidates or DPO on confident pairs),
// with curriculum replay of the discard pool (Algorithm 2), a choice of supervision
// source (self, oracle, flip:P, inverted, ckpt:PATH), the data-quality audit before
// training, and the held-out evaluation after every eval_every epochs. Any backend
// (model/registry.h); the objectives are classes (train/objectives.h).
#pragma once

#include <string>
#include <vector>

#include "eval/gap_eval.h"
#include "model/lora_options.h"
#include "train/pool.h"

namespace unigap {

// Online RL of the generation branch (method "grpo", train/losses.h grpo_loss): per step,
// `batch` training prompts, `group` samples of each from the current policy, rewarded by the
// supervision, advantages within each prompt's group.
struct GrpoOptions {
  int group = 8;                        // G samples per prompt
  double clip = 0.2;                    // epsilon of the ratio clip, both sides
  double kl = 0.04;                     // beta of the k3 KL penalty to the frozen base
  int inner_epochs = 1;                 // optimizer steps on each sampled batch (mu)
  std::string reward = "score";         // score: the supervision's confidence (self: P(yes)/(P(yes)+P(no)); the
                                        // oracle has none: its verdict); verdict: 1 accepted, 0 not
  std::string reward_judge = "frozen";  // whose understanding scores self, flip and inverted rewards: frozen (the
                                        // base's, the paper's setting) | policy (the network being trained)
  int rollout_log_every = 10;           // steps between the per-sample records in metrics.jsonl (0: none)
  int checkpoint_steps = 10;            // steps between checkpoints within an epoch (0: at its end only); a run
                                        // resumed from one ends as if it had never stopped
  void validate() const;
  json to_json() const;
};

enum class RewardKind { Score, Verdict };
enum class RewardJudge { Frozen, Policy };
RewardKind parse_reward(const std::string& s);        // UserError naming --reward otherwise
RewardJudge parse_reward_judge(const std::string& s);  // UserError naming --reward-judge otherwise

struct ImproveConfig {
  std::string method = "sft";          // sft | dpo | grpo
  std::string supervision = "self";    // self | oracle | flip:P | inverted | ckpt:PATH ("oracle": the external judge)
  std::string judge = "oracle";        // the external judge of the audit and tracking: oracle | ckpt:PATH
  std::string world;                   // world spec file for a model without a world of its own ("" = the default, version 2)
  // Prompt files (GenEval metadata JSONL) instead of the world's splits: every training prompt
  // of train_suite (else train_prompts from the train split), the held-out prompts of
  // eval_suite (else eval_prompts from the eval split). Read in GenEval's open vocabulary for a
  // model of the open world without --world (eval/gap_eval.h); they must share no prompt.
  std::string train_suite, eval_suite;
  uint64_t seed = 0;
  int train_prompts = 2000;            // drawn from the train split (GenEval tag proportions)
  PoolOptions pool;                    // N candidates, sampling options of candidate generation
  int epochs = 20;                     // paper: SFT 20, DPO 30
  int batch = 32;                      // samples (SFT), pairs (DPO) or prompts (GRPO, each `grpo.group` samples) per step
  double lr = 1e-4;                    // AdamW, constant after warm-up
  int warmup = 20;                     // steps
  double weight_decay = 0.0;
  double grad_clip = 1.0;
  double prompt_dropout = 0.1;         // keeps the unconditional branch of guidance trained
  // SFT samples per epoch, 0: every accepted candidate. Else exactly this many: a seeded
  // subset of the accepted, or all of them cycled when fewer, so that arms whose judges
  // accept different amounts train on matched budgets (the same steps and samples).
  int sft_samples = 0;
  double beta = 0.1;                   // DPO temperature (TRL's default)
  double nll_weight = 1.0;             // DPO lambda on the chosen per-token NLL (TRL rpo_alpha; 1.0 as the RPO paper)
  GrpoOptions grpo;                    // method grpo: an epoch is one pass over the training prompts
  std::vector<std::string> train_groups;  // empty: the backend's default (the shared LLM, as the paper)
  // rank > 0: train a fresh LoRA adapter (its group "lora") instead of the groups; the run's
  // model/ is then the adapter in PEFT's format.
  LoraOptions lora;
  std::string adapter;                 // a PEFT adapter folder attached to the base ("" = none)
  bool grad_checkpointing = false;     // recompute the transformer blocks in the backward pass
  std::vector<int> curriculum_epochs;  // replay the discard pool after these epochs (paper: 10)
  double audit_min_precision = -1;     // refuse to train below this estimated precision (< 0: off)
  int audit_sample = 400;              // pool candidates audited against the oracle
  int eval_every = 1;                  // epochs between held-out evaluations (0: only at the end)
  int eval_prompts = 120;              // held-out suite size for tracking
  // Non-empty: each tracking evaluation first chooses its guidance among these weights on the
  // validation split (choose_guidance), since fine-tuning moves the best guidance; empty: the
  // fixed eval.sampling.cfg_weight.
  std::vector<double> eval_cfg_grid;
  // Start from the round-0 pool of an earlier improve run (its directory) instead of sampling
  // one: methods compared on one seed then train on the same candidates. That run must have
  // used the same base, supervision, seed, prompts and candidate sampling (checked). "" = sample.
  std::string pool_from;
  EvalOptions eval;                    // K, sampling of evaluation
  void validate() const;
  json to_json() const;
};

struct ImproveResult {
  std::string model_dir;
  int sft_samples = 0, dpo_pairs = 0, discarded = 0;  // training items at the end (after replays)
  int64_t rollouts = 0;                               // GRPO: images sampled and rewarded
  std::vector<int> joined_at_replay;  // prompts that left the discard pool at each replay
  double seconds = 0;
};

// The co-degradation alarm of the held-out tracking: Non fell below its epoch-0 value
// (non0) while Gen or Und fell, i.e. its epoch-0 value (gen0, und0) lies above this
// evaluation's 95% interval.
bool codegradation_alarm(double non0, double gen0, double und0, const EvalResult& now);

ImproveResult improve(const ImproveConfig& cfg, const std::string& base_ckpt, const std::string& out_dir, bool resume);

}  // namespace unigap
