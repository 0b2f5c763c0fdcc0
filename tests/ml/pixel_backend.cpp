// A second backend that exists only in the tests: a small random model with another image
// size (24x24), another code count (16 palette tiles in a 3x3 grid) and another tokenizer
// (the prompt's bytes), written and registered in this one file, as a new backend would be.
// Nothing in src/ knows it: it proves that eval, improve, audit, dynamics and the report talk
// to the UnifiedMultimodal interface only.
//
// The model: an image is 3x3 tiles of 8x8 pixels, each one of 16 palette colours (a code).
// Generation is autoregressive over the 9 codes: h_t = tanh(text(y) + code(x_{t-1}) + pos(t)),
// logits_t = gen_head(h_t); the unconditional prompt has its own text row. The judge reads
// the image's codes (nearest palette colour of each tile): f = mean_t code(x_t), answer =
// und_head(tanh(text(y) * f + f)) over (yes, no). Both branches share `text` (the "llm").
#include "pixel_backend.h"

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "common/rng.h"
#include "io/atomic_file.h"
#include "model/checkpoint.h"
#include "model/registry.h"
#include "model/sampler.h"

namespace unigap::test_backend {

namespace {

constexpr const char* kFormat = "unigap-test-pixel-v1";
constexpr int kSize = 24, kTile = 8, kGrid = 3, kTokens = kGrid * kGrid, kCodes = 16, kDim = 16;
constexpr int kUncond = 256;  // the text row of the unconditional prompt

uint8_t palette(int code, int channel) { return uint8_t((code * 53 + channel * 97 + (code >> 2) * 31) % 256); }

struct PixelNetImpl : torch::nn::Module {
  PixelNetImpl() {
    text = register_module("llm", torch::nn::Embedding(kUncond + 1, kDim));
    code = register_module("code_embed", torch::nn::Embedding(kCodes + 1, kDim));  // kCodes = the start token
    pos = register_module("pos_embed", torch::nn::Embedding(kTokens, kDim));
    gen_head = register_module("gen_head", torch::nn::Linear(kDim, kCodes));
    und_head = register_module("und_head", torch::nn::Linear(kDim, 2));
  }
  torch::nn::Embedding text{nullptr}, code{nullptr}, pos{nullptr};
  torch::nn::Linear gen_head{nullptr}, und_head{nullptr};
};
TORCH_MODULE(PixelNet);

std::string group_of(const std::string& name) {
  if (name.rfind("llm.", 0) == 0) return "llm";
  if (name.rfind("und_head.", 0) == 0) return "und_head";
  return "generator";
}

class PixelModel : public UnifiedMultimodal {
 public:
  explicit PixelModel(uint64_t seed) {
    torch::manual_seed(seed);
    net_ = PixelNet();
    torch::NoGradGuard ng;
    for (auto& p : net_->parameters()) p.normal_(0.0, 0.8);
    net_->eval();
  }
  std::string name() const override { return "test-pixel"; }
  int image_size() const override { return kSize; }
  int image_tokens() const override { return kTokens; }
  int codebook_size() const override { return kCodes; }

  std::vector<GeneratedSample> generate(const std::vector<GenerationRequest>& requests, const SampleOptions& opt) override {
    opt.validate();
    torch::NoGradGuard ng;
    std::vector<GeneratedSample> out;
    for (auto& r : requests) {
      Rng rng(r.seed);
      auto cond = prompt_rows({r.prompt}, {false}), uncond = prompt_rows({r.prompt}, {true});
      std::vector<int64_t> codes;
      int64_t prev = kCodes;
      for (int t = 0; t < kTokens; ++t) {
        auto lc = step_logits(cond, prev, t), lu = step_logits(uncond, prev, t);
        auto logits = (lu + opt.cfg_weight * (lc - lu)) / opt.temperature;
        auto probs = torch::softmax(logits, -1);
        prev = draw_rows(probs, {rng.uniform()})[0];
        codes.push_back(prev);
      }
      GeneratedSample s;
      s.codes = codes;
      s.image = decode_codes(torch::tensor(codes).unsqueeze(0))[0];
      out.push_back(std::move(s));
    }
    return out;
  }

  std::vector<Image> decode_codes(const torch::Tensor& codes) override {
    std::vector<Image> out;
    auto c = codes.to(torch::kLong).contiguous();
    for (int64_t b = 0; b < c.size(0); ++b) {
      Image img(kSize, kSize);
      for (int t = 0; t < kTokens; ++t) {
        const int code = int(c[b][t].item<int64_t>());
        for (int y = 0; y < kTile; ++y)
          for (int x = 0; x < kTile; ++x) {
            uint8_t* p = img.px((t % kGrid) * kTile + x, (t / kGrid) * kTile + y);
            for (int ch = 0; ch < 3; ++ch) p[ch] = palette(code, ch);
          }
      }
      out.push_back(std::move(img));
    }
    return out;
  }

  torch::Tensor image_token_logprobs(const std::vector<std::string>& prompts, const torch::Tensor& codes,
                                     const std::vector<bool>& unconditional) override {
    const int64_t B = codes.size(0);
    auto y = prompt_rows(prompts, unconditional);                                           // (B, d)
    auto prev = torch::cat({torch::full({B, 1}, int64_t(kCodes)), codes.narrow(1, 0, kTokens - 1)}, 1);
    auto h = torch::tanh(y.unsqueeze(1) + net_->code->forward(prev) + net_->pos->forward(torch::arange(kTokens)).unsqueeze(0));
    auto lp = torch::log_softmax(net_->gen_head->forward(h), -1);                           // (B, N, K)
    return lp.gather(2, codes.unsqueeze(-1)).squeeze(-1);
  }

