// Held-out dynamics (dynamics/held_out.h): the Bayes judge by hand, normalised kernels, probes
// that are never training candidates, and a model against itself and against a small move.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "common/error.h"
#include "dynamics/entk.h"
#include "dynamics/held_out.h"
#include "eval/external_judge.h"
#include "model/shapes_model.h"
#include "world/suite.h"

using namespace unigap;

namespace {
ShapesModel tiny(uint64_t seed = 21) {
  ShapesModel m(ModelConfig::preset_named("tiny"), WorldSpec::v2(), seed);
  torch::NoGradGuard ng;
  for (auto& p : m.net().parameters()) p.mul_(3.0);  // away from the near-uniform init
  m.set_training(false);
  return m;
}

HeldOutConfig small_config() {
  HeldOutConfig c;
  c.prompts = 8;
  c.k = 1;
  c.hard_negatives = 2;
  c.random_prompts = 2;
  c.neighbours = 0;
  return c;
}

// A tiny version 2 base, its oracle and its images of 8 eval prompts.
struct Probed {
  ShapesModel base = tiny();
  const WorldSpec& spec = *base.world();
  std::unique_ptr<ExternalJudge> oracle = make_oracle_judge(spec);
  HeldOutConfig c = small_config();
  Pool probes = held_out_probes(base, *oracle, spec, c);
};
}  // namespace

TEST(HeldOut, BayesJudgeEqualsAHandComputationAndItsGradient) {
  ShapesModel m = tiny();
  m.net().to(torch::kFloat64);
  m.train_only({"backbone"});
  const auto params = m.trainable_parameters();
  torch::manual_seed(5);
  auto codes = torch::randint(m.config().vq_codes, {1, m.config().image_tokens()}, torch::kLong);
  const auto world_prompts = split_prompts(*m.world(), Split::Train);
  const std::string y = world_prompts[0].prompt;
  const std::vector<std::string> alts = {world_prompts[1].prompt, world_prompts[2].prompt, world_prompts[7].prompt};
  // By hand: each likelihood alone, then log of softmax's first entry.
  std::vector<double> lp;
  for (auto& p : std::vector<std::string>{y, alts[0], alts[1], alts[2]}) {
    torch::NoGradGuard ng;
    lp.push_back(m.image_logprob({p}, codes).item<double>());
  }
  const double mx = *std::max_element(lp.begin(), lp.end());  // log pi of a whole image is in the hundreds
  double z = 0;
  for (double v : lp) z += std::exp(v - mx);
  const auto b = bayes_log_posterior(m, y, alts, codes);
  EXPECT_NEAR(b.item<double>(), lp[0] - mx - std::log(z), 1e-9);
  EXPECT_LT(b.item<double>(), 0.0);
  // Its gradient: grad G(y) - sum_i softmax_i grad G(y_i) (the formula of entk.h).
  auto want = flat_grad(m.image_logprob({y}, codes).sum(), params) * (1 - std::exp(lp[0] - mx) / z);
  for (size_t i = 0; i < alts.size(); ++i)
    want -= flat_grad(m.image_logprob({alts[i]}, codes).sum(), params) * (std::exp(lp[i + 1] - mx) / z);
  auto got = flat_grad(bayes_log_posterior(m, y, alts, codes), params);
  EXPECT_LT((got - want).norm().item<double>(), 1e-9 * (1 + want.norm().item<double>()));
}

TEST(HeldOut, NormalisedKernelOfAnExampleWithItselfIsOne) {
  ShapesModel m = tiny();
  m.train_only({"backbone"});
  auto codes = torch::randint(m.config().vq_codes, {1, m.config().image_tokens()}, torch::kLong);
  auto g = flat_grad(m.image_logprob({split_prompts(*m.world(), Split::Train)[0].prompt}, codes).sum(), m.trainable_parameters());
  ASSERT_GT(g.norm().item<double>(), 0);
  EXPECT_NEAR(gradient_cosine(g, g), 1.0, 1e-5);
  EXPECT_NEAR(gradient_cosine(g, 7 * g), 1.0, 1e-5);  // unlike the raw kernel, blind to the scale
  EXPECT_NEAR(gradient_cosine(g, -g), -1.0, 1e-5);
  EXPECT_EQ(gradient_cosine(g, torch::zeros_like(g)), 0.0);
}

