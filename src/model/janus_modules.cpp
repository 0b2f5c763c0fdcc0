#include "model/janus_modules.h"

#include "model/attention.h"
#include "model/few_rows_linear.h"

#include <cmath>

namespace unigap::janus {

namespace F = torch::nn::functional;

namespace {

torch::Tensor empty(std::vector<int64_t> shape) { return torch::empty(shape, torch::kFloat32); }

// A child module that only groups parameters under a name ("attn", "mlp", "patch_embed").
std::shared_ptr<torch::nn::Module> group(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

torch::Tensor swish(const torch::Tensor& x) { return x * torch::sigmoid(x); }

}  // namespace

// ---- building blocks ----

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias) {
  weight = register_parameter("weight", empty({out, in}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  auto y = few_rows_linear_applies(x, weight) ? few_rows_linear(x, weight, bias) : F::linear(x, weight, bias);
  return lora ? y + lora->forward(x, is_training()) : y;
}

ConvImpl::ConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t s, int64_t p) : stride(s), padding(p) {
  weight = register_parameter("weight", empty({out, in, kernel, kernel}));
  bias = register_parameter("bias", empty({out}));
}

NormImpl::NormImpl(int64_t channels, double e, int64_t g) : eps(e), groups(g) {
  weight = register_parameter("weight", empty({channels}));
  if (groups >= 0) bias = register_parameter("bias", empty({channels}));
}

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
  if (groups > 0) return torch::group_norm(x, groups, weight, bias, eps);
  if (groups == 0) return torch::layer_norm(x, {weight.size(0)}, weight, bias, eps);
  // LlamaRMSNorm: in float32, then back to the input's dtype, times the weight.
  auto h = x.to(torch::kFloat32);
  h = h * torch::rsqrt(h.pow(2).mean(-1, true) + eps);
  return weight * h.to(x.scalar_type());
}

// ---- understanding ----

SiglipBlockImpl::SiglipBlockImpl(const SiglipDims& d) : heads(d.heads) {
  norm1 = register_module("norm1", Norm(d.width, 1e-6));
  auto attn = group(*this, "attn");
  qkv = attn->register_module("qkv", Linear(d.width, 3 * d.width, true));
  proj = attn->register_module("proj", Linear(d.width, d.width, true));
  norm2 = register_module("norm2", Norm(d.width, 1e-6));
  auto mlp = group(*this, "mlp");
  fc1 = mlp->register_module("fc1", Linear(d.width, d.mlp_hidden, true));
  fc2 = mlp->register_module("fc2", Linear(d.mlp_hidden, d.width, true));
}

torch::Tensor SiglipBlockImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), N = x.size(1), D = x.size(2), hd = D / heads;
  auto qkv_ = qkv->forward(norm1->forward(x)).reshape({B, N, 3, heads, hd}).permute({2, 0, 3, 1, 4});
  // Attention as F.scaled_dot_product_attention computes it: softmax(Q K^T / sqrt(hd)) V.
  auto w = torch::softmax(torch::matmul(qkv_[0], qkv_[1].transpose(-2, -1)) / std::sqrt(double(hd)), -1);
  auto a = torch::matmul(w, qkv_[2]).transpose(1, 2).reshape({B, N, D});
  auto h = x + proj->forward(a);
  return h + fc2->forward(torch::gelu(fc1->forward(norm2->forward(h))));
}

