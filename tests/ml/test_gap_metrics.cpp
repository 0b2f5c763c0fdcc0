// The gap measurements on constructed cases where every figure is known by hand:
// a fake judge and a fake oracle with chosen verdicts.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/gap_metrics.h"

using namespace unigap;

namespace {
ImageRecord rec(int prompt, const std::string& tag, bool verdict, bool oracle, const std::string& level = "easy") {
  ImageRecord r;
  r.prompt_index = prompt;
  r.tag = tag;
  r.level = level;
  r.verdict = verdict;
  r.score = verdict ? 0.9 : 0.1;
  r.oracle = oracle;
  return r;
}
}  // namespace

TEST(Wilson, KnownValues) {
  // 8/10: Wilson 95% = [0.4902, 0.9433] (e.g. statsmodels proportion_confint method="wilson").
  auto c = wilson(8, 10);
  EXPECT_NEAR(c.lo, 0.4902, 1e-4);
  EXPECT_NEAR(c.hi, 0.9433, 1e-4);
  c = wilson(0, 20);
  EXPECT_NEAR(c.lo, 0.0, 1e-12);
  EXPECT_NEAR(c.hi, 0.1611, 1e-4);
  c = wilson(0, 0);
  EXPECT_EQ(c.lo, 0.0);
  EXPECT_EQ(c.hi, 1.0);
}

TEST(GapMetrics, HandCountedConfusionNonWeakGen) {
  // 10 images: TP 3, FP 2, TN 4, FN 1.
  std::vector<ImageRecord> r;
  for (int i = 0; i < 3; ++i) r.push_back(rec(i, "colors", true, true));
  for (int i = 0; i < 2; ++i) r.push_back(rec(3 + i, "colors", true, false));
  for (int i = 0; i < 4; ++i) r.push_back(rec(5 + i, "counting", false, false, "hard"));
  r.push_back(rec(9, "counting", false, true, "hard"));
  auto s = summarize_gap(r, 1);
  const auto& p = s.pooled;
  EXPECT_EQ(p.confusion.tp, 3);
  EXPECT_EQ(p.confusion.fp, 2);
  EXPECT_EQ(p.confusion.tn, 4);
  EXPECT_EQ(p.confusion.fn, 1);
  EXPECT_DOUBLE_EQ(*p.gen.value(), 0.4);      // 4 correct of 10
  EXPECT_DOUBLE_EQ(*p.non.value(), 0.5);      // 5 rejected
  EXPECT_DOUBLE_EQ(*p.weakgen.value(), 0.8);  // TN / (TN + FN) = 4 / 5
  EXPECT_DOUBLE_EQ(*p.confusion.precision().value(), 0.6);
  EXPECT_DOUBLE_EQ(*p.confusion.recall().value(), 0.75);
  // Per tag: colors Gen 3/5, counting Gen 1/5; overall = mean of tags = 0.4.
  EXPECT_DOUBLE_EQ(*s.by_tag["colors"].gen.value(), 0.6);
  EXPECT_DOUBLE_EQ(*s.by_tag["counting"].gen.value(), 0.2);
  EXPECT_DOUBLE_EQ(s.gen_overall, 0.4);
  EXPECT_DOUBLE_EQ(*s.by_level["hard"].non.value(), 1.0);
  // Bootstrap interval contains the estimate and is a real interval.
  EXPECT_LE(s.gen_overall_ci.lo, 0.4);
  EXPECT_GE(s.gen_overall_ci.hi, 0.4);
  EXPECT_LT(s.gen_overall_ci.lo, s.gen_overall_ci.hi);
}

TEST(GapMetrics, GenOverallIsMeanOfTagsNotPooled) {
  std::vector<ImageRecord> r;
  // Tag a: 1/1 correct; tag b: 0/3 correct. Pooled 25%, GenEval overall 50%.
  r.push_back(rec(0, "a", true, true));
  for (int i = 0; i < 3; ++i) r.push_back(rec(1 + i, "b", true, false));
  auto s = summarize_gap(r, 1);
  EXPECT_DOUBLE_EQ(s.gen_overall, 0.5);
  EXPECT_DOUBLE_EQ(*s.pooled.gen.value(), 0.25);
}

TEST(GapMetrics, WeakGenUndefinedWhenNothingRejected) {
  std::vector<ImageRecord> r = {rec(0, "a", true, true), rec(1, "a", true, false)};
  auto s = summarize_gap(r, 1);
  EXPECT_FALSE(s.pooled.weakgen.value().has_value());
  EXPECT_TRUE(s.pooled.to_json()["weakgen"]["value"].is_null());
}

TEST(GapMetrics, PromptsWithAnyCorrectImage) {
  std::vector<ImageRecord> r = {rec(0, "a", true, false), rec(0, "a", true, true), rec(1, "a", true, false),
                                rec(1, "a", false, false)};
  auto g = summarize_gap(r, 1).pooled;
  EXPECT_EQ(g.prompts, 2);
  EXPECT_EQ(g.prompts_any_correct, 1);
}

