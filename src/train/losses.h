// Loss functions of self-improvement as pure functions of tensors (tested alone).
// Log-probabilities are summed over image tokens only (the prompt is never a target).
#pragma once

#include <torch/torch.h>

namespace unigap {

// logits (B, N, K), targets (B, N) -> (B): sum_t log softmax(logits)[t, target_t].
torch::Tensor sequence_logprob(const torch::Tensor& logits, const torch::Tensor& targets);

// SFT: mean negative log-likelihood per image token.
torch::Tensor sft_loss(const torch::Tensor& logits, const torch::Tensor& targets);
// The same from each sample's summed log-probability (B) over `tokens` image tokens, as a
// model's image_logprob() gives it: mean over samples of -logprob / tokens.
torch::Tensor sft_loss_from_logprobs(const torch::Tensor& logprobs, int64_t tokens);

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

}  // namespace unigap
