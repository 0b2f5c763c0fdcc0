// Janus-Pro's networks in libtorch, with the official state-dict names (the module paths are
// the checkpoint's keys) and the official numerics (deepseek-ai/Janus @ 1daa72f, timm 1.0.14,
// transformers' LlamaForCausalLM):
//   SiglipTower     vision_model.vision_tower.*: patch conv, pos_embed, pre-LN blocks
//                   (LayerNorm eps 1e-6, exact GELU, no class token), final norm
//   MlpProjector    aligner.* / gen_aligner.*: Linear -> GELU(erf) -> Linear ("layers.0", "layers.2")
//   GenHead         gen_head.*: output_mlp_projector -> GELU -> vision_head
//   Llama           language_model.*: RMSNorm (float32), rotate_half RoPE, SwiGLU, untied lm_head,
//                   causal attention with a KV cache; GQA repeats the KV heads
//   VqModel         gen_vision_model.*: LlamaGen VQ-16 (GroupNorm(32, 1e-6), swish, single-head
//                   attention at the lowest resolution, nearest 2x upsampling), L2-normalised codebook
// Parameters are created empty (the loader fills them), so that building a 7B model allocates
// its weights once and initialises nothing.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <vector>

#include "model/janus_config.h"
#include "model/lora.h"

namespace unigap::janus {

// ---- building blocks ----
struct LinearImpl : torch::nn::Module {
  LinearImpl(int64_t in, int64_t out, bool bias);
  // Decoding's few rows (CPU float32, inference) through few_rows_linear, else F::linear; plus
  // the LoRA update when the layer has one.
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // (out, in), (out) or undefined
  // The adapter's update (JanusModel::add_lora); its tensors are not registered parameters,
  // so the official state dict stays the official one.
  std::shared_ptr<LoraDelta> lora;
};
TORCH_MODULE(Linear);

struct ConvImpl : torch::nn::Module {
  ConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0);
  torch::Tensor forward(const torch::Tensor& x) { return torch::conv2d(x, weight, bias, stride, padding); }
  torch::Tensor weight, bias;  // (out, in, k, k), (out)
  int64_t stride, padding;
};
TORCH_MODULE(Conv);

struct NormImpl : torch::nn::Module {  // LayerNorm (groups 0) or GroupNorm, with weight and bias
  NormImpl(int64_t channels, double eps, int64_t groups = 0);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  double eps;
  int64_t groups;
};
TORCH_MODULE(Norm);

// ---- understanding ----
struct SiglipBlockImpl : torch::nn::Module {
  SiglipBlockImpl(const SiglipDims& d);
  torch::Tensor forward(const torch::Tensor& x);  // (B, N, D)
  Norm norm1{nullptr}, norm2{nullptr};
  Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  int64_t heads;
};
TORCH_MODULE(SiglipBlock);

struct SiglipTowerImpl : torch::nn::Module {
  SiglipTowerImpl(const SiglipDims& d);
  torch::Tensor forward(const torch::Tensor& pixels);  // (B, 3, S, S) in [-1, 1] -> (B, tokens, width)
  Conv patch{nullptr};
  torch::Tensor pos_embed;  // (1, tokens, width)
  torch::nn::ModuleList blocks;
  Norm norm{nullptr};
};
TORCH_MODULE(SiglipTower);

struct MlpProjectorImpl : torch::nn::Module {
  MlpProjectorImpl(const ProjectorDims& d);
  torch::Tensor forward(const torch::Tensor& x);
  Linear fc0{nullptr}, fc2{nullptr};  // "layers.0", "layers.2"
};
TORCH_MODULE(MlpProjector);

struct GenHeadImpl : torch::nn::Module {
  GenHeadImpl(int64_t n_embed, int64_t token_embed, int64_t codes);
  torch::Tensor forward(const torch::Tensor& h) { return vision_head->forward(torch::gelu(output_mlp_projector->forward(h))); }
  Linear output_mlp_projector{nullptr}, vision_head{nullptr};
};
TORCH_MODULE(GenHead);

// ---- the language model ----
// Keys and values of every layer, preallocated for `capacity` positions when that is known
// (generation), else grown by concatenation.
struct KvCache {
  std::vector<torch::Tensor> k, v;  // per layer (B, kv_heads, capacity or len, head_dim)
  int64_t len = 0, capacity = 0;
  // Stores the new keys/values of `layer` at [len, len + T) and returns all of them, (B, kvh, len + T, hd).
  std::pair<torch::Tensor, torch::Tensor> append(size_t layer, const torch::Tensor& k_new, const torch::Tensor& v_new);
};

struct LlamaLayerImpl : torch::nn::Module {
  LlamaLayerImpl(const LlamaDims& d);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, KvCache* cache, size_t layer);
  torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) const;
  bool force_eager_attention = false;  // tests: libtorch's matmul path on the CPU too
  Norm input_layernorm{nullptr}, post_attention_layernorm{nullptr};  // RMSNorm: weight only
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr}, gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  LlamaDims d;
};
TORCH_MODULE(LlamaLayer);