TEST(WinRate, CountsOnlyDisagreements) {
  // ref, new, oracle for 6 images.
  std::vector<bool> ref = {true, true, false, false, true, false};
  std::vector<bool> now = {false, true, true, false, false, true};
  std::vector<bool> orc = {false, true, true, false, true, false};
  auto c = compare_judges(ref, now, orc);
  // Disagreements at 0 (now right), 2 (now right), 4 (now wrong), 5 (now wrong): 2/4.
  EXPECT_EQ(c.win_rate.n, 4);
  EXPECT_EQ(c.win_rate.k, 2);
  EXPECT_EQ(c.fp_to_tn, 1);  // image 0
  EXPECT_EQ(c.fn_to_tp, 1);  // image 2
  EXPECT_EQ(c.tp_to_fn, 1);  // image 4
  EXPECT_EQ(c.tn_to_fp, 1);  // image 5
}

TEST(WinRate, ZeroDisagreementsIsUndefinedNotFifty) {
  std::vector<bool> v = {true, false, true};
  auto c = compare_judges(v, v, {true, true, false});
  EXPECT_EQ(c.win_rate.n, 0);
  EXPECT_FALSE(c.win_rate.value().has_value());
  auto j = c.to_json();
  EXPECT_TRUE(j["win_rate"]["value"].is_null());
  EXPECT_EQ(j["win_rate"]["n"], 0);
}

TEST(Und, RatesOnRenderedPairs) {
  std::vector<PairRecord> p = {
      {"a", "easy", true, false, 0.9, true},   // TP
      {"a", "easy", true, false, 0.2, false},  // FN
      {"a", "easy", false, true, 0.8, true},   // hard negative accepted (FP)
      {"a", "easy", false, true, 0.1, false},  // hard negative rejected
      {"a", "easy", false, false, 0.1, false}, // easy negative rejected
  };
  auto s = summarize_und(p);
  EXPECT_EQ(s.overall.accuracy.k, 3);
  EXPECT_EQ(s.overall.accuracy.n, 5);
  EXPECT_DOUBLE_EQ(*s.overall.fn_rate.value(), 0.5);
  EXPECT_DOUBLE_EQ(*s.overall.fp_rate.value(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(*s.overall.hard_negative_accuracy.value(), 0.5);
}

TEST(Stats, MeanStdAndBootstrap) {
  auto m = mean_std({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(m.mean, 2.5);
  EXPECT_NEAR(m.std, std::sqrt(5.0 / 3.0), 1e-12);
  // Bootstrap of a constant statistic is a point.
  auto c = bootstrap(10, [](const std::vector<int>&) { return 0.3; }, 200, 1);
  EXPECT_DOUBLE_EQ(c.lo, 0.3);
  EXPECT_DOUBLE_EQ(c.hi, 0.3);
}

TEST(Stats, NewcombeDifferenceAndTIntervalOfTheMean) {
  // Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 - 48/80 = 0.2,
  // hybrid score interval [0.0524, 0.3339].
  auto d = newcombe_difference(Rate{56, 70}, Rate{48, 80});
  EXPECT_NEAR(d.lo, 0.0524, 1e-4);
  EXPECT_NEAR(d.hi, 0.3339, 1e-4);
  // {1, 2, 3, 4}: mean 2.5, std 1.291, t(0.975, 3) = 3.182 -> 2.5 +- 2.054.
  auto t = mean_ci95(mean_std({1, 2, 3, 4}));
  EXPECT_NEAR(t.lo, 0.446, 1e-3);
  EXPECT_NEAR(t.hi, 4.554, 1e-3);
  EXPECT_TRUE(std::isinf(mean_ci95(mean_std({1})).hi));
}

TEST(PairedGap, DifferencesAndPairedIntervals) {
  // 20 lines, 2 tags. Base: tag a right on lines 0-4 of 10, tag b on none; the improved model
  // adds line 5 of tag a and lines 10-11 of tag b, and its judge accepts 4 more images.
  std::vector<ImageRecord> base, now;
  for (int i = 0; i < 20; ++i) {
    const std::string tag = i < 10 ? "a" : "b";
    base.push_back(rec(i, tag, i < 5, i < 5));
    const bool right = i < 6 || i == 10 || i == 11;
    now.push_back(rec(i, tag, i < 9, right));
  }
  now.push_back(rec(99, "b", true, true));  // a line the base does not have: ignored
  PairedGap p = paired_gap(base, now, 3);
  EXPECT_EQ(p.lines, 20);
  // Gen overall: base (0.5 + 0) / 2 = 0.25; now (0.6 + 0.2) / 2 = 0.4.
  EXPECT_NEAR(p.d_gen, 0.15, 1e-12);
  // Non: base rejects 15 of 20, now 11 of 20.
  EXPECT_NEAR(p.d_non, -0.2, 1e-12);
  // Every line changes in one direction only, so no resample can reverse the sign.
  EXPECT_GE(p.d_gen_ci.lo, 0.0);
  EXPECT_LE(p.d_gen_ci.lo, p.d_gen);
  EXPECT_GE(p.d_gen_ci.hi, p.d_gen);
  EXPECT_LE(p.d_non_ci.hi, 0.0);
  EXPECT_LT(p.d_non_ci.lo, -0.05);
  // A model against itself: exactly zero, with a zero-width interval.
  PairedGap same = paired_gap(base, base, 3);
  EXPECT_EQ(same.d_gen, 0.0);
  EXPECT_EQ(same.d_gen_ci.lo, 0.0);
  EXPECT_EQ(same.d_gen_ci.hi, 0.0);
}
