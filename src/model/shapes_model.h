// The shapes-world backend: unigap's own small unified model (model/unified.h) behind the
// UnifiedMultimodal interface, with its text tokenizer, its config and the world it was
// trained in. Checkpoints are a folder: model.safetensors (every tensor, F32) + config.json
// ("format": "unigap-shapes-unified-v1", the model config, the world spec, provenance).
// Folders written before the format tag recognised by their "model" and "world" sections.
#pragma once

#include <memory>

#include "model/multimodal.h"
#include "model/registry.h"
#include "model/text_tokenizer.h"
#include "model/unified.h"
#include "world/spec.h"

namespace unigap {

class ShapesModel : public UnifiedMultimodal {
 public:
  static constexpr const char* kFormat = "unigap-shapes-unified-v1";

  ShapesModel(const ModelConfig& cfg, const WorldSpec& world, uint64_t init_seed);
  // Loads a checkpoint folder; the architecture is forced from its config.json.
  static std::unique_ptr<ShapesModel> load(const std::string& dir);

  std::string name() const override { return "shapes-unified-" + cfg_.preset; }
  int image_size() const override { return cfg_.image_size; }
  int image_tokens() const override { return cfg_.image_tokens(); }
  int codebook_size() const override { return cfg_.vq_codes; }
  const WorldSpec* world() const override { return &world_; }
  std::vector<GeneratedSample> generate(const std::vector<GenerationRequest>& requests,
                                        const SampleOptions& opt) override;
  std::vector<Image> decode_codes(const torch::Tensor& codes) override;  // (B, N) -> images
  torch::Tensor image_token_logprobs(const std::vector<std::string>& prompts, const torch::Tensor& codes,
                                     const std::vector<bool>& unconditional = {}) override;
  std::map<std::string, std::vector<torch::Tensor>> parameter_groups() override { return net_->parameter_groups(); }
  std::vector<std::string> default_train_groups() const override { return {"backbone"}; }
  void train_only(const std::vector<std::string>& groups) override;
  std::vector<torch::Tensor> trainable_parameters() override { return net_->trainable_parameters(); }
  torch::OrderedDict<std::string, torch::Tensor> named_parameters() override { return net_->named_parameters(); }
  void set_training(bool on) override { net_->train(on); }
  void save(const std::string& dir, const json& extra = json::object()) override;
  void load_weights(const std::string& dir) override;

  // Tensor helpers (pretraining and tests).
  torch::Tensor prompt_ids(const std::vector<std::string>& prompts) const;  // (B, T) left-padded
  torch::Tensor images_to_tensor(const std::vector<Image>& images) const;   // (B, 3, H, W) in [0, 1]
  std::vector<Image> tensor_to_images(const torch::Tensor& x) const;        // (B, 3, H, W) -> 8-bit

  UnifiedModelImpl& net() { return *net_; }
  UnifiedModel module() { return net_; }
  const ModelConfig& config() const { return cfg_; }
  const TextTokenizer& tokenizer() const { return tok_; }

 protected:
  std::vector<double> judge_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                                  int batch) override;
  torch::Tensor judge_answer_logprobs_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts) override;
  torch::Tensor encode_images_sized(const std::vector<Image>& images) override;

 private:
  torch::Tensor und_answer(const std::vector<Image>& images, const std::vector<std::string>& prompts);  // (B, V)
  ModelConfig cfg_;
  WorldSpec world_;
  TextTokenizer tok_;
  UnifiedModel net_{nullptr};
};

// The registry entry of this backend (model/registry.cpp).
Backend shapes_backend();

}  // namespace unigap
