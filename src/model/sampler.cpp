#include "model/sampler.h"

#include <ATen/record_function.h>

#include "common/error.h"
#include "common/rng.h"

namespace unigap {

void SampleOptions::validate() const {
  if (!(cfg_weight >= 0)) throw UserError("must be >= 0, found " + std::to_string(cfg_weight), "--cfg");
  if (!(temperature > 0)) throw UserError("must be > 0, found " + std::to_string(temperature), "--temperature");
  if (top_k < 0) throw UserError("must be >= 0", "--top-k");
  if (batch < 1) throw UserError("must be >= 1", "--batch");
}

torch::Tensor sample_codes(UnifiedModelImpl& model, const torch::Tensor& prompt, const std::vector<uint64_t>& seeds,
                           const SampleOptions& opt) {
  opt.validate();
  const int64_t R = prompt.size(0), T = model.cfg.text_len, N = model.cfg.image_tokens();
  UNIGAP_ASSERT(int64_t(seeds.size()) == R, "one seed per row");
  c10::InferenceMode guard;
  const bool guided = opt.cfg_weight != 1.0;
  auto lopt = torch::TensorOptions().dtype(torch::kLong);
  // Rows: conditional, then (with guidance) unconditional = the prompt slot all <pad>.
  torch::Tensor slot = guided ? torch::cat({prompt, torch::full({R, T}, model.tok_pad, lopt)}, 0) : prompt;
  const int64_t rows = slot.size(0);
  auto prefix = torch::cat({torch::full({rows, 1}, model.tok_bos, lopt), slot, torch::full({rows, 1}, model.tok_boi, lopt)}, 1);
  auto prefix_emb = model.embed_text(prefix);  // (rows, T+2, d)

  std::vector<Rng> rngs;
  for (auto s : seeds) rngs.emplace_back(s);
  auto codes = torch::zeros({R, N}, lopt);
  auto code_acc = codes.accessor<int64_t, 2>();

  std::unique_ptr<KVCache> cache;
  if (opt.use_cache)
    cache = std::make_unique<KVCache>(model.cfg.n_layers, rows, model.cfg.n_heads, T + 2 + N, model.cfg.head_dim());
  torch::Tensor h = model.backbone->forward(prefix_emb, 0, cache.get());  // (rows, T+2, d)
  torch::Tensor seq_emb = prefix_emb;
  for (int64_t i = 0; i < N; ++i) {
    auto logits = model.gen_head->forward(h.select(1, h.size(1) - 1));  // (rows, K)
    auto probs = guided ? guided_probs(logits.narrow(0, 0, R), logits.narrow(0, R, R), opt) : guided_probs(logits, {}, opt);
    std::vector<double> u(R);
    for (int64_t r = 0; r < R; ++r) u[r] = rngs[r].uniform();
    auto picks = draw_rows(probs, u);
    for (int64_t r = 0; r < R; ++r) code_acc[r][i] = picks[r];
    if (i == N - 1) break;
    auto tok = codes.narrow(1, i, 1);                                // (R, 1)
    auto tok_rows = guided ? torch::cat({tok, tok}, 0) : tok;        // same token on both rows
    auto emb = model.embed_codes(tok_rows);                          // (rows, 1, d)
    if (opt.use_cache) {
      h = model.backbone->forward(emb, T + 2 + i, cache.get());
    } else {
      seq_emb = torch::cat({seq_emb, emb}, 1);
      h = model.backbone->forward(seq_emb, 0, nullptr);
    }
  }
  return codes;
}

}  // namespace unigap
