// The VQ image tokenizer: a convolutional encoder (stride 4), a cosine-similarity
// codebook (l2-normalised codes and latents, straight-through gradients, dead codes
// restarted from live latents), and a convolutional decoder. Images are float
// (B, 3, H, W) in [0, 1]; codes are int64 (B, (H/4)*(W/4)) in raster order.
#pragma once

#include <torch/torch.h>

#include "model/config.h"

namespace unigap {

struct VQForward {
  torch::Tensor recon;       // (B, 3, H, W) in [0, 1]
  torch::Tensor codes;       // (B, N)
  torch::Tensor vq_loss;     // codebook + beta * commitment
};

struct VQTokenizerImpl : torch::nn::Module {
  explicit VQTokenizerImpl(const ModelConfig& c);
  torch::Tensor encode_latent(const torch::Tensor& images);  // (B, D, g, g), l2-normalised over D
  torch::Tensor quantize(const torch::Tensor& z);            // (B, N) nearest code by cosine
  torch::Tensor code_vectors(const torch::Tensor& codes);    // (B, D, g, g) normalised codebook rows
  torch::Tensor decode(const torch::Tensor& zq);             // (B, 3, H, W)
  torch::Tensor encode(const torch::Tensor& images) { return quantize(encode_latent(images)); }
  torch::Tensor decode_codes(const torch::Tensor& codes) { return decode(code_vectors(codes)); }
  // quantize = false trains as a plain autoencoder (the warm-up that keeps the
  // codebook from collapsing onto the all-background latent).
  VQForward forward(const torch::Tensor& images, double beta = 0.25, bool quantize = true);
  // Sets every code to a random latent of `z` (B, D, g, g): initialisation after warm-up.
  void init_codebook_from(const torch::Tensor& z, uint64_t seed);
  // Re-initialises codes unused since the last call to random latents from `z`
  // (B, D, g, g); returns how many were restarted. Usage is counted by forward().
  int64_t restart_dead_codes(const torch::Tensor& z, uint64_t seed);

  torch::nn::Sequential encoder{nullptr}, decoder{nullptr};
  torch::Tensor codebook;  // (K, D)
  torch::Tensor usage;     // (K) buffer: hits since the last restart
  ModelConfig cfg;
};
TORCH_MODULE(VQTokenizer);

}  // namespace unigap