SiglipTowerImpl::SiglipTowerImpl(const SiglipDims& d) {
  patch = group(*this, "patch_embed")->register_module("proj", Conv(3, d.width, d.patch, d.patch, 0));
  pos_embed = register_parameter("pos_embed", empty({1, d.tokens(), d.width}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < d.depth; ++i) blocks->push_back(SiglipBlock(d));
  norm = register_module("norm", Norm(d.width, 1e-6));
}

torch::Tensor SiglipTowerImpl::forward(const torch::Tensor& pixels) {
  auto x = patch->forward(pixels).flatten(2).transpose(1, 2) + pos_embed;  // no class token
  for (auto& b : *blocks) x = b->as<SiglipBlock>()->forward(x);
  return norm->forward(x);
}

MlpProjectorImpl::MlpProjectorImpl(const ProjectorDims& d) {
  auto layers = group(*this, "layers");
  fc0 = layers->register_module("0", Linear(d.input_dim, d.n_embed, true));
  fc2 = layers->register_module("2", Linear(d.n_embed, d.n_embed, true));
}

torch::Tensor MlpProjectorImpl::forward(const torch::Tensor& x) { return fc2->forward(torch::gelu(fc0->forward(x))); }

GenHeadImpl::GenHeadImpl(int64_t n_embed, int64_t token_embed, int64_t codes) {
  output_mlp_projector = register_module("output_mlp_projector", Linear(n_embed, token_embed, true));
  vision_head = register_module("vision_head", Linear(token_embed, codes, true));
}

// ---- the language model ----

std::pair<torch::Tensor, torch::Tensor> KvCache::append(size_t layer, const torch::Tensor& k_new, const torch::Tensor& v_new) {
  if (k.size() <= layer) k.resize(layer + 1), v.resize(layer + 1);
  const int64_t T = k_new.size(2);
  if (capacity > 0) {
    if (!k[layer].defined()) {
      auto shape = k_new.sizes().vec();
      shape[2] = capacity;
      k[layer] = torch::empty(shape, k_new.options()), v[layer] = torch::empty(shape, v_new.options());
    }
    TORCH_CHECK(len + T <= capacity, "KV cache of ", capacity, " positions is full");
    k[layer].narrow(2, len, T).copy_(k_new), v[layer].narrow(2, len, T).copy_(v_new);
    return {k[layer].narrow(2, 0, len + T), v[layer].narrow(2, 0, len + T)};
  }
  k[layer] = k[layer].defined() ? torch::cat({k[layer], k_new}, 2) : k_new;
  v[layer] = v[layer].defined() ? torch::cat({v[layer], v_new}, 2) : v_new;
  return {k[layer], v[layer]};
}

LlamaLayerImpl::LlamaLayerImpl(const LlamaDims& dims) : d(dims) {
  auto attn = group(*this, "self_attn");
  q_proj = attn->register_module("q_proj", Linear(d.hidden, d.heads * d.head_dim, false));
  k_proj = attn->register_module("k_proj", Linear(d.hidden, d.kv_heads * d.head_dim, false));
  v_proj = attn->register_module("v_proj", Linear(d.hidden, d.kv_heads * d.head_dim, false));
  o_proj = attn->register_module("o_proj", Linear(d.heads * d.head_dim, d.hidden, false));
  auto mlp = group(*this, "mlp");
  gate_proj = mlp->register_module("gate_proj", Linear(d.hidden, d.intermediate, false));
  up_proj = mlp->register_module("up_proj", Linear(d.hidden, d.intermediate, false));
  down_proj = mlp->register_module("down_proj", Linear(d.intermediate, d.hidden, false));
  input_layernorm = register_module("input_layernorm", Norm(d.hidden, d.rms_eps, -1));
  post_attention_layernorm = register_module("post_attention_layernorm", Norm(d.hidden, d.rms_eps, -1));
}

namespace {
torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t h = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1);
}
}  // namespace

// Causal attention of q (B, H, T, hd) over k, v (B, H, L, hd); query i sits at absolute
// position L - T + i. On the CPU in float32, unigap's kernels (model/attention.h: one
// single-threaded sgemm per row and head, or a dot-product loop per cached key when decoding)
// instead of libtorch's 4-D matmul, which runs one small GEMM per row and head; elsewhere the
// eager attention as transformers computes it: Q K^T / sqrt(hd), an additive causal mask,
// softmax in float32. The same maths (test_janus checks both against the reference).
torch::Tensor LlamaLayerImpl::attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) const {
  const int64_t T = q.size(2), L = k.size(2);
  const double scale = 1.0 / std::sqrt(double(d.head_dim));
  if (q.device().is_cpu() && q.scalar_type() == torch::kFloat32 && !force_eager_attention) {
    if (T == 1 && !torch::GradMode::is_enabled()) return decode_attention(q, k, v, scale);
    return causal_attention(q, k, v, scale);
  }
  auto scores = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(double(d.head_dim));
  if (T > 1) {
    auto mask = torch::ones({T, L}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(L - T + 1);
    scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
  }
  auto probs = torch::softmax(scores.to(torch::kFloat32), -1).to(q.scalar_type());
  return torch::matmul(probs, v);
}

torch::Tensor LlamaLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, KvCache* cache,
                                      size_t layer) {
  const int64_t B = x.size(0), T = x.size(1), hd = d.head_dim;
  auto h = input_layernorm->forward(x);
  auto q = q_proj->forward(h).view({B, T, d.heads, hd}).transpose(1, 2);
  auto k = k_proj->forward(h).view({B, T, d.kv_heads, hd}).transpose(1, 2);
  auto v = v_proj->forward(h).view({B, T, d.kv_heads, hd}).transpose(1, 2);
  q = q * cos + rotate_half(q) * sin;
  k = k * cos + rotate_half(k) * sin;
  if (cache) std::tie(k, v) = cache->append(layer, k, v);
  if (d.kv_heads != d.heads) k = k.repeat_interleave(d.heads / d.kv_heads, 1), v = v.repeat_interleave(d.heads / d.kv_heads, 1);
  auto a = attention(q, k, v).transpose(1, 2).reshape({B, T, d.heads * hd});
  auto y = x + o_proj->forward(a);
  auto m = post_attention_layernorm->forward(y);
  return y + down_proj->forward(torch::silu(gate_proj->forward(m)) * up_proj->forward(m));
}

