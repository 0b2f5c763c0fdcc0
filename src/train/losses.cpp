#include "train/losses.h"

namespace unigap {

torch::Tensor sequence_logprob(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::log_softmax(logits, -1).gather(2, targets.unsqueeze(-1)).squeeze(-1).sum(1);
}

torch::Tensor sft_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

torch::Tensor sft_loss_from_logprobs(const torch::Tensor& logprobs, int64_t tokens) {
  return -logprobs.mean() / double(tokens);
}

DpoTerms dpo_loss(const torch::Tensor& pc, const torch::Tensor& pr, const torch::Tensor& rc, const torch::Tensor& rr,
                  double beta, double lambda, int64_t nll_tokens) {
  DpoTerms t;
  auto dc = pc - rc, dr = pr - rr;
  t.margin = dc - dr;
  t.reward_chosen = beta * dc.detach();
  t.reward_rejected = beta * dr.detach();
  auto per_pair = -torch::log_sigmoid(beta * t.margin) + lambda * (-pc / double(nll_tokens));
  t.loss = per_pair.mean();
  return t;
}

}  // namespace unigap
