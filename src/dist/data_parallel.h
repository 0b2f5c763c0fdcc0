// Data parallelism of a model's sampling and judging, for any backend: a wrapper that
// shards generate() and the judge across the ranks of a process group (each rank a
// contiguous share of the rows, dist/dist.h) and all-gathers the results in request
// order, so every rank then holds exactly what one process would have. Samples do not
// depend on sharding (each request carries its own seed). Everything else is forwarded.
#pragma once

#include <memory>

#include "dist/dist.h"
#include "model/multimodal.h"
#include "model/registry.h"

namespace unigap {

class DataParallelModel : public UnifiedMultimodal {
 public:
  DataParallelModel(std::unique_ptr<UnifiedMultimodal> inner, Dist& dist);
  UnifiedMultimodal& inner() { return *inner_; }

  std::string name() const override { return inner_->name(); }
  int image_size() const override { return inner_->image_size(); }
  int image_tokens() const override { return inner_->image_tokens(); }
  int codebook_size() const override { return inner_->codebook_size(); }
  const WorldSpec* world() const override { return inner_->world(); }
  bool judges_any_size() const override { return inner_->judges_any_size(); }
  std::vector<GeneratedSample> generate(const std::vector<GenerationRequest>& requests, const SampleOptions& opt) override;
  std::vector<Image> decode_codes(const torch::Tensor& codes) override { return inner_->decode_codes(codes); }
  torch::Tensor image_token_logprobs(const std::vector<std::string>& prompts, const torch::Tensor& codes,
                                     const std::vector<bool>& unconditional = {}) override {
    return inner_->image_token_logprobs(prompts, codes, unconditional);
  }
  std::map<std::string, std::vector<torch::Tensor>> parameter_groups() override { return inner_->parameter_groups(); }
  std::vector<std::string> default_train_groups() const override { return inner_->default_train_groups(); }
  void train_only(const std::vector<std::string>& groups) override { inner_->train_only(groups); }
  std::vector<torch::Tensor> trainable_parameters() override { return inner_->trainable_parameters(); }
  torch::OrderedDict<std::string, torch::Tensor> named_parameters() override { return inner_->named_parameters(); }
  void set_training(bool on) override { inner_->set_training(on); }
  void add_lora(const LoraOptions& o, uint64_t seed) override { inner_->add_lora(o, seed); }
  void load_adapter(const std::string& dir) override { inner_->load_adapter(dir); }
  bool has_adapter() const override { return inner_->has_adapter(); }
  void merge_adapter() override { inner_->merge_adapter(); }
  void set_adapter_enabled(bool on) override { inner_->set_adapter_enabled(on); }
  void set_gradient_checkpointing(bool on) override { inner_->set_gradient_checkpointing(on); }
  void save(const std::string& dir, const json& extra = json::object()) override { inner_->save(dir, extra); }
  void load_weights(const std::string& dir) override { inner_->load_weights(dir); }

 protected:
  std::vector<double> judge_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts, int batch) override;
  torch::Tensor judge_answer_logprobs_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts) override {
    return inner_->judge_answer_logprobs_sized(images, prompts);
  }
  torch::Tensor encode_images_sized(const std::vector<Image>& images) override { return inner_->encode_images_sized(images); }

 private:
  std::unique_ptr<UnifiedMultimodal> inner_;
  Dist& dist_;
};

// load_model(dir) (model/registry.h), wrapped in a DataParallelModel when `dist` has more
// than one rank. Every command opens its models through this.
std::unique_ptr<UnifiedMultimodal> open_model(const std::string& dir, Dist& dist, const ModelOptions& opt = {});

}  // namespace unigap