namespace {

// Gradient checkpointing of one LLaMA block: the forward runs without building a graph and
// keeps the block's input; the backward recomputes the block from it (with the generator state
// its dropout drew from, so the masks are the same) and backpropagates through the recomputation.
// The block's trainable tensors (registered parameters and LoRA tensors) are inputs, so that
// their gradients come out of this node.
struct CheckpointedLayer : torch::autograd::Function<CheckpointedLayer> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& cos,
                               const torch::Tensor& sin, at::TensorList trainable, LlamaLayerImpl* layer) {
    ctx->saved_data["layer"] = reinterpret_cast<int64_t>(layer);
    auto gen = at::globalContext().defaultGenerator(x.device());
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      ctx->saved_data["rng"] = gen.get_state();
    }
    std::vector<torch::Tensor> keep = {x, cos, sin};
    keep.insert(keep.end(), trainable.begin(), trainable.end());
    ctx->save_for_backward(keep);
    return layer->forward(x, cos, sin, nullptr, 0);  // grad mode is off inside a Function's forward
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    auto* layer = reinterpret_cast<LlamaLayerImpl*>(ctx->saved_data["layer"].toInt());
    auto x = saved[0].detach().requires_grad_(true);
    auto gen = at::globalContext().defaultGenerator(x.device());
    torch::Tensor now;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      now = gen.get_state();
      gen.set_state(ctx->saved_data["rng"].toTensor());
    }
    torch::Tensor y;
    {
      torch::AutoGradMode on(true);
      y = layer->forward(x, saved[1], saved[2], nullptr, 0);
    }
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(now);  // the recomputation leaves the generator where the backward found it
    }
    std::vector<torch::Tensor> inputs = {x};
    inputs.insert(inputs.end(), saved.begin() + 3, saved.end());
    auto grads = torch::autograd::grad({y}, inputs, {grad_out[0]}, /*retain_graph=*/false, /*create_graph=*/false, /*allow_unused=*/true);
    torch::autograd::variable_list out = {grads[0], torch::Tensor(), torch::Tensor()};
    out.insert(out.end(), grads.begin() + 1, grads.end());
    out.emplace_back();  // the layer pointer
    return out;
  }
};

// The tensors of a block that train: its registered parameters and its LoRA tensors.
std::vector<torch::Tensor> trainable_tensors(LlamaLayerImpl& layer) {
  std::vector<torch::Tensor> v;
  for (auto& p : layer.parameters())
    if (p.requires_grad()) v.push_back(p);
  for (auto& m : layer.modules(/*include_self=*/false))
    if (auto* lin = m->as<LinearImpl>(); lin && lin->lora)
      for (auto& t : {lin->lora->A, lin->lora->B})
        if (t.requires_grad()) v.push_back(t);
  return v;
}

}  // namespace

LlamaImpl::LlamaImpl(const LlamaDims& dims) : d(dims) {
  auto model = group(*this, "model");
  embed_tokens = group(*model, "embed_tokens")->register_parameter("weight", empty({d.vocab, d.hidden}));
  layers = model->register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < d.layers; ++i) layers->push_back(LlamaLayer(d));
  norm = model->register_module("norm", Norm(d.hidden, d.rms_eps, -1));
  lm_head = group(*this, "lm_head")->register_parameter("weight", empty({d.vocab, d.hidden}));
}

