// Loss functions against hand-computed values and their gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "train/losses.h"

using namespace unigap;

TEST(Losses, SequenceLogprobSumsImageTokens) {
  // Two tokens, vocabulary 2: logits (0, 0) -> log 0.5 each; (ln 3, 0) -> p = 3/4 for token 0.
  auto logits = torch::tensor({{{0.0, 0.0}, {std::log(3.0), 0.0}}}, torch::kFloat64);
  auto targets = torch::tensor({{1, 0}}, torch::kLong);
  EXPECT_NEAR(sequence_logprob(logits, targets).item<double>(), std::log(0.5) + std::log(0.75), 1e-12);
  EXPECT_NEAR(sft_loss(logits, targets).item<double>(), -(std::log(0.5) + std::log(0.75)) / 2, 1e-12);
  // The same mean NLL per token from the summed log-probability a model's image_logprob gives.
  EXPECT_NEAR(sft_loss_from_logprobs(sequence_logprob(logits, targets), 2).item<double>(),
              sft_loss(logits, targets).item<double>(), 1e-12);
  auto two = torch::tensor({-4.0, -8.0}, torch::kFloat64);
  EXPECT_NEAR(sft_loss_from_logprobs(two, 4).item<double>(), (1.0 + 2.0) / 2, 1e-12);
}

TEST(Losses, YesNoLossWeighsTheNoRowsAndItsShardsAddUp) {
  // Global batch P = 2: rows 0-1 "yes" (label 0), rows 2-3 "no" (label 1), vocabulary 2.
  auto logits = torch::tensor({{0.0, 0.0}, {std::log(3.0), 0.0}, {0.0, std::log(3.0)}, {std::log(3.0), 0.0}}, torch::kFloat64);
  auto labels = torch::tensor({0, 0, 1, 1}, torch::kLong);
  auto is_no = labels == 1;
  const double ce[4] = {-std::log(0.5), -std::log(0.75), -std::log(0.75), -std::log(0.25)};
  // Weight 1: the plain mean of the four cross entropies, as cross_entropy gives it.
  EXPECT_NEAR(yes_no_loss(logits, labels, is_no, 2, 1.0).item<double>(),
              torch::nn::functional::cross_entropy(logits, labels).item<double>(), 1e-12);
  // Weight 3: (ce0 + ce1 + 3 ce2 + 3 ce3) / (2 * (1 + 3)).
  const double by_hand = (ce[0] + ce[1] + 3 * ce[2] + 3 * ce[3]) / 8;
  EXPECT_NEAR(yes_no_loss(logits, labels, is_no, 2, 3.0).item<double>(), by_hand, 1e-12);
  // Two ranks holding rows 0-2 and 3: their terms sum to the global loss.
  auto part = [&](int64_t lo, int64_t n) {
    return yes_no_loss(logits.narrow(0, lo, n), labels.narrow(0, lo, n), is_no.narrow(0, lo, n), 2, 3.0).item<double>();
  };
  EXPECT_NEAR(part(0, 3) + part(3, 1), by_hand, 1e-12);
  // The gradient of a "no" row is negative_weight times that of a "yes" row with the same error.
  auto x = torch::zeros({2, 2}, torch::dtype(torch::kFloat64).requires_grad(true));
  yes_no_loss(x, torch::tensor({0, 1}, torch::kLong), torch::tensor({false, true}), 1, 3.0).backward();
  EXPECT_NEAR(x.grad()[1][1].item<double>() / x.grad()[0][0].item<double>(), 3.0, 1e-12);
}

TEST(Losses, DpoStartsAtLn2WhenPolicyEqualsReference) {
  auto pc = torch::tensor({-10.0, -20.0}, torch::kFloat64), pr = torch::tensor({-12.0, -15.0}, torch::kFloat64);
  auto t = dpo_loss(pc, pr, pc.clone(), pr.clone(), 0.1, 0.0, 64);
  EXPECT_NEAR(t.loss.item<double>(), std::log(2.0), 1e-12);
  EXPECT_NEAR(t.margin.abs().max().item<double>(), 0.0, 1e-12);
  // With the NLL term: ln 2 + lambda * mean(-pc / N).
  auto t2 = dpo_loss(pc, pr, pc.clone(), pr.clone(), 0.1, 0.5, 10);
  EXPECT_NEAR(t2.loss.item<double>(), std::log(2.0) + 0.5 * (1.0 + 2.0) / 2, 1e-12);
}

TEST(Losses, DpoValueAndGradientsByHand) {
  // One pair: policy (pc, pr) = (-5, -7), reference (-6, -6), beta 0.5, lambda 0.2, N 4.
  // margin = (-5 + 6) - (-7 + 6) = 2; loss = -log sigmoid(1) + 0.2 * 5 / 4.
  auto pc = torch::tensor({-5.0}, torch::dtype(torch::kFloat64).requires_grad(true));
  auto pr = torch::tensor({-7.0}, torch::dtype(torch::kFloat64).requires_grad(true));
  auto rc = torch::tensor({-6.0}, torch::kFloat64), rr = torch::tensor({-6.0}, torch::kFloat64);
  auto t = dpo_loss(pc, pr, rc, rr, 0.5, 0.2, 4);
  const double s = 1.0 / (1.0 + std::exp(-1.0));
  EXPECT_NEAR(t.loss.item<double>(), -std::log(s) + 0.25, 1e-12);
  t.loss.backward();
  // d/d pc = -beta * (1 - sigmoid(beta m)) - lambda / N; d/d pr = +beta * (1 - sigmoid(beta m)).
  EXPECT_NEAR(pc.grad().item<double>(), -0.5 * (1 - s) - 0.05, 1e-12);
  EXPECT_NEAR(pr.grad().item<double>(), 0.5 * (1 - s), 1e-12);
  EXPECT_NEAR(t.reward_chosen.item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(t.reward_rejected.item<double>(), -0.5, 1e-12);
}

TEST(Losses, DpoGradientMatchesFiniteDifferences) {
  torch::manual_seed(1);
  auto pc = torch::randn({3}, torch::kFloat64).requires_grad_(true), pr = torch::randn({3}, torch::kFloat64).requires_grad_(true);
  auto rc = torch::randn({3}, torch::kFloat64), rr = torch::randn({3}, torch::kFloat64);
  dpo_loss(pc, pr, rc, rr, 0.3, 0.1, 8).loss.backward();
  const double eps = 1e-6;
  for (int i = 0; i < 3; ++i) {
    auto a = pc.detach().clone(), b = pc.detach().clone();
    a[i] += eps, b[i] -= eps;
    const double fd = (dpo_loss(a, pr.detach(), rc, rr, 0.3, 0.1, 8).loss.item<double>() -
                       dpo_loss(b, pr.detach(), rc, rr, 0.3, 0.1, 8).loss.item<double>()) / (2 * eps);
    EXPECT_NEAR(pc.grad()[i].item<double>(), fd, 1e-8);
  }
}
