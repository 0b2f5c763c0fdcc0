// Learning dynamics on a tiny model: gradient inner products against finite
// differences, and the first-order prediction of one real step as eta -> 0.
#include <gtest/gtest.h>

#include <cstdio>

#include "dynamics/entk.h"
#include "world/render.h"

using namespace unigap;

namespace {
struct TinySetup {
  ShapesModel m{ModelConfig::preset_named("tiny"), WorldSpec::defaults(), 21};
  std::vector<torch::Tensor> params;
  TinySetup() {
    torch::NoGradGuard ng;
    for (auto& p : m.net().parameters()) p.mul_(3.0);  // away from the near-uniform init
    // Double precision: the test compares tiny changes of a sum of 64 log-probabilities.
    m.net().to(torch::kFloat64);
    m.set_training(false);
    m.train_only({"backbone"});
    for (auto& p : m.net().parameters())
      if (p.requires_grad()) params.push_back(p);
  }
  double G(const std::string& prompt, const torch::Tensor& codes) {
    torch::NoGradGuard ng;
    return m.image_logprob({prompt}, codes).to(torch::kFloat64).item<double>();
  }
  void shift(const torch::Tensor& v, double eps) {
    torch::NoGradGuard ng;
    int64_t off = 0;
    for (auto& p : params) {
      p.add_(eps * v.narrow(0, off, p.numel()).view_as(p));
      off += p.numel();
    }
  }
};
}  // namespace

TEST(Dynamics, GradientInnerProductMatchesFiniteDifference) {
  TinySetup s;
  auto codes = torch::randint(s.m.config().vq_codes, {1, s.m.config().image_tokens()}, torch::kLong);
  const std::string prompt = "a photo of a red circle";
  auto g = flat_grad(s.m.image_logprob({prompt}, codes).sum(), s.params);
  torch::manual_seed(3);
  auto v = torch::randn_like(g);
  v = v / v.norm();
  const double eps = 1e-4;
  s.shift(v, eps);
  const double up = s.G(prompt, codes);
  s.shift(v, -2 * eps);
  const double down = s.G(prompt, codes);
  s.shift(v, eps);
  const double fd = (up - down) / (2 * eps), ip = torch::dot(g, v).item<double>();
  // Double precision, central differences: agreement to 1e-3 relative.
  EXPECT_NEAR(fd, ip, 1e-3 * std::abs(ip) + 1e-6) << "fd " << fd << " vs <grad, v> " << ip;
}

TEST(Dynamics, FirstOrderPredictionOfARealStepAsEtaShrinks) {
  TinySetup s;
  auto train_codes = torch::randint(s.m.config().vq_codes, {4, s.m.config().image_tokens()}, torch::kLong);
  std::vector<std::string> train_prompts = {"a photo of a red circle", "a photo of two squares",
                                            "a photo of a blue triangle", "a photo of a diamond"};
  auto d = flat_grad(s.m.image_logprob(train_prompts, train_codes).mean(), s.params);
  auto probe = torch::randint(s.m.config().vq_codes, {1, s.m.config().image_tokens()}, torch::kLong);
  const std::string pp = "a photo of a green circle";
  const double k = torch::dot(flat_grad(s.m.image_logprob({pp}, probe).sum(), s.params), d).item<double>();
  const double g0 = s.G(pp, probe);
  double prev_err = 1e30;
  // Step lengths eta * |d| of 0.01, 0.003 and 0.001 in parameter space.
  const double dn = d.norm().item<double>();
  for (double len : {1e-2, 3e-3, 1e-3}) {
    const double eta = len / dn;
    s.shift(d, eta);
    const double measured = s.G(pp, probe) - g0;
    s.shift(d, -eta);
    const double rel = std::abs(measured - eta * k) / std::abs(eta * k);
    std::printf("eta %.3g: predicted %.6g measured %.6g (relative error %.4f)\n", eta, eta * k, measured, rel);
    // The relative error of the first-order term shrinks with eta (second-order remainder).
    EXPECT_LT(rel, prev_err + 0.02) << "eta " << eta;
    prev_err = rel;
  }
  EXPECT_LT(prev_err, 0.05);
}

TEST(Dynamics, FitStatistics) {
  auto f = fit({1, 2, 3, 4}, {2, 4, 6, 8});
  EXPECT_NEAR(f.pearson, 1.0, 1e-12);
  EXPECT_NEAR(f.slope, 2.0, 1e-12);
  f = fit({1, 2, 3}, {3, 2, 1});
  EXPECT_NEAR(f.pearson, -1.0, 1e-12);
}
