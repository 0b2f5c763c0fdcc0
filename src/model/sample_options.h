// How images are sampled from a model's generation branch, for any backend: classifier-free
// guidance as Janus does it (conditional and unconditional rows, logits = uncond + w * (cond -
// uncond)), temperature and top-k.
#pragma once

namespace unigap {

struct SampleOptions {
  double cfg_weight = 2.0;   // classifier-free guidance w; 1 = no guidance (unconditional rows skipped)
  double temperature = 1.0;  // > 0
  int top_k = 0;             // 0 = off
  int batch = 64;            // prompts per forward (each takes 2 rows with guidance)
  bool use_cache = true;     // false recomputes the whole prefix each step (for tests and benchmarks)
  void validate() const;
};

}  // namespace unigap
