// Learning dynamics on a tiny model: gradient inner products against finite
// differences, and the first-order prediction of one real step as eta -> 0.
#include <gtest/gtest.h>

#include <cstdio>

#include "dynamics/entk.h"
#include "model/shapes_model.h"
#include "world/render.h"

using namespace unigap;

namespace {
struct TinySetup {
  ShapesModel m{ModelConfig::preset_named("tiny"), WorldSpec::v1(), 21};
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

namespace {
// A model whose judge gives each prompt a fixed score and whose log-likelihoods are zero:
// enough to see how the FP-correction groups label images.
class ScriptedJudge : public UnifiedMultimodal {
 public:
  explicit ScriptedJudge(std::map<std::string, double> scores) : scores_(std::move(scores)) {}
  std::string name() const override { return "scripted"; }
  int image_size() const override { return 8; }
  int image_tokens() const override { return 4; }
  int codebook_size() const override { return 4; }
  std::vector<GeneratedSample> generate(const std::vector<GenerationRequest>&, const SampleOptions&) override { return {}; }
  std::vector<Image> decode_codes(const torch::Tensor& codes) override { return std::vector<Image>(size_t(codes.size(0)), Image(8, 8)); }
  torch::Tensor image_token_logprobs(const std::vector<std::string>& p, const torch::Tensor& c, const std::vector<bool>&) override {
    return torch::zeros({int64_t(p.size()), c.size(1)});
  }
  std::map<std::string, std::vector<torch::Tensor>> parameter_groups() override { return {}; }
  std::vector<std::string> default_train_groups() const override { return {}; }
  void train_only(const std::vector<std::string>&) override {}
  std::vector<torch::Tensor> trainable_parameters() override { return {}; }
  torch::OrderedDict<std::string, torch::Tensor> named_parameters() override {
    return torch::OrderedDict<std::string, torch::Tensor>();  // none (a braced {} would call an explicit constructor)
  }
  void set_training(bool) override {}
  void save(const std::string&, const json&) override {}
  void load_weights(const std::string&) override {}

 protected:
  std::vector<double> judge_sized(const std::vector<Image>&, const std::vector<std::string>& p, int) override {
    std::vector<double> s;
    for (auto& x : p) s.push_back(scores_.at(x));
    return s;
  }
  torch::Tensor judge_answer_logprobs_sized(const std::vector<Image>&, const std::vector<std::string>& p) override {
    auto s = torch::tensor(judge_sized({}, p, 1));
    return torch::stack({torch::log(s), torch::log1p(-s)}, 1);
  }
  torch::Tensor encode_images_sized(const std::vector<Image>& im) override { return torch::zeros({int64_t(im.size()), 4}, torch::kLong); }

 private:
  std::map<std::string, double> scores_;
};
}  // namespace

TEST(Dynamics, FpGroupNamesEveryCombination) {
  EXPECT_EQ(fp_group(false, true, false), "fp_corrected");
  EXPECT_EQ(fp_group(false, true, true), "fp_kept");
  EXPECT_EQ(fp_group(false, false, false), "tn_kept");
  EXPECT_EQ(fp_group(false, false, true), "newly_wrong_tn_to_fp");
  EXPECT_EQ(fp_group(true, true, true), "tp_kept");
  EXPECT_EQ(fp_group(true, true, false), "newly_wrong_tp_to_fn");
  EXPECT_EQ(fp_group(true, false, true), "fn_to_tp");
  EXPECT_EQ(fp_group(true, false, false), "fn_kept");
}

// One image per (external verdict, base verdict, improved verdict): each lands in its own
// group. An oracle-correct image that both models reject is a kept false negative, not an
// FN->TP (the bug of 0126141 counted every base false negative there), and the verdicts use
// the run's threshold, not 0.5.
TEST(Dynamics, FpCorrectionGroupsUseTheRunsThresholdAndKeepFalseNegativesApart) {
  Pool pool;
  std::map<std::string, double> base, improved;
  int i = 0;
  for (bool right : {false, true})
    for (bool b : {false, true})
      for (bool m : {false, true}) {
        const std::string shape = WorldSpec::v1().shapes[size_t(i % 4)];
        const std::string color = WorldSpec::v1().colors[size_t(i / 4)].name;
        pool.prompts.push_back(make_colors(shape, color));
        const std::string p = pool.prompts.back().prompt;
        base[p] = b ? 0.65 : 0.2, improved[p] = m ? 0.9 : 0.1;
        Candidate c;
        c.prompt_index = i++, c.oracle = right, c.codes = {0, 1, 2, 3};
        pool.candidates.push_back(c);
      }
  ScriptedJudge b(base), m(improved);
  json g = fp_correction_groups(b, m, pool, 0, 1, 0.5);
  for (auto name : {"fp_corrected", "fp_kept", "tn_kept", "newly_wrong_tn_to_fp", "tp_kept", "newly_wrong_tp_to_fn", "fn_to_tp",
                    "fn_kept"}) {
    ASSERT_TRUE(g.contains(name)) << name << " missing in " << g.dump();
    EXPECT_EQ(g[name]["n"], 1) << name;
  }
  // At threshold 0.7 the base's 0.65 is a rejection: no image is a base acceptance any more.
  g = fp_correction_groups(b, m, pool, 0, 1, 0.7);
  EXPECT_FALSE(g.contains("fp_corrected") || g.contains("fp_kept") || g.contains("tp_kept")) << g.dump();
  EXPECT_EQ(g["fn_to_tp"]["n"], 2);
  EXPECT_EQ(g["fn_kept"]["n"], 2);
}
