// The objectives of self-improvement (train/objectives.h) on the tiny shapes model: their
// loss is what the pure losses give on the model's log-probs; summed over the shards of a
// data-parallel batch, the loss and every metric are the whole batch's; unconditional rows
// read the unconditional prompt; DPO starts at ln 2 + the NLL term and its reference
// log-probs come from the frozen model.
#include <gtest/gtest.h>

#include <cmath>

#include "model/shapes_model.h"
#include "train/losses.h"
#include "train/objectives.h"
#include "world/suite.h"

using namespace unigap;

namespace {

struct TinyPool {
  ShapesModel model{ModelConfig::preset_named("tiny"), WorldSpec::v1(), 8};
  Pool pool;
  TinyPool() {
    torch::NoGradGuard ng;
    for (auto& p : model.net().parameters()) p.mul_(3.0);  // away from the near-uniform init
    model.set_training(false);
    pool.prompts = sample_suite(WorldSpec::v1(), Split::Train, 4, 1);
    torch::manual_seed(2);
    for (int i = 0; i < 4; ++i)
      for (int k = 0; k < 3; ++k) {
        Candidate c;
        c.prompt_index = i, c.k = k, c.score = 0.2 + 0.3 * k, c.verdict = k > 0, c.oracle = k == 2;
        auto codes = torch::randint(model.codebook_size(), {model.image_tokens()}, torch::kLong);
        c.codes.assign(codes.data_ptr<int64_t>(), codes.data_ptr<int64_t>() + codes.numel());
        pool.candidates.push_back(c);
      }
  }
};

// Loss terms of a batch as two ranks of a data-parallel run would compute them, summed.
LossTerms two_shards(Objective& o, UnifiedMultimodal& m, const std::vector<size_t>& batch, uint64_t seed) {
  const int64_t B = int64_t(batch.size()), half = B / 2;
  Rng r1(seed), r2(seed);
  LossTerms a = o.batch_loss(m, batch, {0, half, B}, r1), b = o.batch_loss(m, batch, {half, B - half, B}, r2);
  LossTerms sum{a.loss + b.loss, a.metrics};
  for (auto& [k, v] : b.metrics) sum.metrics[k] += v;
  return sum;
}

}  // namespace

TEST(Objectives, SftIsTheMeanTokenNllOfTheAcceptedAndShardsAddUp) {
  TinyPool s;
  auto sft = make_sft(0.0);
  sft->refresh(s.pool);
  ASSERT_EQ(sft->size(), 8u);  // k = 1, 2 of each prompt
  const std::vector<size_t> batch = {0, 3, 5, 6};
  Rng rng(1);
  const LossTerms whole = sft->batch_loss(s.model, batch, {0, 4, 4}, rng);
  // By hand: the accepted candidates in pool order, their log-probs from the model.
  std::vector<std::string> prompts;
  std::vector<torch::Tensor> codes;
  const auto acc = s.pool.accepted();
  for (size_t i : batch) {
    const Candidate& c = s.pool.candidates[acc[i]];
    prompts.push_back(s.pool.prompts[size_t(c.prompt_index)].prompt), codes.push_back(torch::tensor(c.codes));
  }
  const double want = -s.model.image_logprob(prompts, torch::stack(codes)).mean().item<double>() / s.model.image_tokens();
  EXPECT_NEAR(whole.loss.item<double>(), want, 1e-5);
  EXPECT_NEAR(whole.metrics.at("loss/sft"), want, 1e-5);
  const LossTerms split = two_shards(*sft, s.model, batch, 1);
  EXPECT_NEAR(split.loss.item<double>(), want, 1e-5);
  EXPECT_NEAR(split.metrics.at("loss/sft"), want, 1e-5);
  // A rank without rows adds nothing and holds the same keys.
  Rng r(1);
  const LossTerms none = sft->batch_loss(s.model, batch, {4, 0, 4}, r);
  EXPECT_FALSE(none.loss.requires_grad());
  EXPECT_EQ(none.metrics.size(), whole.metrics.size());
}

TEST(Objectives, PromptDropoutReadsTheUnconditionalPrompt) {
  TinyPool s;
  const Candidate& c = s.pool.candidates[1];
  auto codes = torch::tensor(c.codes).unsqueeze(0);
  const std::string prompt = s.pool.prompts[size_t(c.prompt_index)].prompt;
  const double cond = s.model.image_logprob({prompt}, codes).item<double>();
  const double uncond = s.model.image_logprob({prompt}, codes, {true}).item<double>();
  auto pad = torch::full({1, s.model.config().text_len}, s.model.net().tok_pad, torch::kLong);
  const double by_hand = sequence_logprob(s.model.net().gen_logits(pad, codes), codes).item<double>();
  EXPECT_NEAR(uncond, by_hand, 1e-4);
  EXPECT_GT(std::abs(cond - uncond), 1e-3);
  // With dropout 1 every SFT row is unconditional.
  auto sft = make_sft(0.999999);
  sft->refresh(s.pool);
  Rng rng(3);
  const double loss = sft->batch_loss(s.model, {0}, {0, 1, 1}, rng).loss.item<double>();
  EXPECT_NEAR(loss, -uncond / s.model.image_tokens(), 1e-5);
}

TEST(Objectives, DpoStartsAtLn2PlusNllAndShardsAddUp) {
  TinyPool s;
  ShapesModel reference(ModelConfig::preset_named("tiny"), WorldSpec::v1(), 8);
  {
    torch::NoGradGuard ng;
    for (auto& p : reference.net().parameters()) p.mul_(3.0);
  }
  auto dpo = make_dpo(reference, 0.1, 1.0);
  dpo->refresh(s.pool);
  ASSERT_EQ(dpo->size(), 4u);  // every prompt: chosen k = 2 (score 0.8), rejected k = 0
  const std::vector<size_t> batch = {0, 1, 2, 3};
  Rng rng(1);
  const LossTerms t = dpo->batch_loss(s.model, batch, {0, 4, 4}, rng);
  // Policy == reference: ln 2 + the chosen NLL per token; rewards zero.
  const double nll = -t.metrics.at("logps/chosen") / s.model.image_tokens();
  EXPECT_NEAR(t.loss.item<double>(), std::log(2.0) + nll, 1e-4);
  EXPECT_NEAR(t.metrics.at("rewards/margins"), 0.0, 1e-4);
  EXPECT_LT(t.metrics.at("logps/chosen"), 0.0);
  const LossTerms split = two_shards(*dpo, s.model, batch, 1);
  EXPECT_NEAR(split.loss.item<double>(), t.loss.item<double>(), 1e-5);
  // rewards/accuracies compares two rewards that are zero up to rounding here, and rounding
  // depends on the batch's shape (BLAS kernels): it is compared on the moved policy below.
  for (auto& [k, v] : t.metrics) {
    if (k != "rewards/accuracies") {
      EXPECT_NEAR(split.metrics.at(k), v, 1e-4) << k;
    }
  }
  // The reference log-probs are the frozen model's: a changed policy moves the rewards.
  {
    torch::NoGradGuard ng;
    for (auto& p : s.model.net().parameters()) p.mul_(1.05);
  }
  const LossTerms moved = dpo->batch_loss(s.model, batch, {0, 4, 4}, rng);
  EXPECT_GT(std::abs(moved.metrics.at("rewards/chosen")), 1e-4);
  const LossTerms moved_split = two_shards(*dpo, s.model, batch, 1);
  for (auto& [k, v] : moved.metrics) EXPECT_NEAR(moved_split.metrics.at(k), v, 1e-4) << k;
}
