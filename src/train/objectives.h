// The objectives of self-improvement as classes, as TRL's trainers compute
// get_batch_loss_metrics: each turns a global batch of its training items into this rank's
// share of the loss and of named metrics (TRL's names: loss/sft; loss/dpo, rewards/chosen,
// rewards/rejected, rewards/margins, rewards/accuracies, logps/chosen, logps/rejected).
// improve's loop runs any of them the same way; a new objective is one more class here.
//
// Data parallel: every rank builds the whole global batch's inputs (its random draws stay
// in step) and feeds the model only its rows [lo, lo + n) (Shard); the loss and each metric
// are scaled so that their sum over the ranks is the global batch mean (dist/dist.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/rng.h"
#include "model/multimodal.h"
#include "train/pool.h"

namespace unigap {

using Metrics = std::map<std::string, double>;

// This rank's rows [lo, lo + n) of a global batch of `total`.
struct Shard {
  int64_t lo = 0, n = 0, total = 0;
  double frac() const { return total ? double(n) / double(total) : 0.0; }
};

struct LossTerms {
  torch::Tensor loss;  // this rank's share of the global batch mean (no graph when n == 0)
  Metrics metrics;     // this rank's share of each global batch mean; the same keys on every rank
};

// Grpo is online: no pool, so no Objective class; improve's grpo_epoch samples every step.
enum class Method { Sft, Dpo, Grpo };
Method parse_method(const std::string& s);  // "sft" | "dpo" | "grpo"; UserError naming --method otherwise
std::string method_name(Method m);

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string name() const = 0;  // "sft" | "dpo"
  virtual std::string unit() const = 0;  // what an item is: "samples" | "pairs"
  // Rebuilds the training items from the pool: before the first epoch and after every replay.
  virtual void refresh(const Pool& pool) = 0;
  virtual size_t size() const = 0;
  // The global batch `items` (indices < size()); `rng` draws per-row randomness for the
  // whole global batch (the same draws on every rank).
  virtual LossTerms batch_loss(UnifiedMultimodal& policy, const std::vector<size_t>& items, const Shard& shard, Rng& rng) = 0;
};

// Codes (B, N) of candidates' code rows.
torch::Tensor codes_tensor(const std::vector<const std::vector<int64_t>*>& rows);

// SFT on the accepted candidates: the mean NLL per image token; a share of the rows
// (prompt dropout) trains the unconditional branch of guidance.
// `samples` > 0: exactly that many items per refresh, a seeded subset of the accepted or
// all of them cycled (ImproveConfig::sft_samples).
std::unique_ptr<Objective> make_sft(double prompt_dropout, int samples = 0, uint64_t seed = 0);

// DPO with the chosen NLL term (docs/method.md section 3): pairs (most confidently accepted,
// most confidently rejected) of each prompt; the frozen reference's log-probs of a pair are
// computed once, when the pair first appears.
std::unique_ptr<Objective> make_dpo(UnifiedMultimodal& reference, double beta, double nll_weight);

}  // namespace unigap
