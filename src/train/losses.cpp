#include "train/losses.h"

#include <algorithm>
#include <cmath>

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

torch::Tensor yes_no_loss(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& is_no,
                          int64_t P, double negative_weight) {
  namespace F = torch::nn::functional;
  const auto ce = F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  const auto w = torch::where(is_no, torch::full_like(ce, negative_weight), torch::ones_like(ce));
  return (w * ce).sum() / (double(P) * (1.0 + negative_weight));
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

std::vector<double> group_advantages(const std::vector<double>& r, int group, double eps) {
  std::vector<double> a(r.size(), 0.0);
  for (size_t g0 = 0; g0 < r.size(); g0 += size_t(group)) {
    const size_t n = std::min(size_t(group), r.size() - g0);
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; ++i) mean += r[g0 + i];
    mean /= double(n);
    for (size_t i = 0; i < n; ++i) ss += (r[g0 + i] - mean) * (r[g0 + i] - mean);
    const double sd = n > 1 ? std::sqrt(ss / double(n - 1)) : 0.0;
    for (size_t i = 0; i < n; ++i) a[g0 + i] = (r[g0 + i] - mean) / (sd + eps);
  }
  return a;
}

GrpoTerms grpo_loss(const torch::Tensor& logp, const torch::Tensor& old_logp, const torch::Tensor& ref_logp,
                    const torch::Tensor& advantages, double clip, double beta) {
  GrpoTerms t;
  const auto A = advantages.to(logp.dtype()).unsqueeze(1);  // (B, 1)
  const auto ratio = torch::exp(logp - old_logp.detach());
  const auto surrogate = torch::min(ratio * A, torch::clamp(ratio, 1.0 - clip, 1.0 + clip) * A);
  const auto d = ref_logp.detach() - logp;
  const auto k3 = torch::exp(d) - d - 1.0;
  t.policy = -surrogate.mean();
  t.loss = t.policy + beta * k3.mean();
  t.kl = k3.detach().mean();
  const auto r = ratio.detach();
  t.clipped_low = ((r < 1.0 - clip) & (A < 0)).to(logp.dtype()).mean();
  t.clipped_high = ((r > 1.0 + clip) & (A > 0)).to(logp.dtype()).mean();
  return t;
}

}  // namespace unigap
