// The shapes-world unified model behind the UnifiedMultimodal interface: the torch
// module, its text tokenizer, its config and the world it was trained on.
// Checkpoints are a folder: model.safetensors (every tensor) + config.json
// (model config, world spec, provenance).
#pragma once

#include <memory>

#include "model/multimodal.h"
#include "model/text_tokenizer.h"
#include "model/unified.h"
#include "world/spec.h"

namespace unigap {

class ShapesModel : public UnifiedMultimodal {
 public:
  ShapesModel(const ModelConfig& cfg, const WorldSpec& world, uint64_t init_seed);
  // Loads a checkpoint folder; the architecture is forced from its config.json.
  static std::unique_ptr<ShapesModel> load(const std::string& dir);
  // Writes model.safetensors and config.json atomically (extra goes into config.json).
  void save(const std::string& dir, const json& extra = json::object());

  std::string name() const override { return "shapes-unified-" + cfg_.preset; }
  int image_tokens() const override { return cfg_.image_tokens(); }
  int codebook_size() const override { return cfg_.vq_codes; }
  std::vector<GeneratedSample> generate(const std::vector<GenerationRequest>& requests,
                                        const SampleOptions& opt) override;
  std::vector<double> judge(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                            int batch = 128) override;
  torch::Tensor image_logprob(const std::vector<std::string>& prompts, const torch::Tensor& codes) override;
  torch::Tensor judge_logprob_yes(const std::vector<Image>& images, const std::vector<std::string>& prompts) override;
  torch::Tensor encode_images(const std::vector<Image>& images) override;
  std::map<std::string, std::vector<torch::Tensor>> parameter_groups() override { return net_->parameter_groups(); }
  void train_only(const std::vector<std::string>& groups) override { net_->train_only(groups); }
  void set_training(bool on) override { net_->train(on); }

  // Tensor helpers.
  torch::Tensor prompt_ids(const std::vector<std::string>& prompts) const;  // (B, T) left-padded
  torch::Tensor images_to_tensor(const std::vector<Image>& images) const;   // (B, 3, H, W) in [0, 1]
  std::vector<Image> tensor_to_images(const torch::Tensor& x) const;        // (B, 3, H, W) -> 8-bit
  std::vector<Image> decode_codes(const torch::Tensor& codes);              // (B, N) -> images

  UnifiedModelImpl& net() { return *net_; }
  UnifiedModel module() { return net_; }
  const ModelConfig& config() const { return cfg_; }
  const WorldSpec& world() const { return world_; }
  const TextTokenizer& tokenizer() const { return tok_; }

 private:
  // One process's part of generate / judge; the public ones shard these across the
  // ranks of a data-parallel run (dist/dist.h) and gather the results in order.
  std::vector<GeneratedSample> generate_local(const std::vector<GenerationRequest>& requests, const SampleOptions& opt);
  std::vector<double> judge_local(const std::vector<Image>& images, const std::vector<std::string>& prompts, int batch);
  ModelConfig cfg_;
  WorldSpec world_;
  TextTokenizer tok_;
  UnifiedModel net_{nullptr};
};

}  // namespace unigap
