#include "model/vq.h"

namespace unigap {

namespace nn = torch::nn;

VQTokenizerImpl::VQTokenizerImpl(const ModelConfig& c) : cfg(c) {
  const int64_t C = c.vq_channels, D = c.vq_dim;
  encoder = register_module(
      "encoder", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, C, 3).padding(1)), nn::GELU(),
                                nn::Conv2d(nn::Conv2dOptions(C, 2 * C, 4).stride(2).padding(1)), nn::GELU(),
                                nn::Conv2d(nn::Conv2dOptions(2 * C, 2 * C, 3).padding(1)), nn::GELU(),
                                nn::Conv2d(nn::Conv2dOptions(2 * C, 2 * C, 4).stride(2).padding(1)), nn::GELU(),
                                nn::Conv2d(nn::Conv2dOptions(2 * C, D, 1))));
  decoder = register_module(
      "decoder",
      nn::Sequential(nn::Conv2d(nn::Conv2dOptions(D, 2 * C, 3).padding(1)), nn::GELU(),
                     nn::ConvTranspose2d(nn::ConvTranspose2dOptions(2 * C, 2 * C, 4).stride(2).padding(1)), nn::GELU(),
                     nn::Conv2d(nn::Conv2dOptions(2 * C, C, 3).padding(1)), nn::GELU(),
                     nn::ConvTranspose2d(nn::ConvTranspose2dOptions(C, C, 4).stride(2).padding(1)), nn::GELU(),
                     nn::Conv2d(nn::Conv2dOptions(C, 3, 3).padding(1))));
  codebook = register_parameter("codebook", torch::nn::functional::normalize(torch::randn({c.vq_codes, D}),
                                                                           torch::nn::functional::NormalizeFuncOptions().dim(1)));
  usage = register_buffer("usage", torch::zeros({c.vq_codes}, torch::kFloat32));
}

torch::Tensor VQTokenizerImpl::encode_latent(const torch::Tensor& images) {
  auto z = encoder->forward(images * 2.0 - 1.0);
  return torch::nn::functional::normalize(z, torch::nn::functional::NormalizeFuncOptions().dim(1));
}

torch::Tensor VQTokenizerImpl::quantize(const torch::Tensor& z) {
  const int64_t B = z.size(0), D = z.size(1);
  auto flat = z.permute({0, 2, 3, 1}).reshape({-1, D});  // (B*N, D)
  auto cb = torch::nn::functional::normalize(codebook, torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto sim = torch::matmul(flat, cb.t());                 // (B*N, K)
  return sim.argmax(1).view({B, -1});
}

torch::Tensor VQTokenizerImpl::code_vectors(const torch::Tensor& codes) {
  const int64_t B = codes.size(0), g = cfg.grid();
  auto cb = torch::nn::functional::normalize(codebook, torch::nn::functional::NormalizeFuncOptions().dim(1));
  return cb.index_select(0, codes.reshape({-1})).view({B, g, g, -1}).permute({0, 3, 1, 2});
}

torch::Tensor VQTokenizerImpl::decode(const torch::Tensor& zq) { return torch::sigmoid(decoder->forward(zq)); }

VQForward VQTokenizerImpl::forward(const torch::Tensor& images, double beta, bool quantize_on) {
  auto z = encode_latent(images);
  if (!quantize_on) return {decode(z), torch::Tensor(), torch::zeros({}, z.options())};
  torch::Tensor codes;
  {
    torch::NoGradGuard ng;
    codes = quantize(z);
    usage.index_add_(0, codes.reshape({-1}), torch::ones({codes.numel()}, torch::kFloat32));
  }
  auto zq = code_vectors(codes);
  // Codebook loss pulls codes to latents; commitment keeps latents near their codes.
  auto vq_loss = (zq - z.detach()).pow(2).mean() + beta * (z - zq.detach()).pow(2).mean();
  auto zst = z + (zq - z).detach();  // straight-through estimator
  return {decode(zst), codes, vq_loss};
}

void VQTokenizerImpl::init_codebook_from(const torch::Tensor& z, uint64_t seed) {
  torch::NoGradGuard ng;
  auto flat = z.permute({0, 2, 3, 1}).reshape({-1, z.size(1)});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto pick = torch::randint(flat.size(0), {codebook.size(0)}, gen, torch::kLong);
  codebook.copy_(flat.index_select(0, pick) + 0.01 * torch::randn(codebook.sizes(), gen));
  usage.zero_();
}

int64_t VQTokenizerImpl::restart_dead_codes(const torch::Tensor& z, uint64_t seed) {
  torch::NoGradGuard ng;
  auto dead = (usage == 0).nonzero().view({-1});
  const int64_t n = dead.numel();
  if (n > 0) {
    auto flat = z.permute({0, 2, 3, 1}).reshape({-1, z.size(1)});
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto pick = torch::randint(flat.size(0), {n}, gen, torch::kLong);
    codebook.index_copy_(0, dead, flat.index_select(0, pick) + 0.01 * torch::randn({n, z.size(1)}, gen));
  }
  usage.zero_();
  return n;
}

}  // namespace unigap
