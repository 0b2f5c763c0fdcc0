// What the rest of unigap knows of a unified multimodal model. Evaluation,
// self-improvement and dynamics talk to this interface only; which model is behind
// it (our shapes-world model today, a Janus-Pro checkpoint later) is model/'s business.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "common/image.h"
#include "model/sampler.h"

namespace unigap {

struct GenerationRequest {
  std::string prompt;
  uint64_t seed = 0;  // the sample depends only on (model, prompt, seed, options)
};

struct GeneratedSample {
  std::vector<int64_t> codes;  // image tokens, raster order
  Image image;                 // decoded
};

class UnifiedMultimodal {
 public:
  virtual ~UnifiedMultimodal() = default;
  virtual std::string name() const = 0;
  virtual int image_tokens() const = 0;
  virtual int codebook_size() const = 0;  // image codes are 0 .. codebook_size() - 1
  // Generation branch: one sample per request.
  virtual std::vector<GeneratedSample> generate(const std::vector<GenerationRequest>& requests,
                                                const SampleOptions& opt) = 0;
  // Understanding branch as a judge: s = P(yes) / (P(yes) + P(no)) for
  // "does this image describe {prompt}?", one per (image, prompt) pair.
  virtual std::vector<double> judge(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                                    int batch = 128) = 0;
  // log pi(x | y) summed over image tokens, with autograd (for SFT and DPO): codes (B, N).
  virtual torch::Tensor image_logprob(const std::vector<std::string>& prompts, const torch::Tensor& codes) = 0;
  // log P(yes | image, prompt), with autograd (for learning dynamics).
  virtual torch::Tensor judge_logprob_yes(const std::vector<Image>& images, const std::vector<std::string>& prompts) = 0;
  // Image tokens of existing images (for training on images made elsewhere).
  virtual torch::Tensor encode_images(const std::vector<Image>& images) = 0;
  // Named parameter groups (backbone, gen_aligner, gen_head, und_encoder, vq).
  virtual std::map<std::string, std::vector<torch::Tensor>> parameter_groups() = 0;
  virtual void train_only(const std::vector<std::string>& groups) = 0;
  virtual void set_training(bool on) = 0;
};

}  // namespace unigap
