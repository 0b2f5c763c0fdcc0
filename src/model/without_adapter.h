// The base of a model with a LoRA adapter, without a copy of it: every call runs the wrapped
// model with its adapter switched off, then switches it on again. What TRL does with a PEFT
// model's DPO reference; unigap's improve uses it for the reference (DPO) and the base of the
// held-out win rate when it trains a fresh adapter, which saves a second copy of the weights
// (8 GB for Janus-Pro-1B in float32). Nothing trains or saves through the view.
#pragma once

#include "model/multimodal.h"

namespace unigap {

class WithoutAdapter : public UnifiedMultimodal {
 public:
  explicit WithoutAdapter(UnifiedMultimodal& inner) : m_(inner) {}

  std::string name() const override { return m_.name() + " (adapter off)"; }
  int image_size() const override { return m_.image_size(); }
  int image_tokens() const override { return m_.image_tokens(); }
  int codebook_size() const override { return m_.codebook_size(); }
  const WorldSpec* world() const override { return m_.world(); }
  bool judges_any_size() const override { return m_.judges_any_size(); }
  std::vector<GeneratedSample> generate(const std::vector<GenerationRequest>& requests, const SampleOptions& opt) override {
    Off off(m_);
    return m_.generate(requests, opt);
  }
  std::vector<Image> decode_codes(const torch::Tensor& codes) override { return m_.decode_codes(codes); }
  torch::Tensor image_token_logprobs(const std::vector<std::string>& prompts, const torch::Tensor& codes,
                                     const std::vector<bool>& unconditional = {}) override {
    Off off(m_);
    return m_.image_token_logprobs(prompts, codes, unconditional);
  }
  std::map<std::string, std::vector<torch::Tensor>> parameter_groups() override { return {}; }
  std::vector<std::string> default_train_groups() const override { return {}; }
  void train_only(const std::vector<std::string>&) override { refuse("trains"); }
  std::vector<torch::Tensor> trainable_parameters() override { return {}; }
  torch::OrderedDict<std::string, torch::Tensor> named_parameters() override { return m_.named_parameters(); }
  void set_training(bool) override {}  // the view only evaluates; the wrapped model's mode is its trainer's
  void save(const std::string&, const json& = json::object()) override { refuse("is saved"); }
  void load_weights(const std::string&) override { refuse("loads weights"); }

 protected:
  std::vector<double> judge_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts, int batch) override {
    Off off(m_);
    return m_.judge_sized(images, prompts, batch);
  }
  torch::Tensor judge_answer_logprobs_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts) override {
    Off off(m_);
    return m_.judge_answer_logprobs_sized(images, prompts);
  }
  torch::Tensor encode_images_sized(const std::vector<Image>& images) override { return m_.encode_images_sized(images); }

 private:
  struct Off {  // the adapter off for one call, on again however the call ends
    UnifiedMultimodal& m;
    explicit Off(UnifiedMultimodal& model) : m(model) { m.set_adapter_enabled(false); }
    ~Off() { m.set_adapter_enabled(true); }
  };
  [[noreturn]] void refuse(const char* what) const;
  UnifiedMultimodal& m_;
};

}  // namespace unigap
