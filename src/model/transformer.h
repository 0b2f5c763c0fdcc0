// The shared LLaMA-style decoder: RMSNorm, rotary position embedding (RoPE), causal
// multi-head attention with a preallocated KV cache, SwiGLU feed-forward.
// Shapes: B batch, T new tokens, L cached length, H heads, hd head dim, d model dim.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/config.h"

namespace unigap {

struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // x * rsqrt(mean(x^2) + eps) * weight
  torch::Tensor weight;                           // (d)
  double eps;
};
TORCH_MODULE(RMSNorm);

// cos/sin tables for positions [0, max_len): (max_len, hd), halves duplicated as in LLaMA.
struct Rope {
  torch::Tensor cos, sin;
  Rope() = default;
  Rope(int64_t max_len, int64_t head_dim, double theta);
};
// Rotates x (B, H, T, hd) for absolute positions [pos0, pos0 + T): x*cos + rotate_half(x)*sin.
torch::Tensor apply_rope(const torch::Tensor& x, const Rope& rope, int64_t pos0);

// Keys and values of every layer for a batch, preallocated to max_len (no per-token concat).
struct KVCache {
  std::vector<torch::Tensor> k, v;  // per layer: (B, H, max_len, hd)
  int64_t len = 0;                   // tokens already cached
  KVCache(int64_t layers, int64_t batch, int64_t heads, int64_t max_len, int64_t head_dim,
          torch::TensorOptions opt = torch::kFloat32);
  int64_t batch() const { return k.empty() ? 0 : k[0].size(0); }
};

struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int64_t d, int64_t heads);
  // x: (B, T, d). With a cache, keys/values are written at [cache.len, cache.len + T).
  torch::Tensor forward(const torch::Tensor& x, const Rope& rope, int64_t pos0, KVCache* cache, int layer);
  torch::nn::Linear qkv{nullptr}, out{nullptr};  // (3d, d), (d, d); fused q/k/v projection
  int64_t heads, head_dim;
};
TORCH_MODULE(Attention);

struct SwiGLUImpl : torch::nn::Module {
  SwiGLUImpl(int64_t d, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);  // down(silu(gate(x)) * up(x)), gate/up fused
  torch::nn::Linear gate_up{nullptr}, down{nullptr};  // (2h, d), (d, h)
  int64_t hidden;
};
TORCH_MODULE(SwiGLU);

struct BlockImpl : torch::nn::Module {
  BlockImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const Rope& rope, int64_t pos0, KVCache* cache, int layer);
  RMSNorm attn_norm{nullptr}, mlp_norm{nullptr};
  Attention attn{nullptr};
  SwiGLU mlp{nullptr};
};
TORCH_MODULE(Block);

struct TransformerImpl : torch::nn::Module {
  TransformerImpl(const ModelConfig& c, int64_t max_len);
  // x: (B, T, d) embeddings of tokens at positions [pos0, pos0 + T). Returns normed hidden states.
  torch::Tensor forward(const torch::Tensor& x, int64_t pos0 = 0, KVCache* cache = nullptr);
  torch::nn::ModuleList layers;
  RMSNorm norm{nullptr};
  Rope rope;
  int64_t max_len;
};
TORCH_MODULE(Transformer);

}  // namespace unigap