struct LlamaImpl : torch::nn::Module {
  LlamaImpl(const LlamaDims& d);
  // Embeddings (B, T, H) of positions [cache->len, cache->len + T) (0 without a cache) ->
  // the final-normed hidden states (B, T, H); the cache grows by T.
  // With checkpoint_layers, training forwards (grad mode, no cache) keep only each block's
  // input and recompute the block in the backward pass (the RNG state of its dropout included).
  torch::Tensor forward(const torch::Tensor& embeds, KvCache* cache = nullptr);
  torch::Tensor embed(const torch::Tensor& ids) { return torch::embedding(embed_tokens, ids); }
  torch::Tensor logits(const torch::Tensor& hidden) { return torch::nn::functional::linear(hidden, lm_head); }
  torch::Tensor embed_tokens, lm_head;  // (V, H) each: "model.embed_tokens.weight", "lm_head.weight"
  torch::nn::ModuleList layers;
  Norm norm{nullptr};
  LlamaDims d;
  bool checkpoint_layers = false;
};
TORCH_MODULE(Llama);

// ---- the VQ tokenizer ----
struct ResBlockImpl : torch::nn::Module {
  ResBlockImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  Norm norm1{nullptr}, norm2{nullptr};
  Conv conv1{nullptr}, conv2{nullptr}, nin_shortcut{nullptr};  // nin_shortcut when in != out
};
TORCH_MODULE(ResBlock);

struct AttnBlockImpl : torch::nn::Module {
  explicit AttnBlockImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);  // single-head attention over the h*w positions
  Norm norm{nullptr};
  Conv q{nullptr}, k{nullptr}, v{nullptr}, proj_out{nullptr};
};
TORCH_MODULE(AttnBlock);

// One resolution of the encoder or decoder: "res.N", "attn.N" (lowest resolution only) and a
// "downsample.conv" / "upsample.conv".
struct VqLevelImpl : torch::nn::Module {
  VqLevelImpl(int64_t in, int64_t out, int64_t blocks, bool attention, const char* resample);
  torch::Tensor forward(torch::Tensor h);
  std::vector<ResBlock> res;
  std::vector<AttnBlock> attn;
  Conv resample{nullptr};  // undefined at the last level
  bool down = false;
};
TORCH_MODULE(VqLevel);

struct VqCoderImpl : torch::nn::Module {  // the encoder (down) or the decoder (up)
  VqCoderImpl(const VqDims& d, bool encoder);
  torch::Tensor forward(const torch::Tensor& x);
  Conv conv_in{nullptr}, conv_out{nullptr};
  std::vector<VqLevel> levels;
  ResBlock mid0{nullptr}, mid2{nullptr};
  AttnBlock mid1{nullptr};
  Norm norm_out{nullptr};
  bool encoder;
};
TORCH_MODULE(VqCoder);

struct VqModelImpl : torch::nn::Module {
  VqModelImpl(const VqDims& d);
  torch::Tensor decode_codes(const torch::Tensor& codes, int64_t grid);      // (B, grid*grid) -> (B, 3, S, S), about [-1, 1]
  torch::Tensor encode(const torch::Tensor& pixels);                          // (B, 3, S, S) in [-1, 1] -> codes (B, g*g)
  torch::Tensor quantizer_input(const torch::Tensor& pixels);                 // quant_conv(encoder(x)): (B, dim, g, g)
  torch::Tensor distances(const torch::Tensor& z);                            // (B*g*g, K), both sides L2-normalised
  torch::Tensor codebook_entries(const torch::Tensor& codes, int64_t grid);  // (B, dim, g, g), normalised rows
  VqCoder encoder{nullptr}, decoder{nullptr};
  Conv quant_conv{nullptr}, post_quant_conv{nullptr};
  torch::Tensor codebook;  // quantize.embedding.weight (K, dim)
  VqDims d;
};
TORCH_MODULE(VqModel);

// The whole model, its modules at the official state-dict paths.
struct Net : torch::nn::Module {
  explicit Net(const JanusDims& d);
  SiglipTower tower{nullptr};            // vision_model.vision_tower
  MlpProjector aligner{nullptr};         // aligner
  VqModel vq{nullptr};                   // gen_vision_model
  MlpProjector gen_aligner{nullptr};     // gen_aligner
  GenHead gen_head{nullptr};             // gen_head
  torch::Tensor gen_embed;               // gen_embed.weight (codes, 8)
  Llama llm{nullptr};                    // language_model
  // gen_aligner(gen_embed(codes)): the LLM input of image codes (B, n) -> (B, n, H).
  torch::Tensor code_embeds(const torch::Tensor& codes) { return gen_aligner->forward(torch::embedding(gen_embed, codes)); }
};

// The official keys that the model does not use and a loader accepts without a module:
// the SigLIP attention-pool head (never run: ignore_head) and the VQ's codebook_used buffer.
bool unused_official_key(const std::string& name);

}  // namespace unigap::janus
