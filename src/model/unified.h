// The small unified model, designed like Janus-Pro: one LLaMA-style decoder shared
// by both branches.
//   generation:    [<bos> prompt(T) <boi>] + gen_aligner(gen_embed(codes)) -> gen_head -> next code
//   understanding: [<boi>] + und_aligner(und_encoder(pixels)) + [<eoi> "does this image describe"
//                  prompt(T) "?"] -> text_head -> "yes"/"no" (and the caption, when training)
// With und_input = "vq", understanding reads the VQ codes through gen_embed + gen_aligner
// instead (Show-o / VILA-U style: one visual input path for both branches).
// Module names are the checkpoint's tensor names.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/transformer.h"
#include "model/vq.h"

namespace unigap {

// Named parameter groups that training can freeze or train.
extern const std::vector<std::string> kParamGroups;  // backbone, gen_aligner, gen_head, und_encoder, vq
std::string param_group_of(const std::string& param_name);

struct UnifiedModelImpl : torch::nn::Module {
  UnifiedModelImpl(const ModelConfig& c, int64_t text_vocab);

  // Generation logits for every image token given the prompt slot: prompt (B, T) int64
  // (already padded; all <pad> = unconditional), codes (B, N). Returns (B, N, K).
  torch::Tensor gen_logits(const torch::Tensor& prompt, const torch::Tensor& codes);
  // Understanding: visual tokens (B, N, d) from image_tokens(), prompt (B, T).
  // image_first (Janus's order): [<boi> visual <eoi> "does this image describe" prompt "?"];
  //   the caption logits (B, T, V) predict the prompt's tokens from the image.
  // prompt_first: ["does this image describe" prompt <boi> visual <eoi> "?"]; the image
  //   tokens see the question (no caption logits: the prompt comes before the image).
  // answer (B, V) is always the next-token distribution after "?".
  struct UndOutput {
    torch::Tensor answer, caption;
    torch::Tensor visual_hidden;  // (B, N, d): the backbone's output at the visual positions
  };
  UndOutput und_forward(const torch::Tensor& visual, const torch::Tensor& prompt);
  // Visual tokens for understanding: from pixels (B, 3, H, W) in [0, 1], or from
  // codes (B, N) when und_input == "vq" (then `pixels` may be undefined).
  torch::Tensor image_tokens(const torch::Tensor& pixels, const torch::Tensor& codes);
  torch::Tensor embed_codes(const torch::Tensor& codes);  // (B, n) -> (B, n, d)
  torch::Tensor embed_text(const torch::Tensor& ids) { return text_embed->forward(ids); }

  // Sequence layout.
  int64_t gen_prefix_len() const { return cfg.text_len + 2; }  // <bos> prompt <boi>
  int64_t max_len() const;
  int64_t und_len() const { return 1 + cfg.und_tokens() + cfg.text_len + 6; }

  std::map<std::string, std::vector<torch::Tensor>> parameter_groups();
  // Sets requires_grad on every parameter: true only for the named groups.
  void train_only(const std::vector<std::string>& groups);
  // The parameters train_only left trainable (requires_grad), in module order.
  std::vector<torch::Tensor> trainable_parameters();

  ModelConfig cfg;
  int64_t text_vocab;
  // Special token ids used to build sequences (from the text tokenizer).
  int64_t tok_pad = 0, tok_bos = 1, tok_boi = 2, tok_eoi = 3, tok_qmark = 6;
  std::vector<int64_t> stem_ids;

  torch::nn::Embedding text_embed{nullptr};   // (V, d)
  Transformer backbone{nullptr};
  torch::nn::Linear text_head{nullptr};        // (V, d)
  torch::nn::Embedding gen_embed{nullptr};     // (K, e)
  torch::nn::Sequential gen_aligner{nullptr};  // e -> d -> d
  torch::nn::Sequential gen_head{nullptr};     // d -> d -> K
  torch::nn::Sequential und_encoder{nullptr};  // pixels -> (B, C, g, g)
  torch::nn::Sequential und_aligner{nullptr};  // C -> d -> d
  VQTokenizer vq{nullptr};
};
TORCH_MODULE(UnifiedModel);

}  // namespace unigap
