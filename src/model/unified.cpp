#include "model/unified.h"

#include <cmath>

#include "common/error.h"

namespace unigap {

namespace nn = torch::nn;

const std::vector<std::string> kParamGroups = {"backbone", "gen_aligner", "gen_head", "und_encoder", "vq"};

std::string param_group_of(const std::string& name) {
  auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
  if (starts("backbone.") || starts("text_embed.") || starts("text_head.")) return "backbone";
  if (starts("gen_embed.") || starts("gen_aligner.")) return "gen_aligner";
  if (starts("gen_head.")) return "gen_head";
  if (starts("und_encoder.") || starts("und_aligner.")) return "und_encoder";
  if (starts("vq.")) return "vq";
  UNIGAP_ASSERT(false, "parameter " + name + " has no group");
  return "";
}

UnifiedModelImpl::UnifiedModelImpl(const ModelConfig& c, int64_t V) : cfg(c), text_vocab(V) {
  c.validate();
  const int64_t d = c.d_model;
  text_embed = register_module("text_embed", nn::Embedding(V, d));
  backbone = register_module("backbone", Transformer(c, max_len()));
  text_head = register_module("text_head", nn::Linear(nn::LinearOptions(d, V).bias(false)));
  gen_embed = register_module("gen_embed", nn::Embedding(c.vq_codes, c.gen_embed_dim));
  gen_aligner = register_module("gen_aligner", nn::Sequential(nn::Linear(c.gen_embed_dim, d), nn::GELU(), nn::Linear(d, d)));
  gen_head = register_module("gen_head", nn::Sequential(nn::Linear(d, d), nn::GELU(), nn::Linear(d, c.vq_codes)));
  const int64_t C = c.und_channels;
  // Pixel encoder: stride 4 (8x8 tokens) or 8 (4x4 tokens) over the 32x32 image.
  nn::Sequential enc(nn::Conv2d(nn::Conv2dOptions(3, C, 3).padding(1)), nn::GELU(),
                     nn::Conv2d(nn::Conv2dOptions(C, 2 * C, 4).stride(2).padding(1)), nn::GELU(),
                     nn::Conv2d(nn::Conv2dOptions(2 * C, 2 * C, 3).padding(1)), nn::GELU(),
                     nn::Conv2d(nn::Conv2dOptions(2 * C, 2 * C, 4).stride(2).padding(1)), nn::GELU());
  if (c.und_patch == 8) {
    enc->push_back(nn::Conv2d(nn::Conv2dOptions(2 * C, 2 * C, 4).stride(2).padding(1)));
    enc->push_back(nn::GELU());
  }
  und_encoder = register_module("und_encoder", enc);
  und_aligner = register_module("und_aligner", nn::Sequential(nn::Linear(2 * C, d), nn::GELU(), nn::Linear(d, d)));
  vq = register_module("vq", VQTokenizer(c));

  // GPT-2 style init, N(0, 0.02) with residual outputs scaled down, for the language
  // model only (backbone, text embedding and head). The adapters keep PyTorch's default
  // init, as Janus's MlpProjector and gen_embed do, and the pixel encoder gets He init:
  // with N(0, 0.02) everywhere the visual tokens came out at rms 2e-4, varying 2e-5
  // across images (text embeddings: 0.02), and understanding stayed near chance.
  torch::NoGradGuard ng;
  auto in_language_model = [](const std::string& n) {
    return n.rfind("backbone.", 0) == 0 || n.rfind("text_embed.", 0) == 0 || n.rfind("text_head.", 0) == 0;
  };
  for (auto& p : named_parameters()) {
    const std::string& n = p.key();
    if (!in_language_model(n) || n.find("weight") == std::string::npos || p.value().dim() < 2) continue;
    double std = 0.02;
    if (n.find("attn.out") != std::string::npos || n.find("mlp.down") != std::string::npos)
      std /= std::sqrt(2.0 * c.n_layers);
    p.value().normal_(0.0, std);
  }
  for (auto& m : und_encoder->children())
    if (auto* conv = m->as<nn::Conv2dImpl>()) {
      nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanIn, torch::kReLU);
      conv->bias.zero_();
    }
}

