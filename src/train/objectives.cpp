#include "train/objectives.h"

#include <cstring>

#include "common/error.h"
#include "train/losses.h"

namespace unigap {

Method parse_method(const std::string& s) {
  if (s == "sft") return Method::Sft;
  if (s == "dpo") return Method::Dpo;
  if (s == "grpo") return Method::Grpo;
  throw UserError("must be sft, dpo or grpo, found '" + s + "'", "improve option 'method'");
}

std::string method_name(Method m) { return m == Method::Sft ? "sft" : m == Method::Dpo ? "dpo" : "grpo"; }

torch::Tensor codes_tensor(const std::vector<const std::vector<int64_t>*>& rows) {
  const int64_t B = int64_t(rows.size()), N = B ? int64_t(rows[0]->size()) : 0;
  auto t = torch::empty({B, N}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) std::memcpy(t[b].data_ptr<int64_t>(), rows[size_t(b)]->data(), size_t(N) * sizeof(int64_t));
  return t;
}

namespace {

class Sft : public Objective {
 public:
  Sft(double prompt_dropout, int samples, uint64_t seed) : dropout_(prompt_dropout), samples_(samples), seed_(seed) {}
  std::string name() const override { return "sft"; }
  std::string unit() const override { return "samples"; }
  size_t size() const override { return items_.size(); }

  void refresh(const Pool& pool) override {
    items_.clear();
    std::vector<size_t> acc = pool.accepted();
    if (samples_ > 0 && !acc.empty()) {  // a matched budget: a seeded order, cut or cycled to samples_
      Rng rng(seed_);
      rng.shuffle(acc);
      std::vector<size_t> fixed;
      for (size_t k = 0; k < size_t(samples_); ++k) fixed.push_back(acc[k % acc.size()]);
      acc = fixed;
    }
    for (size_t i : acc) items_.push_back({pool.prompts[size_t(pool.candidates[i].prompt_index)].prompt, pool.candidates[i].codes});
  }

  LossTerms batch_loss(UnifiedMultimodal& policy, const std::vector<size_t>& items, const Shard& sh, Rng& rng) override {
    std::vector<bool> uncond;  // drawn for the whole global batch on every rank
    for (size_t k = 0; k < items.size(); ++k) uncond.push_back(rng.bernoulli(dropout_));
    LossTerms t{torch::zeros({}), {{"loss/sft", 0.0}}};
    if (sh.n == 0) return t;
    std::vector<std::string> prompts;
    std::vector<const std::vector<int64_t>*> codes;
    for (int64_t r = sh.lo; r < sh.lo + sh.n; ++r) {
      const Item& it = items_.at(items[size_t(r)]);
      prompts.push_back(it.prompt), codes.push_back(&it.codes);
    }
    auto c = codes_tensor(codes);
    auto lp = policy.image_logprob(prompts, c, {uncond.begin() + sh.lo, uncond.begin() + sh.lo + sh.n});
    t.loss = sh.frac() * sft_loss_from_logprobs(lp, c.size(1));
    t.metrics["loss/sft"] = t.loss.item<double>();
    return t;
  }

 private:
  struct Item {
    std::string prompt;
    std::vector<int64_t> codes;
  };
  double dropout_;
  int samples_;
  uint64_t seed_;
  std::vector<Item> items_;
};

class Dpo : public Objective {
 public:
  Dpo(UnifiedMultimodal& reference, double beta, double nll_weight) : ref_(reference), beta_(beta), lambda_(nll_weight) {}
  std::string name() const override { return "dpo"; }
  std::string unit() const override { return "pairs"; }
  size_t size() const override { return pairs_.size(); }