  std::map<std::string, std::vector<torch::Tensor>> parameter_groups() override {
    std::map<std::string, std::vector<torch::Tensor>> g;
    for (auto& p : net_->named_parameters()) g[group_of(p.key())].push_back(p.value());
    return g;
  }
  std::vector<std::string> default_train_groups() const override { return {"llm"}; }
  void train_only(const std::vector<std::string>& groups) override {
    for (auto& g : groups)
      if (g != "llm" && g != "generator" && g != "und_head")
        throw UserError("unknown parameter group '" + g + "'", "train groups", "the test-pixel model has: llm, generator, und_head");
    for (auto& p : net_->named_parameters())
      p.value().set_requires_grad(std::find(groups.begin(), groups.end(), group_of(p.key())) != groups.end());
  }
  std::vector<torch::Tensor> trainable_parameters() override {
    std::vector<torch::Tensor> v;
    for (auto& p : net_->parameters())
      if (p.requires_grad()) v.push_back(p);
    return v;
  }
  torch::OrderedDict<std::string, torch::Tensor> named_parameters() override { return net_->named_parameters(); }
  void set_training(bool on) override { net_->train(on); }

  void save(const std::string& dir, const json& extra) override {
    make_dirs(dir);
    save_module(*net_, dir + "/model.safetensors", {{"format", kFormat}});
    json j = extra.is_object() ? extra : json::object();
    j["format"] = kFormat;
    write_json(dir + "/config.json", j);
  }
  void load_weights(const std::string& dir) override { load_module(*net_, dir + "/model.safetensors"); }

 protected:
  std::vector<double> judge_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts, int) override {
    torch::NoGradGuard ng;
    auto a = answer(images, prompts);
    auto s = torch::sigmoid(a.select(1, 0) - a.select(1, 1)).to(torch::kFloat64).contiguous();
    return {s.data_ptr<double>(), s.data_ptr<double>() + s.numel()};
  }
  torch::Tensor judge_answer_logprobs_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts) override {
    return torch::log_softmax(answer(images, prompts), -1).narrow(1, 0, 2);
  }
  torch::Tensor encode_images_sized(const std::vector<Image>& images) override {
    auto out = torch::empty({int64_t(images.size()), kTokens}, torch::kLong);
    for (size_t b = 0; b < images.size(); ++b)
      for (int t = 0; t < kTokens; ++t) {
        double mean[3] = {0, 0, 0};
        for (int y = 0; y < kTile; ++y)
          for (int x = 0; x < kTile; ++x)
            for (int ch = 0; ch < 3; ++ch) mean[ch] += images[b].px((t % kGrid) * kTile + x, (t / kGrid) * kTile + y)[ch];
        int best = 0;
        double best_d = 1e300;
        for (int k = 0; k < kCodes; ++k) {
          double d = 0;
          for (int ch = 0; ch < 3; ++ch) d += std::pow(mean[ch] / (kTile * kTile) - palette(k, ch), 2);
          if (d < best_d) best_d = d, best = k;
        }
        out[int64_t(b)][t] = best;
      }
    return out;
  }

 private:
  // The prompt's text vector: the mean of its bytes' rows (the unconditional row when asked).
  torch::Tensor prompt_rows(const std::vector<std::string>& prompts, const std::vector<bool>& unconditional) {
    std::vector<torch::Tensor> rows;
    for (size_t b = 0; b < prompts.size(); ++b) {
      std::vector<int64_t> ids;
      if (!unconditional.empty() && unconditional[b]) ids = {kUncond};
      else
        for (unsigned char ch : prompts[b]) ids.push_back(ch);
      if (ids.empty()) ids = {kUncond};
      rows.push_back(net_->text->forward(torch::tensor(ids)).mean(0));
    }
    return torch::stack(rows);
  }
  torch::Tensor step_logits(const torch::Tensor& y, int64_t prev, int t) {
    auto h = torch::tanh(y + net_->code->forward(torch::tensor({prev})) + net_->pos->forward(torch::tensor({int64_t(t)})));
    return net_->gen_head->forward(h);
  }
  torch::Tensor answer(const std::vector<Image>& images, const std::vector<std::string>& prompts) {
    torch::Tensor codes;
    {
      torch::NoGradGuard ng;
      codes = encode_images_sized(images);
    }
    auto f = net_->code->forward(codes).mean(1);  // (B, d)
    return net_->und_head->forward(torch::tanh(prompt_rows(prompts, {}) * f + f));
  }
  PixelNet net_{nullptr};
};

const BackendRegistrar kRegistered{{"test-pixel (" + std::string(kFormat) + ")",
                                    [](const json& c) { return c.is_object() && c.value("format", json()) == kFormat; },
                                    [](const std::string& dir, const json&, const ModelOptions&) -> std::unique_ptr<UnifiedMultimodal> {
                                      auto m = std::make_unique<PixelModel>(0);
                                      m->load_weights(dir);
                                      return m;
                                    }}};

}  // namespace

void write_pixel_checkpoint(const std::string& dir, uint64_t seed) { PixelModel(seed).save(dir, json::object()); }

}  // namespace unigap::test_backend
