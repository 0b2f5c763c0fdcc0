// Autoregressive image-token sampling as Janus does it: conditional and
// unconditional rows in one batch, logits = uncond + w * (cond - uncond), then
// softmax(logits / temperature), optional top-k; a preallocated KV cache. Each row
// draws from its own seeded stream, so a sample depends only on its own seed, not
// on batch size, order or sharding.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "model/sample_options.h"
#include "model/sampling.h"
#include "model/unified.h"

namespace unigap {

// prompt: (R, T) padded prompt ids; seeds: one per row. Returns codes (R, N) int64.
torch::Tensor sample_codes(UnifiedModelImpl& model, const torch::Tensor& prompt, const std::vector<uint64_t>& seeds,
                           const SampleOptions& opt);

}  // namespace unigap