  void refresh(const Pool& pool) override {
    pairs_.clear();
    torch::NoGradGuard ng;
    ref_.set_training(false);
    for (const DpoPair& p : pool.pairs()) {
      const Candidate &c = pool.candidates[p.chosen], &r = pool.candidates[p.rejected];
      PairItem item{pool.prompts[size_t(c.prompt_index)].prompt, c.codes, r.codes, 0, 0};
      // The frozen reference's log-probs, once per pair, the pair in a batch of its own: a
      // prompt's pair never changes once it has one (replay only adds candidates to prompts
      // without an accepted one), so a resumed run computes exactly the same numbers.
      const std::string k = key(c) + "|" + key(r);
      auto it = ref_logp_.find(k);
      if (it == ref_logp_.end()) {
        auto lp = ref_.image_logprob({item.prompt, item.prompt}, codes_tensor({&c.codes, &r.codes})).to(torch::kFloat64);
        it = ref_logp_.emplace(k, std::make_pair(lp[0].item<double>(), lp[1].item<double>())).first;
      }
      item.ref_chosen = it->second.first, item.ref_rejected = it->second.second;
      pairs_.push_back(std::move(item));
    }
  }

  LossTerms batch_loss(UnifiedMultimodal& policy, const std::vector<size_t>& items, const Shard& sh, Rng&) override {
    LossTerms t{torch::zeros({}),
                {{"loss/dpo", 0.0}, {"rewards/chosen", 0.0}, {"rewards/rejected", 0.0}, {"rewards/margins", 0.0},
                 {"rewards/accuracies", 0.0}, {"logps/chosen", 0.0}, {"logps/rejected", 0.0}}};
    if (sh.n == 0) return t;
    // Chosen and rejected in one batch.
    std::vector<std::string> prompts(size_t(2 * sh.n));
    std::vector<const std::vector<int64_t>*> codes(size_t(2 * sh.n));
    std::vector<double> ref_c, ref_r;
    for (int64_t k = 0; k < sh.n; ++k) {
      const PairItem& p = pairs_.at(items[size_t(sh.lo + k)]);
      prompts[size_t(k)] = prompts[size_t(sh.n + k)] = p.prompt;
      codes[size_t(k)] = &p.chosen, codes[size_t(sh.n + k)] = &p.rejected;
      ref_c.push_back(p.ref_chosen), ref_r.push_back(p.ref_rejected);
    }
    auto c = codes_tensor(codes);
    auto lp = policy.image_logprob(prompts, c);
    auto pc = lp.narrow(0, 0, sh.n), pr = lp.narrow(0, sh.n, sh.n);
    auto d = dpo_loss(pc, pr, torch::tensor(ref_c).to(lp.dtype()), torch::tensor(ref_r).to(lp.dtype()), beta_, lambda_, c.size(1));
    t.loss = sh.frac() * d.loss;
    // Sums over this rank's rows over the global batch size: summed over ranks, the means.
    const double B = double(sh.total);
    auto sum = [&](const torch::Tensor& x) { return x.detach().to(torch::kFloat64).sum().item<double>() / B; };
    t.metrics["loss/dpo"] = t.loss.item<double>();
    t.metrics["rewards/chosen"] = sum(d.reward_chosen);
    t.metrics["rewards/rejected"] = sum(d.reward_rejected);
    t.metrics["rewards/margins"] = sum(d.reward_chosen - d.reward_rejected);
    t.metrics["rewards/accuracies"] = sum((d.reward_chosen > d.reward_rejected).to(torch::kFloat64));
    t.metrics["logps/chosen"] = sum(pc);
    t.metrics["logps/rejected"] = sum(pr);
    return t;
  }

 private:
  // A candidate's identity across pool reloads and replays: (round, prompt, number).
  static std::string key(const Candidate& c) {
    return std::to_string(c.round) + "/" + std::to_string(c.prompt_index) + "/" + std::to_string(c.k);
  }
  struct PairItem {
    std::string prompt;
    std::vector<int64_t> chosen, rejected;
    double ref_chosen, ref_rejected;  // log pi_ref of each
  };
  UnifiedMultimodal& ref_;
  double beta_, lambda_;
  std::vector<PairItem> pairs_;
  std::map<std::string, std::pair<double, double>> ref_logp_;  // by pair
};

}  // namespace

std::unique_ptr<Objective> make_sft(double prompt_dropout, int samples, uint64_t seed) {
  return std::make_unique<Sft>(prompt_dropout, samples, seed);
}

std::unique_ptr<Objective> make_dpo(UnifiedMultimodal& reference, double beta, double nll_weight) {
  return std::make_unique<Dpo>(reference, beta, nll_weight);
}

}  // namespace unigap
