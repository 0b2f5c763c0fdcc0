// What the rest of unigap knows of a unified multimodal model. Evaluation,
// self-improvement, audit, dynamics, checkpointing and the report talk to this interface
// only; which model is behind it is model/'s business. A backend is one file that
// implements this class and registers how to recognise and load its checkpoint folders
// (model/registry.h). Data parallelism is a wrapper around any backend
// (dist/data_parallel.h), never a backend's concern.
//
// Images cross the interface at any size: judge(), judge_logprob_yes() and
// encode_images() resize them to image_size() first (common/image_resize.h), so a 32x32
// rendered scene can be shown to a 384x384 model and the other way round; a backend whose
// own processor takes any size (judges_any_size) gets the judge's images unchanged.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "common/image.h"
#include "io/jsonl.h"
#include "model/sample_options.h"

namespace unigap {

struct WorldSpec;
struct LoraOptions;

struct GenerationRequest {
  std::string prompt;
  uint64_t seed = 0;  // the sample depends only on (model, prompt, seed, options)
};

struct GeneratedSample {
  std::vector<int64_t> codes;  // image tokens, raster order
  Image image;                 // decoded, image_size() x image_size()
};

// Images from a (B, H, W, 3) uint8 tensor on the CPU: how backends hand decoded pixels over.
std::vector<Image> images_from_hwc(const torch::Tensor& u8);

class UnifiedMultimodal {
 public:
  virtual ~UnifiedMultimodal() = default;

  // ---- what it is ----
  virtual std::string name() const = 0;    // e.g. "shapes-unified-small"
  virtual int image_size() const = 0;      // square images of this many pixels a side
  virtual int image_tokens() const = 0;    // codes per image
  virtual int codebook_size() const = 0;   // image codes are 0 .. codebook_size() - 1
  // The shapes world the model was trained in, when it has one (its prompts, renderer and
  // oracle); nullptr for a model of the open world, which is evaluated on a world given to
  // the command.
  virtual const WorldSpec* world() const { return nullptr; }

  // ---- generation ----
  // One sample per request, in request order.
  virtual std::vector<GeneratedSample> generate(const std::vector<GenerationRequest>& requests,
                                                const SampleOptions& opt) = 0;
  // Codes (B, N) -> images of image_size().
  virtual std::vector<Image> decode_codes(const torch::Tensor& codes) = 0;
  // log pi(x_i | y, x_<i) of each image token, with autograd: codes (B, N) -> (B, N). A row
  // whose `unconditional` entry is true reads the unconditional prompt (the second branch
  // of classifier-free guidance; prompt dropout trains it). Empty: every row conditional.
  virtual torch::Tensor image_token_logprobs(const std::vector<std::string>& prompts, const torch::Tensor& codes,
                                             const std::vector<bool>& unconditional = {}) = 0;
  // log pi(x | y), their sum over the image tokens: (B).
  torch::Tensor image_logprob(const std::vector<std::string>& prompts, const torch::Tensor& codes,
                              const std::vector<bool>& unconditional = {}) {
    return image_token_logprobs(prompts, codes, unconditional).sum(1);
  }

  // ---- understanding, at any image size ----
  // The judge: s = P(yes) / (P(yes) + P(no)) for "does this image describe {prompt}?",
  // one per (image, prompt) pair, in order.
  std::vector<double> judge(const std::vector<Image>& images, const std::vector<std::string>& prompts, int batch = 128);
  // log P(yes | image, prompt), with autograd (learning dynamics): (B).
  torch::Tensor judge_logprob_yes(const std::vector<Image>& images, const std::vector<std::string>& prompts);
  // log P(yes) - log P(no) = logit of the judge's score, with autograd and without the
  // saturation of a score near 0 or 1: (B).
  torch::Tensor judge_log_odds(const std::vector<Image>& images, const std::vector<std::string>& prompts);
  // Image codes of existing images (B, N), for training on images made elsewhere.
  torch::Tensor encode_images(const std::vector<Image>& images);
  // True when the backend's own image processor takes any size (Janus-Pro resizes keeping the
  // aspect ratio and pads): the judge then passes images on unchanged.
  virtual bool judges_any_size() const { return false; }

  // ---- training ----
  // Parameter groups by the names this backend declares (e.g. backbone, gen_head, vq),
  // each with its tensors.
  virtual std::map<std::string, std::vector<torch::Tensor>> parameter_groups() = 0;
  // What self-improvement trains unless told otherwise (the paper: the shared LLM only).
  virtual std::vector<std::string> default_train_groups() const = 0;
  // Sets requires_grad: true for the parameters of the named groups only; a name the
  // backend does not declare is a UserError listing the ones it does.
  virtual void train_only(const std::vector<std::string>& groups) = 0;
  // The parameters train_only left trainable, in a fixed order.
  virtual std::vector<torch::Tensor> trainable_parameters() = 0;
  // Every parameter by its checkpoint name (finite checks name the tensor).
  virtual torch::OrderedDict<std::string, torch::Tensor> named_parameters() = 0;
  virtual void set_training(bool on) = 0;  // dropout and the like; gradients flow either way

  // ---- adapters (LoRA in PEFT's format, model/lora.h) and memory ----
  // Adds fresh LoRA adapters (B = 0: the outputs do not change) to the linear layers o.targets
  // names, seeded; their tensors are the parameter group "lora", then the default train group
  // and the only one (an adapter folder holds nothing else). save() then writes the adapter
  // folder and load_weights() reads one. A backend without adapters throws a UserError.
  virtual void add_lora(const LoraOptions& o, uint64_t seed);
  // Attaches the adapter of a PEFT folder (adapter_config.json + adapter_model.safetensors).
  virtual void load_adapter(const std::string& dir);
  virtual bool has_adapter() const { return false; }
  // Folds the adapter into the weights (W += scale B A) and drops it.
  virtual void merge_adapter();
  // Switches the adapter's update off and on again (the base model without a copy of it:
  // model/without_adapter.h).
  virtual void set_adapter_enabled(bool on);
  // Recomputes each transformer block's activations in the backward pass instead of keeping
  // them (memory for a second forward); the gradients are the same.
  virtual void set_gradient_checkpointing(bool on);

  // ---- checkpoints ----
  // Writes a checkpoint folder that load_model() reads back, atomically file by file
  // (`extra` goes into its config.json); weights only, the optimizer is the trainer's.
  virtual void save(const std::string& dir, const json& extra = json::object()) = 0;
  // Loads the weights of a checkpoint folder of this very architecture (a resumed run).
  virtual void load_weights(const std::string& dir) = 0;

 protected:
  // The judge and the encoder on images already at image_size().
  virtual std::vector<double> judge_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                                          int batch) = 0;
  // (B, 2): log P(yes), log P(no) of the answer, with autograd.
  torch::Tensor judge_answer_logprobs(const std::vector<Image>& images, const std::vector<std::string>& prompts, const char* caller);
  virtual torch::Tensor judge_answer_logprobs_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts) = 0;
  virtual torch::Tensor encode_images_sized(const std::vector<Image>& images) = 0;
  friend class DataParallelModel;  // forwards the sized calls of the model it wraps
  friend class WithoutAdapter;     // likewise
};

}  // namespace unigap
