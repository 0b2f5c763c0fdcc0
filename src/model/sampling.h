// Sampling image codes, for every backend: classifier-free guidance as Janus mixes it
// (logits = uncond + w * (cond - uncond)), temperature and top-k, then one draw per row from
// the row's own uniform number, so that a sample depends on its own seed only.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/sample_options.h"

namespace unigap {

// Probabilities (R, K) from conditional logits (R, K) and, with guidance, the unconditional
// ones (undefined without): softmax((uncond + w (cond - uncond)) / temperature), top-k applied.
torch::Tensor guided_probs(const torch::Tensor& cond, const torch::Tensor& uncond, const SampleOptions& opt);

// Draws one index from each row of `probs` (R, K) with the row's uniform u in [0, 1)
// by inverse CDF.
std::vector<int64_t> draw_rows(const torch::Tensor& probs, const std::vector<double>& u);

}  // namespace unigap
