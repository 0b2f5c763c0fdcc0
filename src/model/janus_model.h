// The Janus-Pro backend: an official deepseek-ai/Janus-Pro-1B or -7B folder read as it is
// downloaded (config.json with model_type "multi_modality", tokenizer.json and the processor
// files, bf16 weights in pytorch_model.bin, its shards with an index, or safetensors with the
// same key names), behind the UnifiedMultimodal interface. Computes in float32 on the CPU by
// default; --device cuda and --dtype bf16 move the same code to a GPU and to bfloat16.
//
//   understanding  the official chat template with the system prompt, the image expanded to
//                  <begin_of_image> + N x <image_placeholder> + <end_of_image>, SigLIP -> aligner
//                  rows in place of the placeholders, the LLaMA backbone; the judge's question is
//                  kJudgeQuestion and its score P(yes) / (P(yes) + P(no)) over the answer's first
//                  token (yes / no: the first tokens of " Yes", "Yes", " yes", "yes" and likewise)
//   generation     "<|User|>: {prompt}\n\n<|Assistant|>:<begin_of_image>" with BOS; guidance rows
//                  with everything between BOS and <begin_of_image> set to the pad token; each code
//                  fed back as gen_aligner(gen_embed(code)); the VQ-16 decoder; uint8 by truncation
// Parameter groups: llm, siglip, aligner, gen_embed, gen_aligner, gen_head, vq (default: llm);
// with a LoRA adapter (model/lora.h; on the LLaMA blocks' linear layers by default) the group
// "lora" alone, and save() writes the adapter in PEFT's format (janus_adapter.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/rng.h"
#include "model/janus_config.h"
#include "model/multimodal.h"
#include "model/registry.h"

namespace unigap {

class HfTokenizer;
struct JanusImageConfig;
struct LoraDelta;
struct LoraOptions;
namespace janus {
struct Net;
struct LinearImpl;
struct KvCache;
}

// The question the judge asks; {prompt} is replaced by the prompt.
extern const char* const kJudgeQuestion;

class JanusModel : public UnifiedMultimodal {
 public:
  ~JanusModel() override;
  // Reads an official folder; a missing file, tensor or field is a UserError naming it. The
  // weights go to opt's device and dtype one tensor at a time (no second copy of the model).
  static std::unique_ptr<JanusModel> load(const std::string& dir, const ModelOptions& opt = {});

  std::string name() const override;
  int image_size() const override;
  int image_tokens() const override;
  int codebook_size() const override;
  std::vector<GeneratedSample> generate(const std::vector<GenerationRequest>& requests, const SampleOptions& opt) override;
  std::vector<Image> decode_codes(const torch::Tensor& codes) override;
  torch::Tensor image_token_logprobs(const std::vector<std::string>& prompts, const torch::Tensor& codes,
                                     const std::vector<bool>& unconditional = {}) override;
  std::map<std::string, std::vector<torch::Tensor>> parameter_groups() override;
  std::vector<std::string> default_train_groups() const override;
  void train_only(const std::vector<std::string>& groups) override;
  std::vector<torch::Tensor> trainable_parameters() override;
  torch::OrderedDict<std::string, torch::Tensor> named_parameters() override;
  void set_training(bool on) override;
  void save(const std::string& dir, const json& extra = json::object()) override;
  void load_weights(const std::string& dir) override;
  bool judges_any_size() const override { return true; }
  void add_lora(const LoraOptions& o, uint64_t seed) override;
  void load_adapter(const std::string& dir) override;
  bool has_adapter() const override { return !lora_.empty(); }
  void merge_adapter() override;
  void set_adapter_enabled(bool on) override;
  void set_gradient_checkpointing(bool on) override;

  // One batch of the CFG loop, as generate runs it (exposed for the benchmark): the rows
  // prefilled through the KV cache, then each step() draws one code per prompt and feeds it
  // back. The prompts must have one token length (generate groups them so).
  class CodeSampler {
   public:
    CodeSampler(JanusModel& m, const std::vector<GenerationRequest>& requests, const SampleOptions& opt);
    ~CodeSampler();
    void step();
    bool done() const { return t_ == N_; }
    const torch::Tensor& codes() const { return codes_; }  // (B, image_tokens), drawn up to step()s taken

   private:
    JanusModel& m_;
    SampleOptions opt_;
    bool guided_;
    int64_t B_, N_, t_ = 0;
    std::vector<Rng> rngs_;
    std::unique_ptr<janus::KvCache> cache_;
    torch::Tensor h_, codes_;
  };

  // ---- the pieces, for tests and tools ----
  const JanusDims& dims() const { return dims_; }
  janus::Net& net() { return *net_; }
  const HfTokenizer& tokenizer() const { return *tok_; }
  // BOS + the generation template + <begin_of_image>; the unconditional row has the pad
  // token everywhere between BOS and <begin_of_image>.
  std::vector<int64_t> generation_ids(const std::string& prompt, bool unconditional) const;
  // BOS + the understanding template with the image expanded to its placeholder tokens.
  std::vector<int64_t> understanding_ids(const std::string& question) const;
  // The vision tower's input for an image: (3, S, S) after the official preprocessing.
  torch::Tensor pixel_values(const Image& image) const;
  // The LLM's input embeddings for one understanding sequence: token embeddings with the
  // placeholder rows replaced by aligner(siglip(pixels)); ids (T), pixels (3, S, S) -> (T, H).
  torch::Tensor understanding_embeds(const std::vector<int64_t>& ids, const torch::Tensor& pixels);

 protected:
  std::vector<double> judge_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts, int batch) override;
  torch::Tensor judge_answer_logprobs_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts) override;
  torch::Tensor encode_images_sized(const std::vector<Image>& images) override;

 private:
  JanusModel() = default;
  torch::Tensor answer_logprobs(const std::vector<Image>& images, const std::vector<std::string>& prompts);  // (B, V)
  torch::Tensor on_device(const torch::Tensor& t) const { return t.to(opt_.device); }
  size_t batch_that_fits(size_t want, double bytes_per_row, const char* what) const;
  // ---- the adapter (janus_adapter.cpp) ----
  struct AdapterTarget {
    std::string module;  // the official module path, e.g. language_model.model.layers.0.self_attn.q_proj
    janus::LinearImpl* layer;  // in net_
    std::shared_ptr<LoraDelta> delta;
  };
  void detach_lora();
  void save_adapter(const std::string& dir, const json& extra) const;
  void read_adapter_weights(const std::string& path);
  std::vector<AdapterTarget> lora_;
  std::unique_ptr<LoraOptions> lora_opt_;
  mutable bool batch_note_said_ = false;
  std::string dir_;
  ModelOptions opt_;
  json config_;
  JanusDims dims_;
  std::shared_ptr<janus::Net> net_;
  std::unique_ptr<HfTokenizer> tok_;
  std::unique_ptr<JanusImageConfig> image_cfg_;
  int64_t bos_ = 0, pad_ = 0, image_start_ = 0, image_end_ = 0, image_tag_ = 0;
  std::vector<int64_t> yes_ids_, no_ids_;
};

// The registry entry: folders whose config.json says model_type "multi_modality".
Backend janus_backend();

}  // namespace unigap