int64_t UnifiedModelImpl::max_len() const {
  const int64_t gen = cfg.text_len + 2 + cfg.image_tokens() - 1;
  const int64_t und = und_len();
  return std::max(gen, und);
}

torch::Tensor UnifiedModelImpl::embed_codes(const torch::Tensor& codes) {
  return gen_aligner->forward(gen_embed->forward(codes));
}

torch::Tensor UnifiedModelImpl::gen_logits(const torch::Tensor& prompt, const torch::Tensor& codes) {
  const int64_t B = prompt.size(0), T = cfg.text_len, N = cfg.image_tokens();
  UNIGAP_ASSERT(prompt.size(1) == T && codes.size(1) == N, "gen_logits: bad shapes");
  auto opts = torch::TensorOptions().dtype(torch::kLong);
  auto prefix = torch::cat({torch::full({B, 1}, tok_bos, opts), prompt, torch::full({B, 1}, tok_boi, opts)}, 1);
  auto x = torch::cat({embed_text(prefix), embed_codes(codes.narrow(1, 0, N - 1))}, 1);  // (B, T+N+1, d)
  auto h = backbone->forward(x);
  return gen_head->forward(h.narrow(1, T + 1, N));  // hidden at <boi> and codes 0..N-2
}

torch::Tensor UnifiedModelImpl::image_tokens(const torch::Tensor& pixels, const torch::Tensor& codes) {
  if (cfg.und_input == "vq") return embed_codes(codes);
  auto f = und_encoder->forward(pixels * 2.0 - 1.0);  // (B, C, g, g)
  return und_aligner->forward(f.flatten(2).transpose(1, 2));
}

UnifiedModelImpl::UndOutput UnifiedModelImpl::und_forward(const torch::Tensor& visual, const torch::Tensor& prompt) {
  const int64_t B = prompt.size(0), T = prompt.size(1), N = visual.size(1);
  auto opts = torch::TensorOptions().dtype(torch::kLong);
  auto tok = [&](int64_t id) { return torch::full({B, 1}, id, opts); };
  auto stem = torch::tensor(stem_ids, opts).unsqueeze(0).expand({B, int64_t(stem_ids.size())});
  const int64_t S = stem.size(1);
  UndOutput out;
  if (cfg.und_order == "image_first") {
    auto tail_ids = torch::cat({tok(tok_eoi), stem, prompt, tok(tok_qmark)}, 1);  // (B, T+S+2)
    auto x = torch::cat({embed_text(tok(tok_boi)), visual, embed_text(tail_ids)}, 1);
    auto h = backbone->forward(x);
    // Tail position j predicts tail token j+1: the prompt's tokens sit at S+1.., predicted from S...
    out.caption = text_head->forward(h.narrow(1, 1 + N + S, T));
    out.answer = text_head->forward(h.select(1, h.size(1) - 1));
    out.visual_hidden = h.narrow(1, 1, N);
  } else {
    auto head_ids = torch::cat({stem, prompt, tok(tok_boi)}, 1);  // (B, S+T+1)
    auto x = torch::cat({embed_text(head_ids), visual, embed_text(torch::cat({tok(tok_eoi), tok(tok_qmark)}, 1))}, 1);
    auto h = backbone->forward(x);
    out.answer = text_head->forward(h.select(1, h.size(1) - 1));
    out.visual_hidden = h.narrow(1, S + T + 1, N);
  }
  return out;
}

std::map<std::string, std::vector<torch::Tensor>> UnifiedModelImpl::parameter_groups() {
  std::map<std::string, std::vector<torch::Tensor>> g;
  for (auto& p : named_parameters()) g[param_group_of(p.key())].push_back(p.value());
  return g;
}

std::vector<torch::Tensor> UnifiedModelImpl::trainable_parameters() {
  std::vector<torch::Tensor> v;
  for (auto& p : parameters())
    if (p.requires_grad()) v.push_back(p);
  return v;
}

void UnifiedModelImpl::train_only(const std::vector<std::string>& groups) {
  for (auto& p : named_parameters()) {
    const auto grp = param_group_of(p.key());
    bool on = false;
    for (auto& g : groups) on |= (g == grp);
    p.value().set_requires_grad(on);
  }
}

}  // namespace unigap