torch::Tensor LlamaImpl::forward(const torch::Tensor& embeds, KvCache* cache) {
  const int64_t T = embeds.size(1), pos0 = cache ? cache->len : 0;
  // rotate_half RoPE: inv_freq = 1 / theta^(2i/hd), angles pos * inv_freq, halves duplicated; float32.
  auto fopt = torch::TensorOptions().dtype(torch::kFloat32).device(embeds.device());
  auto inv_freq = 1.0 / torch::pow(d.rope_theta, torch::arange(0, d.head_dim, 2, fopt.dtype(torch::kLong)).to(fopt) / double(d.head_dim));
  auto angles = torch::outer(torch::arange(pos0, pos0 + T, fopt), inv_freq);
  auto emb = torch::cat({angles, angles}, -1);
  auto cos = emb.cos().to(embeds.scalar_type()), sin = emb.sin().to(embeds.scalar_type());
  auto x = embeds;
  const bool recompute = checkpoint_layers && !cache && torch::GradMode::is_enabled();
  for (size_t i = 0; i < layers->size(); ++i) {
    auto* layer = layers[i]->as<LlamaLayer>();
    if (!recompute) {
      x = layer->forward(x, cos, sin, cache, i);
      continue;
    }
    const auto trainable = trainable_tensors(*layer);
    x = CheckpointedLayer::apply(x, cos, sin, at::TensorList(trainable), layer);  // a TensorList: autograd sees each tensor
  }
  if (cache) cache->len += T;
  return norm->forward(x);
}

// ---- the VQ tokenizer ----

ResBlockImpl::ResBlockImpl(int64_t in, int64_t out) {
  norm1 = register_module("norm1", Norm(in, 1e-6, 32));
  conv1 = register_module("conv1", Conv(in, out, 3, 1, 1));
  norm2 = register_module("norm2", Norm(out, 1e-6, 32));
  conv2 = register_module("conv2", Conv(out, out, 3, 1, 1));
  if (in != out) nin_shortcut = register_module("nin_shortcut", Conv(in, out, 1));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x) {
  auto h = conv1->forward(swish(norm1->forward(x)));
  h = conv2->forward(swish(norm2->forward(h)));
  return (nin_shortcut ? nin_shortcut->forward(x) : x) + h;
}

AttnBlockImpl::AttnBlockImpl(int64_t c) {
  norm = register_module("norm", Norm(c, 1e-6, 32));
  q = register_module("q", Conv(c, c, 1));
  k = register_module("k", Conv(c, c, 1));
  v = register_module("v", Conv(c, c, 1));
  proj_out = register_module("proj_out", Conv(c, c, 1));
}

torch::Tensor AttnBlockImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  auto h = norm->forward(x);
  auto q_ = q->forward(h).reshape({B, C, H * W}).permute({0, 2, 1});
  auto k_ = k->forward(h).reshape({B, C, H * W});
  auto w = torch::softmax(torch::bmm(q_, k_) * std::pow(double(C), -0.5), 2);
  auto out = torch::bmm(v->forward(h).reshape({B, C, H * W}), w.permute({0, 2, 1})).reshape({B, C, H, W});
  return x + proj_out->forward(out);
}

VqLevelImpl::VqLevelImpl(int64_t in, int64_t out, int64_t blocks, bool attention, const char* resample_name) {
  auto res_list = register_module("res", torch::nn::ModuleList());
  auto attn_list = register_module("attn", torch::nn::ModuleList());
  for (int64_t i = 0; i < blocks; ++i) {
    res.push_back(ResBlock(i == 0 ? in : out, out));
    res_list->push_back(res.back());
    if (attention) attn.push_back(AttnBlock(out)), attn_list->push_back(attn.back());
  }
  if (resample_name) {
    down = std::string(resample_name) == "downsample";
    resample = group(*this, resample_name)->register_module("conv", Conv(out, out, 3, down ? 2 : 1, down ? 0 : 1));
  }
}

