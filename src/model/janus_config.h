// The dimensions of an official Janus-Pro checkpoint, resolved the way the official code
// resolves them (deepseek-ai/Janus @ 1daa72f): config.json's sub-configs, transformers'
// LlamaConfig defaults for what `language_config` omits (the 7B file gives only the layer
// count and vocabulary), the SigLIP table for the vision tower's heads, and the VQ model's
// structure from its tensor shapes (the official code builds `VQ_16()` without arguments,
// so config.json does not describe it). Every size a tensor shape also gives is checked
// against that shape before a weight is read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/jsonl.h"

namespace unigap {

struct LlamaDims {
  int64_t vocab = 102400, hidden = 4096, intermediate = 11008, layers = 32, heads = 32, kv_heads = 32, head_dim = 128;
  double rms_eps = 1e-6, rope_theta = 10000;
};

struct SiglipDims {
  std::string name;              // SigLIP_MODEL_CONFIG key, e.g. siglip_large_patch16_384
  int64_t image_size = 384, patch = 16, width = 1024, layers = 24, heads = 16, mlp_hidden = 4096;
  int64_t depth = 24;            // blocks used: select_layer -1 keeps them all
  int64_t tokens() const { return (image_size / patch) * (image_size / patch); }
};

struct ProjectorDims {  // MlpProjector "mlp_gelu", depth 2: Linear(in, n) -> GELU -> Linear(n, n)
  int64_t input_dim = 0, n_embed = 0;
};

struct VqDims {  // LlamaGen VQ-16
  int64_t codebook_size = 16384, codebook_dim = 8, z_channels = 256, ch = 128;
  std::vector<int64_t> ch_mult = {1, 1, 2, 2, 4};
  int64_t encoder_res_blocks = 2, decoder_res_blocks = 3;
  int64_t downsample() const { return int64_t(1) << (ch_mult.size() - 1); }
};

struct JanusDims {
  LlamaDims llm;
  SiglipDims siglip;
  ProjectorDims aligner, gen_aligner;
  int64_t gen_head_embed = 0;  // gen_head: Linear(n_embed, image_token_embed) -> GELU -> Linear(., image_token_size)
  int64_t gen_embed_dim = 8;   // gen_embed: (image_token_size, n_embed)
  VqDims vq;
  int64_t image_size = 384;    // generated images: the official generate() uses 384, the tower's size
  int64_t image_tokens() const { return (image_size / vq.downsample()) * (image_size / vq.downsample()); }
  int64_t und_tokens = 576;    // processor_config num_image_tokens (the tower's token count)
};

// Resolves the dimensions from config.json (`origin` names it in errors) and the checkpoint's
// tensor shapes (name -> shape, every tensor of the checkpoint). A UserError names the field
// or tensor that is missing or disagrees.
JanusDims resolve_janus_dims(const json& config, const std::map<std::string, std::vector<int64_t>>& shapes,
                             const std::string& origin);

// The vision towers the official table knows (plus the fixtures' tiny one), by name.
const std::map<std::string, SiglipDims>& siglip_table();

}  // namespace unigap
