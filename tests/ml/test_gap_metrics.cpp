// The gap measurements on constructed cases where every figure is known by hand:
// a fake judge and a fake oracle with chosen verdicts.
#include <gtest/gtest.h>

#include <cmath>

#include "common/rng.h"
#include "eval/gap_metrics.h"

using namespace unigap;

namespace {
ImageRecord rec(int prompt, const std::string& tag, bool verdict, bool oracle, const std::string& level = "easy") {
  ImageRecord r;
  r.prompt_index = prompt;
  r.prompt = "prompt " + std::to_string(prompt);  // one meaning group per line unless a test says otherwise
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
  EXPECT_EQ(p.groups, 20);
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

TEST(ClusterBootstrap, EightyCopiesOfOnePromptAreOnePrompt) {
  // A suite of 80 lines of one prompt (4 images each) is one distinct prompt: no interval
  // over prompts exists, whatever the 320 images say (the line bootstrap gave a narrow one).
  Rng rng(4);
  std::vector<ImageRecord> copies;
  for (int line = 0; line < 80; ++line)
    for (int k = 0; k < 4; ++k) {
      ImageRecord r = rec(line, "colors", rng.bernoulli(0.5), rng.bernoulli(0.3));
      r.prompt = "a photo of a red circle", r.group = "colors|a photo of a red circle", r.sample = k;
      copies.push_back(r);
    }
  GapSummary one = summarize_gap(copies, 9);
  EXPECT_EQ(one.groups, 1);
  EXPECT_FALSE(defined(one.gen_overall_ci));
  EXPECT_FALSE(defined(one.non_ci));
  EXPECT_TRUE(one.to_json()["gen_overall_ci95"].is_null());
  // Beside 9 other prompts, the 80 copies weigh as one prompt holding all 320 images: the
  // interval equals that of the same images filed under a single suite line.
  std::vector<ImageRecord> mixed = copies, single = copies;
  for (auto& r : single) r.prompt_index = 0;
  for (int p = 1; p <= 9; ++p)
    for (int k = 0; k < 4; ++k) {
      ImageRecord r = rec(100 + p, "colors", rng.bernoulli(0.5), rng.bernoulli(0.5));
      r.group = "colors|prompt " + std::to_string(p);
      mixed.push_back(r), single.push_back(r);
    }
  GapSummary a = summarize_gap(mixed, 9), b = summarize_gap(single, 9);
  EXPECT_EQ(a.groups, 10);
  EXPECT_DOUBLE_EQ(a.gen_overall_ci.lo, b.gen_overall_ci.lo);
  EXPECT_DOUBLE_EQ(a.gen_overall_ci.hi, b.gen_overall_ci.hi);
  EXPECT_DOUBLE_EQ(a.non_ci.lo, b.non_ci.lo);
  // ...and it is wider than treating the 89 lines as independent prompts would make it.
  std::vector<ImageRecord> as_lines = mixed;
  for (auto& r : as_lines) r.group = "line " + std::to_string(r.prompt_index);
  GapSummary c = summarize_gap(as_lines, 9);
  EXPECT_GT(a.gen_overall_ci.hi - a.gen_overall_ci.lo, 1.5 * (c.gen_overall_ci.hi - c.gen_overall_ci.lo));
  // Restatements of one meaning are one group: the paired comparison counts groups.
  PairedGap pg = paired_gap(mixed, mixed, 1);
  EXPECT_EQ(pg.groups, 10);
}

TEST(ClusterBootstrap, StratifiedKeepsEveryTagsSize) {
  // Strata of sizes 3 and 1: every resample holds 3 clusters of stratum 0 and 1 of stratum 1.
  const std::vector<int> strata = {0, 0, 0, 1};
  auto c = stratified_bootstrap(
      strata,
      [&](const std::vector<int>& idx) {
        int s0 = 0, s1 = 0;
        for (int i : idx) (strata[size_t(i)] == 0 ? s0 : s1)++;
        EXPECT_EQ(s0, 3);
        EXPECT_EQ(s1, 1);
        return double(idx.size());
      },
      50, 2);
  EXPECT_DOUBLE_EQ(c.lo, 4.0);
  EXPECT_FALSE(defined(stratified_bootstrap({0}, [](const std::vector<int>&) { return 1.0; }, 10, 1)));
}

TEST(NonDecomposition, SplitsTheFallIntoAcceptedCorrectAndAcceptedWrong) {
  // 10 prompts x 1 image. Base: TP 2, FP 1, TN 5, FN 2 -> Non 0.7. Arm A (a laxer judge,
  // the same images): TP 2, FP 4, TN 2, FN 2 -> Non 0.4: the fall of 0.3 is all new FPs.
  // Arm B (better images): TP 5, FP 1, TN 2, FN 2 -> Non 0.4: all new TPs.
  auto make = [](std::vector<std::pair<bool, bool>> vo) {
    std::vector<ImageRecord> r;
    for (size_t i = 0; i < vo.size(); ++i) r.push_back(rec(int(i), i < 5 ? "a" : "b", vo[i].first, vo[i].second));
    return r;
  };
  using P = std::pair<bool, bool>;  // (verdict, oracle)
  const P TP{true, true}, FP{true, false}, TN{false, false}, FN{false, true};
  auto base = make({TP, TP, FP, TN, TN, TN, TN, TN, FN, FN});
  auto lax = make({TP, TP, FP, FP, FP, FP, TN, TN, FN, FN});
  auto better = make({TP, TP, FP, TP, TP, TP, TN, TN, FN, FN});
  NonDecomposition a = decompose_non(base, lax, 5);
  EXPECT_NEAR(a.d_non, -0.3, 1e-12);
  EXPECT_NEAR(a.d_fp, 0.3, 1e-12);
  EXPECT_NEAR(a.d_tp, 0.0, 1e-12);
  EXPECT_NEAR(-a.d_non, a.d_tp + a.d_fp, 1e-12);  // exact split
  EXPECT_EQ(a.reading, "laxer judge");
  EXPECT_EQ(a.now.fp, 4);
  EXPECT_DOUBLE_EQ(*a.now.precision().value(), 2.0 / 6);
  NonDecomposition b = decompose_non(base, better, 5);
  EXPECT_NEAR(b.d_tp, 0.3, 1e-12);
  EXPECT_NEAR(b.d_fp, 0.0, 1e-12);
  EXPECT_EQ(b.reading, "better images");
  EXPECT_LE(b.d_tp_ci.lo, b.d_tp);
  EXPECT_GE(b.d_tp_ci.hi, b.d_tp);
  EXPECT_EQ(decompose_non(base, base, 5).reading, "no fall");
  // Mixed: one more TP and three more FPs (a fall of 0.4) -> mostly a laxer judge.
  auto mixed = make({TP, TP, FP, TP, FP, FP, FP, TN, FN, FN});
  EXPECT_EQ(decompose_non(base, mixed, 5).reading, "mostly a laxer judge");
}

TEST(NonDecomposition, AurocByHand) {
  // Scores of correct images 0.9, 0.6, 0.4; of wrong ones 0.5, 0.4, 0.1. Pairs where the correct
  // one scores higher: 0.9 beats 3, 0.6 beats 3, 0.4 beats 1 and ties 1 -> (3 + 3 + 1.5) / 9.
  std::vector<ImageRecord> r;
  for (double s : {0.9, 0.6, 0.4}) r.push_back(rec(0, "a", true, true)), r.back().score = s;
  for (double s : {0.5, 0.4, 0.1}) r.push_back(rec(0, "a", true, false)), r.back().score = s;
  std::vector<const ImageRecord*> p;
  for (auto& x : r) p.push_back(&x);
  EXPECT_NEAR(auroc(p), 7.5 / 9, 1e-12);
  p.resize(3);  // only correct images: undefined
  EXPECT_TRUE(std::isnan(auroc(p)));
}

TEST(StudyStats, HierarchicalBootstrapResamplesSeedsThenGroups) {
  // Two pretraining seeds x three fine-tuning seeds; a statistic that is 0 on every unit of
  // pretraining seed 0 and 1 on seed 1: the drawn pretraining seeds decide it, so the interval
  // runs from 0 (both draws seed 0) to 1 (both seed 1), and the groups change nothing.
  const std::vector<int> top = {0, 0, 0, 1, 1, 1};
  const std::vector<int> strata = {0, 0, 1, 1};
  auto by_seed = [&](const std::vector<int>& units, const std::vector<int>&) {
    double s = 0;
    for (int u : units) s += top[size_t(u)];
    return s / double(units.size());
  };
  BootstrapDist d = hierarchical_bootstrap(top, strata, by_seed, 400, 3);
  EXPECT_EQ(d.values.size(), 400u);
  EXPECT_DOUBLE_EQ(d.ci95().lo, 0.0);
  EXPECT_DOUBLE_EQ(d.ci95().hi, 1.0);
  // One pretraining seed: no seed-level variation left from that level.
  BootstrapDist one = hierarchical_bootstrap({0, 0, 0}, strata, by_seed, 100, 3);
  EXPECT_DOUBLE_EQ(one.ci95().lo, 0.0);
  EXPECT_DOUBLE_EQ(one.ci95().hi, 0.0);
  // Groups resampled within their tags: a statistic constant within each tag never moves.
  const std::vector<double> x = {0.2, 0.2, 0.7, 0.7};
  BootstrapDist g = hierarchical_bootstrap(top, strata, [&](const std::vector<int>&, const std::vector<int>& gs) {
    double s = 0;
    for (int i : gs) s += x[size_t(i)];
    return s / double(gs.size());
  }, 200, 5);
  EXPECT_NEAR(g.ci95().lo, 0.45, 1e-12);
  EXPECT_NEAR(g.ci95().hi, 0.45, 1e-12);
  // One-sided p of "> 0" when every resample is positive: 1 / (reps + 1).
  BootstrapDist pos;
  pos.values = {0.1, 0.2, 0.3};
  EXPECT_DOUBLE_EQ(pos.p_one_sided(+1), 0.25);
  EXPECT_DOUBLE_EQ(pos.p_one_sided(-1), 1.0);
  // A single group: no interval.
  EXPECT_TRUE(hierarchical_bootstrap(top, {0}, by_seed, 10, 1).values.empty());
}

TEST(StudyStats, MinimumDetectableEffectAndHolm) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-9);
  EXPECT_NEAR(normal_quantile(0.8), 0.8416212335729143, 1e-9);
  EXPECT_NEAR(normal_quantile(0.5), 0.0, 1e-12);
  // se 1, alpha 0.05, power 0.8: 1.95996 + 0.84162 = 2.80158.
  EXPECT_NEAR(minimum_detectable_effect(1.0, 0.05), 2.801585218, 1e-8);
  // Holm at 0.05 over four: the smallest (0.01 <= 0.0125) is rejected, the next (0.03 > 0.0167) stops it.
  EXPECT_EQ(holm({0.01, 0.04, 0.03, 0.5}, 0.05), (std::vector<bool>{true, false, false, false}));
  // 0.001 <= 0.0167, 0.012 <= 0.025, 0.02 <= 0.05: all three.
  EXPECT_EQ(holm({0.001, 0.02, 0.012}, 0.05), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(holm({0.2, 0.001}, 0.05), (std::vector<bool>{false, true}));
}
