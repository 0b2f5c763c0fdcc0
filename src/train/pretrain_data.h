// Pretraining batches, a pure function of (seed, step): scenes of train-split
// prompts rendered on the fly; each image serves generation (prompt -> codes, with
// prompt dropout for guidance) and understanding (the image with its own prompt ->
// "yes" plus a caption loss; with a wrong prompt -> "no"). Wrong prompts are hard
// negatives (one colour, shape, count or relation changed) or random prompts, always
// checked false against the scene's truth by the oracle's rules, and always from the
// train split (no eval prompt text is ever trained on).
#pragma once

#include <cstdint>
#include <map>
#include <unordered_set>
#include <string>
#include <vector>

#include "common/image.h"
#include "world/metadata.h"
#include "world/scene.h"
#include "world/negatives.h"

namespace unigap {

struct PretrainExample {
  Image image;
  Scene scene;
  Metadata prompt;          // what the image shows
  Metadata negative;        // a prompt that is false for the image
  bool hard_negative = false;
};

class PretrainData {
 public:
  // tag_weights: relative weight of each tag in the batches (empty = every tag alike).
  PretrainData(const WorldSpec& spec, uint64_t seed, double hard_negative_share,
               const std::map<std::string, double>& tag_weights = {});
  // `n` examples for training step `step` (deterministic).
  std::vector<PretrainExample> batch(int64_t step, int n, const std::string& stream = "pretrain") const;
  const std::vector<Metadata>& train_prompts() const { return train_; }

 private:
  WorldSpec spec_;
  uint64_t seed_;
  double hard_share_;
  std::vector<double> tag_cdf_;  // cumulative tag weights over kTags, normalised; empty = uniform
  std::vector<Metadata> train_;
  std::map<std::string, std::vector<const Metadata*>> by_tag_;  // train prompts per tag
  std::unordered_set<std::string> train_texts_;                 // allowed negative texts
};

}  // namespace unigap