torch::Tensor VqLevelImpl::forward(torch::Tensor h) {
  for (size_t i = 0; i < res.size(); ++i) {
    h = res[i]->forward(h);
    if (!attn.empty()) h = attn[i]->forward(h);
  }
  if (!resample) return h;
  if (down) return resample->forward(F::pad(h, F::PadFuncOptions({0, 1, 0, 1})));  // pad right and bottom, stride 2
  // Nearest 2x; the official Upsample interpolates in float32 and casts to bfloat16 for any
  // other input dtype (the only two dtypes it supports).
  auto up = F::interpolate(h.to(torch::kFloat32), F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
  return resample->forward(h.scalar_type() == torch::kFloat32 ? up : up.to(torch::kBFloat16));
}

VqCoderImpl::VqCoderImpl(const VqDims& d, bool enc) : encoder(enc) {
  const int64_t n = int64_t(d.ch_mult.size()), top = d.ch * d.ch_mult.back();
  conv_in = register_module("conv_in", Conv(enc ? 3 : d.z_channels, enc ? d.ch : top, 3, 1, 1));
  auto list = register_module("conv_blocks", torch::nn::ModuleList());
  if (enc) {
    int64_t in = d.ch;
    for (int64_t l = 0; l < n; ++l) {
      const int64_t out = d.ch * d.ch_mult[size_t(l)];
      levels.push_back(VqLevel(in, out, d.encoder_res_blocks, l == n - 1, l == n - 1 ? nullptr : "downsample"));
      list->push_back(levels.back());
      in = out;
    }
  }
  auto mid = register_module("mid", torch::nn::ModuleList());
  mid0 = ResBlock(top, top), mid1 = AttnBlock(top), mid2 = ResBlock(top, top);
  mid->push_back(mid0), mid->push_back(mid1), mid->push_back(mid2);
  int64_t in = top;
  if (!enc)
    for (int64_t l = n - 1; l >= 0; --l) {  // levels from the lowest resolution up
      const int64_t out = d.ch * d.ch_mult[size_t(l)];
      levels.push_back(VqLevel(in, out, d.decoder_res_blocks, l == n - 1, l == 0 ? nullptr : "upsample"));
      list->push_back(levels.back());
      in = out;
    }
  norm_out = register_module("norm_out", Norm(enc ? top : d.ch, 1e-6, 32));
  conv_out = register_module("conv_out", Conv(enc ? top : d.ch, enc ? d.z_channels : 3, 3, 1, 1));
}

torch::Tensor VqCoderImpl::forward(const torch::Tensor& x) {
  auto h = conv_in->forward(x);
  auto mid = [&] { h = mid2->forward(mid1->forward(mid0->forward(h))); };
  if (!encoder) mid();
  for (auto& l : levels) h = l->forward(h);
  if (encoder) mid();
  return conv_out->forward(swish(norm_out->forward(h)));
}

VqModelImpl::VqModelImpl(const VqDims& dims) : d(dims) {
  encoder = register_module("encoder", VqCoder(d, true));
  decoder = register_module("decoder", VqCoder(d, false));
  quant_conv = register_module("quant_conv", Conv(d.z_channels, d.codebook_dim, 1));
  codebook = group(*group(*this, "quantize"), "embedding")->register_parameter("weight", empty({d.codebook_size, d.codebook_dim}));
  post_quant_conv = register_module("post_quant_conv", Conv(d.codebook_dim, d.z_channels, 1));
}

torch::Tensor VqModelImpl::codebook_entries(const torch::Tensor& codes, int64_t grid) {
  auto table = F::normalize(codebook, F::NormalizeFuncOptions().p(2).dim(-1).eps(1e-12));
  return torch::embedding(table, codes).view({codes.size(0), grid, grid, d.codebook_dim}).permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor VqModelImpl::decode_codes(const torch::Tensor& codes, int64_t grid) {
  return decoder->forward(post_quant_conv->forward(codebook_entries(codes, grid)));
}

torch::Tensor VqModelImpl::quantizer_input(const torch::Tensor& pixels) { return quant_conv->forward(encoder->forward(pixels)); }

torch::Tensor VqModelImpl::distances(const torch::Tensor& z) {
  auto flat = F::normalize(z.permute({0, 2, 3, 1}).reshape({-1, d.codebook_dim}), F::NormalizeFuncOptions().p(2).dim(-1));
  auto table = F::normalize(codebook, F::NormalizeFuncOptions().p(2).dim(-1));
  return flat.pow(2).sum(1, true) + table.pow(2).sum(1) - 2 * torch::matmul(flat, table.t());
}

torch::Tensor VqModelImpl::encode(const torch::Tensor& pixels) {
  auto z = quantizer_input(pixels);
  return distances(z).argmin(1).view({z.size(0), z.size(2) * z.size(3)});
}

Net::Net(const JanusDims& d) {
  tower = group(*this, "vision_model")->register_module("vision_tower", SiglipTower(d.siglip));
  aligner = register_module("aligner", MlpProjector(d.aligner));
  vq = register_module("gen_vision_model", VqModel(d.vq));
  gen_aligner = register_module("gen_aligner", MlpProjector(d.gen_aligner));
  gen_head = register_module("gen_head", GenHead(d.llm.hidden, d.gen_head_embed, d.vq.codebook_size));
  gen_embed = group(*this, "gen_embed")->register_parameter("weight", empty({d.vq.codebook_size, d.gen_embed_dim}));
  llm = register_module("language_model", Llama(d.llm));
}

bool unused_official_key(const std::string& name) {
  return name.rfind("vision_model.vision_tower.attn_pool.", 0) == 0 || name == "gen_vision_model.quantize.codebook_used";
}

}  // namespace unigap::janus
