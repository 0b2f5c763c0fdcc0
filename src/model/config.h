// The unified model's architecture and its presets. One struct, every field with its
// unit and default; validate() names the wrong field. Saved with every checkpoint and
// forced from it on load (like nanoGPT), so a resumed or evaluated model is the one trained.
#pragma once

#include <string>

#include "io/jsonl.h"

namespace unigap {

struct ModelConfig {
  std::string preset = "small";
  // --- VQ image tokenizer ---
  int image_size = 32;        // pixels (must equal the world's canvas)
  int patch = 4;              // downsampling factor: image tokens = (image_size / patch)^2
  int vq_codes = 512;         // codebook entries
  int vq_dim = 32;            // code vector size
  int vq_channels = 32;       // encoder/decoder width
  // --- shared LLaMA-style decoder ---
  int d_model = 192;
  int n_layers = 4;
  int n_heads = 4;
  int ffn_hidden = 0;         // SwiGLU hidden size; 0 = 8/3 * d_model rounded up to 32
  int text_len = 12;          // fixed prompt slot, tokens (left-padded)
  double rope_theta = 10000;
  double norm_eps = 1e-5;
  // --- branches ---
  std::string und_input = "pixels";  // "pixels": Janus's decoupled encoder; "vq": Show-o/VILA-U style
  std::string und_order = "image_first";  // "image_first" (Janus's chat order) or "prompt_first" (see unified.h)
  int und_channels = 32;      // pixel encoder width
  int und_patch = 8;          // pixel encoder stride: (image_size / und_patch)^2 visual tokens (4 or 8)
  int gen_embed_dim = 64;     // gen_embed vector size before gen_aligner

  int image_tokens() const { return (image_size / patch) * (image_size / patch); }
  int grid() const { return image_size / patch; }
  int und_tokens() const { return und_input == "vq" ? image_tokens() : (image_size / und_patch) * (image_size / und_patch); }
  int ffn() const { return ffn_hidden > 0 ? ffn_hidden : ((d_model * 8 / 3 + 31) / 32) * 32; }
  int head_dim() const { return d_model / n_heads; }

  void validate() const;
  json to_json() const;
  static ModelConfig from_json(const json& j, const std::string& origin);
  static ModelConfig preset_named(const std::string& name);  // "tiny" | "small"
};

}  // namespace unigap
