// Loss functions of self-improvement as pure functions of tensors (tested alone).
// Log-probabilities are summed over image tokens only (the prompt is never a target).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace unigap {

// logits (B, N, K), targets (B, N) -> (B): sum_t log softmax(logits)[t, target_t].
torch::Tensor sequence_logprob(const torch::Tensor& logits, const torch::Tensor& targets);

// SFT: mean negative log-likelihood per image token.
torch::Tensor sft_loss(const torch::Tensor& logits, const torch::Tensor& targets);
// The same from each sample's summed log-probability (B) over `tokens` image tokens, as a
// model's image_logprob() gives it: mean over samples of -logprob / tokens.
torch::Tensor sft_loss_from_logprobs(const torch::Tensor& logprobs, int64_t tokens);

// Pretraining's yes/no answer loss over one rank's rows of a global batch of P "yes" and P
// "no" rows: sum_i w_i CE(logits_i, label_i) / (P * (1 + negative_weight)), w_i = 1 on a "yes"
// row and negative_weight on a "no" row (`is_no`). The ranks' terms add up to the global
// weighted mean; negative_weight 1 is the plain mean over the 2P rows.
torch::Tensor yes_no_loss(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& is_no,
                          int64_t P, double negative_weight);

struct DpoTerms {
  torch::Tensor loss;            // scalar: mean over pairs
  torch::Tensor margin;          // (B): (pi_c - ref_c) - (pi_r - ref_r)
  torch::Tensor reward_chosen;   // (B): beta * (pi_c - ref_c)
  torch::Tensor reward_rejected; // (B): beta * (pi_r - ref_r)
};

// L = -log sigmoid(beta * margin) + lambda * NLL(chosen) / N, per pair, averaged.
// policy_* and ref_* are summed log-probs (B); nll_tokens = image tokens per sample
// (the NLL term is per token, as TRL's rpo_alpha term). With policy == reference the
// loss is ln 2 + lambda * NLL.
DpoTerms dpo_loss(const torch::Tensor& policy_chosen, const torch::Tensor& policy_rejected,
                  const torch::Tensor& ref_chosen, const torch::Tensor& ref_rejected, double beta, double lambda,
                  int64_t nll_tokens);

// GRPO (DeepSeekMath's group-relative policy optimisation, as TRL's GRPOTrainer computes it).
// Advantages within each group of `group` consecutive rewards (one prompt's samples):
// A_i = (r_i - mean) / (std + eps), std the sample standard deviation (n - 1), as torch's
// .std() in TRL. A group whose rewards are all equal gets A = 0: it carries no signal.
std::vector<double> group_advantages(const std::vector<double>& rewards, int group, double eps = 1e-4);

struct GrpoTerms {
  torch::Tensor loss;          // scalar: mean over rows and tokens of the clipped surrogate + beta * KL
  torch::Tensor policy;        // scalar: the clipped surrogate's part
  torch::Tensor kl;            // scalar: mean k3 estimate of KL(pi || pi_ref) per token (detached)
  torch::Tensor clipped_low;   // scalar: share of tokens with ratio < 1 - clip and A < 0 (detached)
  torch::Tensor clipped_high;  // scalar: share of tokens with ratio > 1 + clip and A > 0 (detached)
};

// Per token t of row i, with ratio rho = exp(logp - old_logp) and d = ref_logp - logp:
//   l = -min(rho * A_i, clip(rho, 1 - clip, 1 + clip) * A_i) + beta * (exp(d) - d - 1)
// (the k3 estimator of the KL to the reference), averaged over tokens and rows (every row has
// the same N image tokens, so TRL's per-sequence and per-token means agree). logp, old_logp,
// ref_logp (B, N); advantages (B). old_logp and ref_logp carry no gradient.
GrpoTerms grpo_loss(const torch::Tensor& logp, const torch::Tensor& old_logp, const torch::Tensor& ref_logp,
                    const torch::Tensor& advantages, double clip, double beta);

}  // namespace unigap