TEST(HeldOut, ProbesAreHeldOutAndATrainingPromptIsRefused) {
  Probed t;
  ShapesModel& m = t.base;
  const WorldSpec& spec = t.spec;
  auto& oracle = t.oracle;
  HeldOutConfig c = t.c;
  const Pool& probes = t.probes;
  ASSERT_EQ(probes.candidates.size(), 8u);
  for (auto& p : probes.prompts) EXPECT_EQ(split_of(p, spec), Split::Eval) << p.prompt;
  c.split = Split::Val;
  for (auto& p : held_out_probes(m, *oracle, spec, c).prompts) EXPECT_EQ(split_of(p, spec), Split::Val) << p.prompt;
  c.split = Split::Train;
  EXPECT_THROW(held_out_probes(m, *oracle, spec, c), UserError);

  // A training pool of train prompts passes; one that holds a probe's prompt is refused, naming it.
  Pool train;
  train.prompts = sample_suite(spec, Split::Train, 20, 3);
  EXPECT_NO_THROW(refuse_training_prompts(probes, train, "arm/pool.jsonl"));
  train.prompts.push_back(probes.prompts[3]);
  try {
    refuse_training_prompts(probes, train, "arm/pool.jsonl");
    ADD_FAILURE() << "a training prompt was used as a held-out probe";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(probes.prompts[3].prompt), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("arm/pool.jsonl"), std::string::npos) << e.what();
  }
  ShapesModel same = tiny();
  EXPECT_THROW(held_out_dynamics(m, same, spec, probes, &train, small_config()), UserError);
}

TEST(HeldOut, AModelAgainstItselfChangesNothingAndASmallMoveIsPredicted) {
  Probed t;
  ShapesModel& base = t.base;
  const WorldSpec& spec = t.spec;
  auto& oracle = t.oracle;
  const HeldOutConfig& c = t.c;
  const Pool& probes = t.probes;

  ShapesModel same = tiny();
  auto rep = held_out_dynamics(base, same, spec, probes, nullptr, c);
  ASSERT_EQ(rep.probes.size(), 8u);
  for (auto& p : rep.probes) {
    EXPECT_EQ(p.lo_now, p.lo_base);
    EXPECT_EQ(p.bayes_now, p.bayes_base);
    EXPECT_EQ(p.pred_dlo, 0.0);
    EXPECT_FALSE(p.alternatives.empty());
    EXPECT_EQ(std::count(p.alternatives.begin(), p.alternatives.end(), probes.prompts[size_t(probes.candidates[size_t(p.candidate)].prompt_index)].prompt), 0);
  }
  const json j = rep.to_json();
  for (const char* judge : {"yes_no", "bayes"}) {
    for (auto& [g, n] : j["judges"][judge]["transitions"].items())
      EXPECT_TRUE(g == "fp_kept" || g == "tn_kept" || g == "tp_kept" || g == "fn_kept") << judge << ": " << g;
    // The per-tag changes on the base's false positives partition the overall one.
    int by_tag = 0;
    for (auto& [tag, v] : j["judges"][judge]["change_on_base_fp_by_tag"].items()) by_tag += v["images"].get<int>();
    EXPECT_EQ(by_tag, j["judges"][judge]["change_on_base_fp"]["images"].get<int>()) << judge;
    const json au = j["judges"][judge]["auroc_change"];  // null when the probes hold one oracle verdict only
    if (au["mean"].is_number()) {
      EXPECT_EQ(au["mean"].get<double>(), 0.0) << judge;
    }
  }

  // A small move of the trainable weights: the measured changes follow <grad, d theta>.
  ShapesModel moved = tiny();
  moved.train_only(moved.default_train_groups());
  {
    torch::NoGradGuard ng;
    torch::manual_seed(9);
    for (auto& p : moved.trainable_parameters()) p.add_(1e-3 * torch::randn_like(p));
  }
  // With a training pool of 3 train prompts, every candidate accepted: the kernels read them.
  Pool train;
  train.prompts = sample_suite(spec, Split::Train, 3, 1);
  PoolOptions po;
  po.candidates = 1;
  po.world = &spec;
  train.candidates = sample_candidates(base, base, nullptr, Supervision::parse("all"), *oracle, train.prompts, {0, 1, 2}, po, 0);
  HeldOutConfig c2 = c;
  c2.neighbours = 3;
  auto rep2 = held_out_dynamics(base, moved, spec, probes, &train, c2);
  EXPECT_EQ(rep2.training_examples, 3);
  // The Bayes judge's alternatives depend neither on the arm nor on its training pool.
  for (size_t i = 0; i < rep.probes.size(); ++i) EXPECT_EQ(rep2.probes[i].alternatives, rep.probes[i].alternatives);
  const json f = rep2.to_json()["first_order"];
  EXPECT_GT(f["log_odds"]["pearson"].get<double>(), 0.95) << f.dump();
  EXPECT_GT(f["log_likelihood"]["pearson"].get<double>(), 0.95) << f.dump();
  EXPECT_GT(f["bayes"]["pearson"].get<double>(), 0.95) << f.dump();
  EXPECT_NEAR(f["log_likelihood"]["slope"].get<double>(), 1.0, 0.1) << f.dump();
}
