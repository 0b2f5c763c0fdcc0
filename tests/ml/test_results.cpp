// The results aggregator (report/results.h) on hand-made run folders: paired differences,
// pooled win rates, and the verdict rules, with numbers chosen so that each rule is hit.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "dynamics/held_out.h"
#include "io/atomic_file.h"
#include "report/claims.h"
#include "report/results.h"
#include "report/variants.h"
#include "test_util.h"

using namespace unigap;

namespace {

json eval_summary(double gen, double und, double non, int64_t win_k, int64_t win_n, int64_t fptn, int64_t tnfp) {
  json e = {{"images", 100},
            {"gap", {{"gen_overall", gen},
                     {"pooled", {{"non", {{"value", non}}}, {"weakgen", {{"value", 0.9}}}}},
                     {"by_tag", {{"colors", {{"gen", {{"value", gen}}}, {"non", {{"value", non}}}}}}}}},
            {"und", {{"overall", {{"accuracy", {{"value", und}}}}}}}};
  if (win_n > 0 || fptn > 0 || tnfp > 0)
    e["vs_ref"] = {{"win_rate", {{"k", win_k}, {"n", win_n}}}, {"fp_to_tn", fptn}, {"tn_to_fp", tnfp}};
  return {{"per_seed", {e}}};
}

// improve: options that replace the SFT defaults (e.g. {"method", "grpo"}, {"lr", 1e-5}).
void write_arm(const std::string& D, const std::string& name, const std::string& supervision, std::vector<int> replay,
               const json& eval, int64_t prec_k, int64_t prec_n, const json& improve = json::object()) {
  std::filesystem::create_directories(D + "/" + name);
  json options = {{"method", "sft"}, {"supervision", supervision}, {"curriculum_epochs", replay}, {"train_prompts", 10},
                  {"candidates", 2}, {"candidate_cfg", 2.0}, {"candidate_temperature", 1.0}, {"epochs", 4},
                  {"batch", 32}, {"lr", 1e-4}, {"prompt_dropout", 0.1}, {"train_groups", {"backbone"}}};
  options.update(improve);
  write_json(D + "/" + name + "/config.json", {{"command", "improve"}, {"improve", options}});
  write_json(D + "/" + name + "/summary.json",
             {{"sft_samples", 50},
              {"discarded_initially", 6},
              {"joined_at_replay", replay.empty() ? json::array() : json::array({2})},
              {"audit", {{"precision", {{"k", prec_k}, {"n", prec_n}}}, {"accept_rate", {{"k", prec_n}, {"n", 100}}}}},
              {"seconds", 120.0}});
  std::filesystem::create_directories(D + "/eval-" + name);
  write_json(D + "/eval-" + name + "/summary.json", eval);
}

// Seeds 0 and 1, each with the base's evaluation and one self-SFT arm.
void write_two_seeds_of_self_sft(const std::string& R) {
  for (int s = 0; s < 2; ++s) {
    const std::string D = R + "/s" + std::to_string(s);
    std::filesystem::create_directories(D + "/eval-base");
    write_json(D + "/eval-base/summary.json", eval_summary(0.2, 0.9, 0.7, 0, 0, 0, 0));
    write_arm(D, "sft-self", "self", {}, eval_summary(0.22, 0.9, 0.65, 5, 10, 3, 2), 60, 100);
  }
}

// build_results' refusal of a study: its message, or "" and a test failure when it built the page.
std::string refusal_of(const std::string& runs) {
  try {
    build_results(runs);
  } catch (const UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a refusal of " << runs;
  return "";
}

const json* claim(const json& data, const std::string& prefix) {
  for (auto& c : data["claims"])
    if (c["claim"].get<std::string>().rfind(prefix, 0) == 0) return &c;
  return nullptr;
}

}  // namespace

TEST(Results, PairedVerdictFollowsTheTInterval) {
  EXPECT_EQ(paired_verdict({0.030, 0.031, 0.029}, +1), "reproduced");      // tight, positive
  EXPECT_EQ(paired_verdict({0.05, -0.01, 0.02}, +1), "inconclusive");     // positive mean, interval spans 0
  EXPECT_EQ(paired_verdict({-0.02, -0.01, 0.005}, +1), "not reproduced");  // mean on the wrong side
  EXPECT_EQ(paired_verdict({-0.05, -0.04, -0.06}, -1), "reproduced");     // a claimed fall
  EXPECT_EQ(paired_verdict({0.02}, +1), "inconclusive (one seed)");
  EXPECT_EQ(paired_verdict({}, +1), "not measured");
}

TEST(Results, AggregatesSeedsAndJudgesEachClaim) {
  TempDir t;
  const std::string R = t.path + "/runs";
  const double base_gen[] = {0.20, 0.22}, base_und[] = {0.90, 0.91}, base_non[] = {0.70, 0.68};
  for (int s = 0; s < 2; ++s) {
    const std::string D = R + "/s" + std::to_string(s);
    std::filesystem::create_directories(D + "/eval-base");
    write_json(D + "/eval-base/summary.json", eval_summary(base_gen[s], base_und[s], base_non[s], 0, 0, 0, 0));
    // Self SFT: Gen +3.0 / +3.2 pts, Non -5.0 / -5.1 pts; its judge wins 30 of 40 disagreements.
    write_arm(D, "sft-self", "self", {}, eval_summary(base_gen[s] + 0.030 + 0.002 * s, base_und[s], base_non[s] - 0.05 - 0.001 * s, 15, 20, 12, 3), 60, 100);
    // Replay: +1.0 / +0.9 pts over plain SFT.
    write_arm(D, "sft-replay", "self", {2}, eval_summary(base_gen[s] + 0.040 + 0.001 * s, base_und[s], base_non[s] - 0.05, 10, 20, 5, 5), 60, 100);
    // Inverted: Gen and Und fall, Non falls; precision 5/100 is flagged.
    write_arm(D, "sft-inverted", "inverted", {}, eval_summary(base_gen[s] - 0.10, base_und[s] - 0.05 - 0.001 * s, base_non[s] - 0.2, 2, 20, 1, 9), 5, 100);
    // GRPO: no pool and no audit; what it trained on is its rollouts.
    write_arm(D, "grpo-self", "self", {}, eval_summary(base_gen[s] + 0.01, base_und[s], base_non[s] - 0.02, 5, 10, 2, 2), 60, 100,
              {{"method", "grpo"}});
    json sum = read_json(D + "/grpo-self/summary.json");
    sum["sft_samples"] = 0, sum["rollouts"] = 1600;
    sum.erase("audit");
    write_json(D + "/grpo-self/summary.json", sum);
  }
  std::filesystem::create_directories(R + "/s0/notes");  // not a run: ignored
  ResultsTable r = build_results(R);
  EXPECT_EQ(r.data["seeds"], json::array({0, 1}));
  ASSERT_EQ(r.data["arms"]["sft-self"]["per_seed"].size(), 2u);
  EXPECT_NEAR(r.data["arms"]["sft-self"]["per_seed"][1]["d_gen"].get<double>(), 0.032, 1e-12);

  const json* c2 = claim(r.data, "2a.");
  ASSERT_TRUE(c2);
  EXPECT_EQ((*c2)["verdict"], "reproduced") << (*c2)["evidence"];
  const json* c3 = claim(r.data, "3.");
  ASSERT_TRUE(c3);
  EXPECT_NE((*c3)["evidence"].get<std::string>().find("FP->TN 24 vs TN->FP 6"), std::string::npos) << (*c3)["evidence"];
  EXPECT_EQ((*c3)["verdict"], "reproduced");  // 30/40 = 75%, Wilson [59.8, 85.8]
  const json* c5 = claim(r.data, "5.");
  ASSERT_TRUE(c5);
  EXPECT_EQ((*c5)["verdict"], "reproduced; audit: flagged") << (*c5)["evidence"];
  const json* c6 = claim(r.data, "6b.");
  ASSERT_TRUE(c6);
  EXPECT_EQ((*c6)["verdict"], "reproduced") << (*c6)["evidence"];  // +1.0, +0.9: [+0.3, +1.6]

  // The page: the base row and the paired difference of self SFT with its interval.
  EXPECT_NE(r.markdown.find("| base | 2 | 21.0 &plusmn; 1.4 |"), std::string::npos) << r.markdown;
  EXPECT_NE(r.markdown.find("+3.1 [+1.8, +4.4]"), std::string::npos) << r.markdown;
  EXPECT_NE(r.markdown.find("| grpo-self: GRPO, self supervision |"), std::string::npos) << r.markdown;
  EXPECT_NE(r.markdown.find("1600 rollouts"), std::string::npos) << r.markdown;
  EXPECT_EQ(r.data["arms"]["grpo-self"]["per_seed"][0]["rollouts"], 1600);
}

// Each model's evaluation guidance, chosen on validation (summary.json "guidance"), is tabulated
// per seed; a study whose evaluations were given their guidance has no such table.
TEST(Results, TheGuidanceEachModelChoseOnValidationIsTabulatedPerSeed) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);
  EXPECT_EQ(build_results(R).markdown.find("## Evaluation guidance"), std::string::npos);
  // look: 0 = before the two-look rule, 1 = decided by the first look, 2 = by the second.
  auto chose = [&](const std::string& file, double w, int look) {
    json j = read_json(file);
    j["guidance"] = {{"chosen", w}, {"split", "val"}, {"prompts", 120}, {"gen_by_cfg", json::array()}};
    if (look > 0) j["guidance"]["rule"] = "two-stage", j["guidance"]["margins"] = json::array();
    j["guidance"]["second"] = look == 2 ? json{{"prompts", 464}, {"gen_by_cfg", json::array()}} : json();
    write_json(file, j);
  };
  chose(R + "/s0/eval-base/summary.json", 2, 1), chose(R + "/s1/eval-base/summary.json", 3, 2);
  chose(R + "/s0/eval-sft-self/summary.json", 1, 0);  // seed 1's arm was evaluated at a given weight
  const ResultsTable r = build_results(R);
  EXPECT_NE(r.markdown.find("| model | seed 0 | seed 1 |\n|---|---|---|\n| base | 2 | 3 (2nd) |\n| sft-self | 1 (1 look) | - |\n"),
            std::string::npos)
      << r.markdown;
  EXPECT_EQ(r.data["guidance"]["sft-self"], json::array({1.0, nullptr}));
  EXPECT_EQ(r.data["guidance_look"]["base"], json::array({"first look", "second look"}));
  EXPECT_EQ(r.data["guidance_look"]["sft-self"], json::array({"one look", nullptr}));
}

// GRPO's learning rate is chosen on the validation split: the self-reward arms' tracking Gen at
// the end, mean over the seeds that ran every rate; tracking on another split chooses nothing.
TEST(Results, GrpoLearningRateIsChosenOnTheValidationTracking) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);
  auto grpo = [&](int seed, const std::string& name, double lr, double final_gen, const std::string& split) {
    const std::string D = R + "/s" + std::to_string(seed);
    write_arm(D, name, "self", {}, eval_summary(0.2, 0.9, 0.6, 5, 10, 3, 2), 60, 100, {{"method", "grpo"}, {"lr", lr}});
    // Records of both styles: the split named, or (older runs) the split its guidance was chosen on.
    write_jsonl(D + "/" + name + "/metrics.jsonl",
                {{{"kind", "eval"}, {"epoch", 0}, {"gen", 0.3}, {"split", split}},
                 {{"kind", "eval"}, {"epoch", 1}, {"gen", final_gen}, {"guidance", {{"chosen", 2.0}, {"split", split}}}}});
  };
  // Seed 0: 1e-4 ends at 15%, 1e-5 at 31%; seed 1: 18% and 29%. Seed 2 ran 1e-4 only: not compared.
  grpo(0, "grpo-self", 1e-4, 0.15, "val"), grpo(1, "grpo-self", 1e-4, 0.18, "val");
  grpo(0, "grpo-self-lr1e-5", 1e-5, 0.31, "val"), grpo(1, "grpo-self-lr1e-5", 1e-5, 0.29, "val");
  std::filesystem::create_directories(R + "/s2/eval-base");
  write_json(R + "/s2/eval-base/summary.json", eval_summary(0.2, 0.9, 0.7, 0, 0, 0, 0));
  grpo(2, "grpo-self", 1e-4, 0.5, "val");
  const RateChoice r = choose_rate(read_study(R), "grpo");
  EXPECT_EQ(r.chosen, 1e-5);
  EXPECT_EQ(r.seeds, (std::vector<int>{0, 1}));
  ASSERT_EQ(r.gen.size(), 2u);
  EXPECT_NEAR(r.gen[0].second, 0.30, 1e-12);  // 1e-5 first (the map's order)
  EXPECT_NEAR(r.gen[1].second, 0.165, 1e-12);
  const Study st = read_study(R);
  const Arm* chosen = st.find([&](const Arm& a) { return a.method == "grpo"; });  // the study's own choice
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->name, "grpo-self-lr1e-5");
  EXPECT_TRUE(std::isnan(choose_rate(st, "sft").chosen));  // one SFT rate: nothing to choose
  EXPECT_NE(build_results(R).markdown.find("GRPO's learning rate, chosen on validation: **1e-5**, the highest Gen of the GRPO "
                                           "self-supervised arms' held-out tracking (validation split) at the end of training, "
                                           "mean over seeds 0, 1 (1e-5: 30.00%, 1e-4: 16.50%)"),
            std::string::npos);

  // Tracking on the eval split (a version 1 world) may not tune: no choice, every GRPO arm admitted.
  grpo(0, "grpo-self-lr1e-5", 1e-5, 0.31, "eval");
  EXPECT_EQ(choose_rate(read_study(R), "grpo").seeds, std::vector<int>{1});  // seed 1 still compares both
  grpo(1, "grpo-self-lr1e-5", 1e-5, 0.29, "eval");
  const RateChoice none = choose_rate(read_study(R), "grpo");
  EXPECT_TRUE(std::isnan(none.chosen));
  EXPECT_TRUE(none.admits(*chosen));
}

// The same rule for every method: self-SFT at a second learning rate is a tuning run until the
// validation tracking chooses it; then every claim and endpoint of self-SFT reads it.
TEST(Results, SftLearningRateIsChosenOnTheValidationTrackingLikeGrpos) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);  // lr 1e-4, Gen +2 points on eval
  auto tracked = [&](int seed, const std::string& name, double final_val_gen) {
    write_jsonl(R + "/s" + std::to_string(seed) + "/" + name + "/metrics.jsonl",
                {{{"kind", "eval"}, {"epoch", 4}, {"gen", final_val_gen}, {"split", "val"}}});
  };
  for (int s = 0; s < 2; ++s) {
    const std::string D = R + "/s" + std::to_string(s);
    write_arm(D, "sft-self-lr3e-5", "self", {}, eval_summary(0.26, 0.9, 0.65, 5, 10, 3, 2), 60, 100, {{"lr", 3e-5}});  // Gen +6 points
    tracked(s, "sft-self", 0.24);
  }
  tracked(0, "sft-self-lr3e-5", 0.22), tracked(1, "sft-self-lr3e-5", 0.23);
  // 1e-4 ends higher on validation (24% against 22.5%): the declared rate stays, +2 points.
  Study st = read_study(R);
  EXPECT_EQ(st.rates.by_method.size(), 1u);
  EXPECT_EQ(choose_rate(st, "sft").chosen, 1e-4);
  ResultsTable res = build_results(R);
  EXPECT_EQ(res.data["learning_rates"]["sft"]["chosen"], 1e-4);
  ASSERT_TRUE(claim(res.data, "2a."));
  EXPECT_NE((*claim(res.data, "2a."))["evidence"].get<std::string>().find("Gen +2.0"), std::string::npos);
  // The eval split's better figure (+6) never votes; validation does: 3e-5 ends at 26%.
  tracked(0, "sft-self-lr3e-5", 0.26), tracked(1, "sft-self-lr3e-5", 0.26);
  st = read_study(R);
  EXPECT_EQ(choose_rate(st, "sft").chosen, 3e-5);
  const Arm* self = st.find([](const Arm& a) { return a.method == "sft" && a.supervision == "self"; });
  ASSERT_TRUE(self);
  EXPECT_EQ(self->name, "sft-self-lr3e-5");
  res = build_results(R);
  EXPECT_NE((*claim(res.data, "2a."))["evidence"].get<std::string>().find("Gen +6.0"), std::string::npos);
  EXPECT_NE(res.markdown.find("SFT's learning rate, chosen on validation: **3e-5**"), std::string::npos);
  ASSERT_TRUE(res.data["arms"].contains("sft-self"));  // the tuning run stays on the page, labelled
  EXPECT_NE(res.markdown.find("| sft-self: SFT, self supervision (tuning run) |"), std::string::npos);
  EXPECT_NE(res.markdown.find("| sft-self-lr3e-5: SFT, self supervision, lr 3e-5 |"), std::string::npos);
}

// The declared epochs set against the validation split: each arm's tracking Gen per epoch, mean
// over the seeds tracked on validation at every epoch; a seed with an epoch on another split
// stays out, and a one-epoch arm (GRPO) has no row.
TEST(Results, EpochsOnValidationReadTheTrackingOfEveryEpoch) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);
  auto tracked = [&](int seed, const std::string& name, std::vector<double> gen, const std::string& split_of_epoch_2) {
    std::vector<json> lines;
    for (size_t e = 0; e < gen.size(); ++e)
      lines.push_back({{"kind", "eval"}, {"epoch", e}, {"gen", gen[e]}, {"split", e == 2 ? split_of_epoch_2 : "val"}});
    write_jsonl(R + "/s" + std::to_string(seed) + "/" + name + "/metrics.jsonl", lines);
  };
  tracked(0, "sft-self", {0.30, 0.26, 0.30, 0.25, 0.28}, "val");
  tracked(1, "sft-self", {0.29, 0.26, 0.24, 0.24, 0.25}, "val");
  std::filesystem::create_directories(R + "/s2/eval-base");
  write_json(R + "/s2/eval-base/summary.json", eval_summary(0.2, 0.9, 0.7, 0, 0, 0, 0));
  write_arm(R + "/s2", "sft-self", "self", {}, eval_summary(0.22, 0.9, 0.65, 5, 10, 3, 2), 60, 100);
  tracked(2, "sft-self", {0.29, 0.9, 0.9, 0.9, 0.9}, "eval");  // epoch 2 on eval: never read
  write_arm(R + "/s0", "grpo-self", "self", {}, eval_summary(0.2, 0.9, 0.6, 5, 10, 3, 2), 60, 100, {{"method", "grpo"}});
  tracked(0, "grpo-self", {0.30, 0.35}, "val");

  const ResultsTable r = build_results(R);
  const json& e = r.data["epochs_on_validation"];
  ASSERT_TRUE(e.contains("sft-self")) << r.markdown;
  EXPECT_FALSE(e.contains("grpo-self"));
  EXPECT_EQ(e["sft-self"]["seeds"], json::array({0, 1}));
  EXPECT_EQ(e["sft-self"]["best_epoch"], 2);  // 27.0 against 26.0, 24.5 and the last, 26.5
  EXPECT_EQ(e["sft-self"]["last_epoch"], 4);
  EXPECT_NEAR(e["sft-self"]["val_gen"][3].get<double>(), 0.245, 1e-12);
  EXPECT_NE(r.markdown.find("| sft-self | 0 1 | 29.5 | 26.0 | **27.0** | 24.5 | 26.5 | 2 | +0.5 |"), std::string::npos) << r.markdown;
}

// A budget-matched baseline (unfiltered SFT on every candidate, --sft-samples) says how many of
// its samples it trains on per epoch, so the page does not read as an unmatched budget.
TEST(Results, ABudgetMatchedArmShowsItsSamplesPerEpoch) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);
  for (int s = 0; s < 2; ++s)
    write_arm(R + "/s" + std::to_string(s), "sft-all", "all", {}, eval_summary(0.21, 0.9, 0.6, 5, 10, 3, 2), 100, 100,
              {{"sft_samples", 40}});
  const std::string md = build_results(R).markdown;
  EXPECT_NE(md.find("| 50 samples, 40 per epoch |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 50 samples |"), std::string::npos);  // sft-self: every accepted sample, every epoch
}

TEST(Results, AnArmRunWithOtherOptionsInAnotherSeedIsRefused) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);
  EXPECT_NO_THROW(build_results(R));
  json cfg = read_json(R + "/s1/sft-self/config.json");
  cfg["improve"]["epochs"] = 6;
  write_json(R + "/s1/sft-self/config.json", cfg);
  const std::string m = refusal_of(R);
  EXPECT_NE(m.find("s1/sft-self/config.json"), std::string::npos) << m;
  EXPECT_NE(m.find("epochs = 6"), std::string::npos) << m;
  cfg["improve"]["epochs"] = 4;
  write_json(R + "/s1/sft-self/config.json", cfg);

  // What a seed takes from its own runs may differ (a matched arm's --sft-samples is its seed's
  // self-SFT count, E4's --train-suite is its seed's prompts), but an arm has it in every seed or in none.
  for (int s = 0; s < 2; ++s)
    write_arm(R + "/s" + std::to_string(s), "sft-all", "all", {}, eval_summary(0.21, 0.9, 0.6, 5, 10, 3, 2), 100, 100,
              {{"sft_samples", 9057 + 139 * s}, {"train_suite", R + "/s" + std::to_string(s) + "/e4-prompts.jsonl"}});
  EXPECT_NO_THROW(build_results(R));
  json all = read_json(R + "/s1/sft-all/config.json");
  all["improve"].erase("sft_samples");
  write_json(R + "/s1/sft-all/config.json", all);
  const std::string unmatched = refusal_of(R);  // sft-all matched in seed 0 only
  EXPECT_NE(unmatched.find("sft_samples = null"), std::string::npos) << unmatched;
}

// Seeds of a study can come from several commits and machines: the page says which ran what.
TEST(Results, ProvenanceNamesTheCommitAndMachineOfEachStage) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);
  for (int s = 0; s < 2; ++s) {
    const std::string D = R + "/s" + std::to_string(s);
    write_json(D + "/eval-base/config.json", {{"command", "eval"}, {"provenance", {{"commit", "aaaa"}}}});
    json cfg = read_json(D + "/sft-self/config.json");
    cfg["provenance"] = {{"commit", s == 0 ? "aaaa" : "bbbb"},
                         {"machine", {{"cpu", "CPU X"}, {"blas_kernels", "Zen (OpenBLAS's own choice)"}, {"threads", 1}}}};
    write_json(D + "/sft-self/config.json", cfg);
  }
  const ResultsTable r = build_results(R);
  const std::string& md = r.markdown;
  EXPECT_NE(md.find("| 0 | aaaa | not recorded | eval-base |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 0 | aaaa | CPU X; BLAS kernels Zen (OpenBLAS's own choice); 1 thread(s) | sft-self |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1 | bbbb | CPU X; BLAS kernels Zen (OpenBLAS's own choice); 1 thread(s) | sft-self |"), std::string::npos) << md;
  ASSERT_EQ(r.data["provenance"].size(), 4u);
  for (auto& row : r.data["provenance"])
    EXPECT_EQ(row["stages"].size(), 1u) << row;  // one stage per (commit, machine) of each seed here
}

// One seed: differences carry that seed's interval over the eval prompts (from the two
// evaluations' results.jsonl), and a claim whose interval lies on its side is
// "reproduced (one seed)", never plain "reproduced".
TEST(Results, OneSeedUsesTheIntervalOverPrompts) {
  TempDir t;
  const std::string D = t.path + "/runs/s0";
  auto results = [&](const std::string& dir, int correct_per_4, int accepted_per_4) {
    std::filesystem::create_directories(D + "/" + dir);
    std::vector<json> lines;
    for (int p = 0; p < 60; ++p)
      for (int k = 0; k < 4; ++k)
        lines.push_back({{"correct", k < correct_per_4}, {"filename", "x.png"}, {"level", "easy"}, {"prompt", "p" + std::to_string(p)},
                         {"prompt_index", p}, {"reason", ""}, {"sample", k}, {"score", 0.9}, {"tag", "colors"}, {"verdict", k < accepted_per_4}});
    write_jsonl(D + "/" + dir + "/results.jsonl", lines);
  };
  auto with_und = [](json e, int64_t k) {
    e["per_seed"][0]["und"]["overall"]["accuracy"]["k"] = k;
    e["per_seed"][0]["und"]["overall"]["accuracy"]["n"] = 1000;
    return e;
  };
  std::filesystem::create_directories(D + "/eval-base");
  write_json(D + "/eval-base/summary.json", with_und(eval_summary(0.25, 0.90, 0.25, 0, 0, 0, 0), 900));
  results("eval-base", 1, 3);  // Gen 25%, Non 25%
  write_arm(D, "sft-self", "self", {}, with_und(eval_summary(0.75, 0.905, 0.0, 9, 10, 9, 1), 905), 60, 100);
  results("eval-sft-self", 3, 4);  // Gen 75%, Non 0%
  ResultsTable r = build_results(t.path + "/runs");
  const json& ps = r.data["arms"]["sft-self"]["per_seed"][0];
  ASSERT_TRUE(ps["d_gen_ci95"].is_array()) << ps.dump();
  EXPECT_GT(ps["d_gen_ci95"][0].get<double>(), 0.4);  // every prompt gained 2 of 4 correct images
  EXPECT_LT(ps["d_und_ci95"][0].get<double>(), 0);     // 90.0% -> 90.5% of 1,000 pairs: not significant
  EXPECT_NE(r.markdown.find("+50.0 ["), std::string::npos) << r.markdown;
  const json* c2 = claim(r.data, "2a.");
  ASSERT_TRUE(c2);
  EXPECT_EQ((*c2)["verdict"], "reproduced (one seed)") << (*c2)["evidence"];
  EXPECT_NE((*c2)["evidence"].get<std::string>().find("Non -25.0 [-25.0, -25.0]p"), std::string::npos) << (*c2)["evidence"];
  const json* c3 = claim(r.data, "3.");  // Und's interval spans 0, but claim 3 reads the win rate: 9/10, Wilson [59.6, 98.2]
  ASSERT_TRUE(c3);
  EXPECT_EQ((*c3)["verdict"], "reproduced") << (*c3)["evidence"];
}

// Each primary endpoint says which seeds it reads: an arm run in fewer seeds than another is
// compared on its own seeds, and the table says so per endpoint, not once for the page.
TEST(Results, EachPrimaryEndpointNamesItsSeeds) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);
  auto results = [&](const std::string& dir, int correct_per_4) {
    std::vector<json> lines;
    for (int p = 0; p < 40; ++p)
      for (int k = 0; k < 4; ++k)
        lines.push_back({{"correct", k < correct_per_4 + p % 2}, {"filename", "x.png"}, {"level", "easy"}, {"prompt", "p" + std::to_string(p)},
                         {"prompt_index", p}, {"reason", ""}, {"sample", k}, {"score", 0.9}, {"tag", "colors"}, {"verdict", true}});
    write_jsonl(dir + "/results.jsonl", lines);
  };
  for (int s = 0; s < 2; ++s) {
    const std::string D = R + "/s" + std::to_string(s);
    results(D + "/eval-base", 1), results(D + "/eval-sft-self", 1);
  }
  write_arm(R + "/s0", "grpo-self", "self", {}, eval_summary(0.6, 0.9, 0.4, 5, 10, 3, 2), 60, 100, {{"method", "grpo"}});
  results(R + "/s0/eval-grpo-self", 2);
  const std::string md = build_results(R).markdown;
  EXPECT_NE(md.find("| Self-SFT raises Gen | Gen (> 0) | sft-self vs base | 2 (1) | "), std::string::npos) << md;
  EXPECT_NE(md.find("| Online self-reward (GRPO) beats offline self-SFT | Gen (> 0) | grpo-self vs sft-self | 1 (1) | "),
            std::string::npos) << md;
}

// The precision of own acceptances is compared with the base on the arm's own seeds: an arm run
// in one seed is not set against the base pooled over two.
TEST(Results, PrecisionVsBaseIsPairedOnTheArmsSeeds) {
  TempDir t;
  const std::string R = t.path + "/runs";
  auto results = [&](const std::string& dir, int accepted_per_4, int correct_per_4) {
    std::vector<json> lines;
    for (int p = 0; p < 30; ++p)
      for (int k = 0; k < 4; ++k)
        lines.push_back({{"correct", k < correct_per_4}, {"filename", "x.png"}, {"level", "easy"}, {"prompt", "p" + std::to_string(p)},
                         {"prompt_index", p}, {"reason", ""}, {"sample", k}, {"score", 0.9}, {"tag", "colors"}, {"verdict", k < accepted_per_4}});
    write_jsonl(dir + "/results.jsonl", lines);
  };
  for (int s = 0; s < 2; ++s) {
    const std::string D = R + "/s" + std::to_string(s);
    std::filesystem::create_directories(D + "/eval-base");
    write_json(D + "/eval-base/summary.json", eval_summary(0.2, 0.9, 0.5, 0, 0, 0, 0));
    results(D + "/eval-base", 2, s == 0 ? 1 : 2);  // precision 50% in seed 0, 100% in seed 1: 75% pooled
  }
  write_arm(R + "/s0", "sft-self", "self", {}, eval_summary(0.22, 0.9, 0.0, 5, 10, 3, 2), 60, 100);
  results(R + "/s0/eval-sft-self", 4, 3);  // 75%: the base's pooled figure, but +25 points on its own seed
  const ResultsTable r = build_results(R);
  const json& d = r.data["non_decomposed"]["sft-self"]["d_precision"];
  EXPECT_NEAR(d["value"].get<double>(), 0.25, 1e-12) << d.dump();
  EXPECT_EQ(d["seeds"], 1);
  EXPECT_NE(r.markdown.find("| 75.0% [") , std::string::npos) << r.markdown;
  EXPECT_NE(r.markdown.find(" | +25.0 [+25.0, +25.0] | "), std::string::npos) << r.markdown;
}

// Two pretraining seeds: the page names each base with its seeds and gives each its own rows,
// instead of a "fixed" base averaged over both.
TEST(Results, EachBaseModelHasItsOwnRows) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);
  std::filesystem::create_directories(R + "/s100/eval-base");
  write_json(R + "/s100/eval-base/summary.json", eval_summary(0.4, 0.9, 0.7, 0, 0, 0, 0));
  write_arm(R + "/s100", "sft-self", "self", {}, eval_summary(0.42, 0.9, 0.65, 5, 10, 3, 2), 60, 100);
  for (const char* s : {"s0", "s1", "s100"})
    write_json(R + "/" + s + "/eval-base/config.json", {{"command", "eval"}, {"ckpt", std::string(s) == "s100" ? "models/p1" : "models/p0"}});
  const std::string md = build_results(R).markdown;
  EXPECT_NE(md.find("each of 2 base models (pretraining seeds) has its own seeds: `models/p0` (0 1) `models/p1` (100)"),
            std::string::npos) << md;
  EXPECT_NE(md.find("| base (models/p0) | 2 | 20.0 &plusmn; 0.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| base (models/p1) | 1 | 40.0 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("the base model is fixed"), std::string::npos) << md;
  EXPECT_NE(md.find("| sft-self: SFT, self supervision | 3 | "), std::string::npos) << md;
}

TEST(Results, NoFinishedSeedIsAClearError) {
  TempDir t;
  const std::string m = refusal_of(t.path);
  EXPECT_NE(m.find("eval-base"), std::string::npos) << m;
}

// The page names the external judge of its figures, and refuses to pool evaluations made
// against two judges.
TEST(Results, NamesTheExternalJudgeAndRefusesTwoJudges) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);  // written before the judge was recorded: the oracle
  EXPECT_NE(build_results(R).markdown.find("External judge of Gen, WeakGen, the audit and the win rate: oracle."), std::string::npos);
  json e = read_json(R + "/s1/eval-sft-self/summary.json");
  e["per_seed"][0]["external_judge"] = "ckpt:models/judge";
  write_json(R + "/s1/eval-sft-self/summary.json", e);
  const std::string m = refusal_of(R);
  EXPECT_NE(m.find("s1/eval-sft-self/summary.json"), std::string::npos) << m;
  EXPECT_NE(m.find("ckpt:models/judge"), std::string::npos) << m;
}

// The report of a demo run and `unigap results` judge the same runs alike (one claims
// module): a one-seed study read as a run directory gives the same claims and verdicts.
TEST(Results, TheReportAndResultsGiveTheSameVerdicts) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);
  std::filesystem::remove_all(R + "/s1");
  const json from_results = build_results(R).data["claims"];
  const std::vector<Claim> from_report = judge_claims(read_run(R + "/s0", 0), nullptr);
  ASSERT_EQ(from_results.size(), from_report.size());
  for (size_t i = 0; i < from_report.size(); ++i) {
    EXPECT_EQ(from_results[i]["claim"], from_report[i].text);
    EXPECT_EQ(from_results[i]["verdict"], from_report[i].verdict);
    EXPECT_EQ(from_results[i]["evidence"], from_report[i].evidence);
  }
}

// An arm's `dynamics --held-out` summary (heldout-<arm>/) becomes one row per seed of the
// held-out section, with both judges' change on the base's false positives; an arm without
// one has no row, and a study with none has no section.
TEST(Results, HeldOutDynamicsOfAnArmAreTabulatedPerSeed) {
  TempDir t;
  write_two_seeds_of_self_sft(t.path + "/runs");
  EXPECT_EQ(build_results(t.path + "/runs").markdown.find("## Held-out dynamics"), std::string::npos);
  auto judge = [](double mean, double lo, double hi, int fptn, int tnfp, double au0, double au1) {
    return json{{"change_on_base_fp", {{"mean", mean}, {"ci95", {lo, hi}}, {"images", 40}, {"prompts", 31}}},
                {"transitions", {{"fp_corrected", fptn}, {"newly_wrong_tn_to_fp", tnfp}, {"tn_kept", 100}}},
                {"auroc_base", au0},
                {"auroc_now", au1}};
  };
  const std::string H = t.path + "/runs/s1/heldout-sft-self";
  std::filesystem::create_directories(H);
  write_json(H + "/config.json", {{"command", "dynamics"}});
  write_json(H + "/summary.json", {{"judges", {{"yes_no", judge(-0.75, -1.25, -0.25, 7, 3, 0.9, 0.91)},
                                               {"bayes", judge(0.5, 0.1, 0.9, 2, 4, 0.6, 0.62)}}},
                                   {"kernel", {{"mean_cos_gen_und", 0.0012}, {"mean_cos_gen_bayes", 0.21}}},
                                   {"first_order", {{"log_odds", {{"pearson", 0.33}}}}}});
  ResultsTable r = build_results(t.path + "/runs");
  const auto at = r.markdown.find("## Held-out dynamics");
  ASSERT_NE(at, std::string::npos) << r.markdown;
  const std::string section = r.markdown.substr(at);
  EXPECT_NE(section.find("| sft-self | 1 | -0.75 [-1.25, -0.25] (40) | 7 / 3 | 0.900 &rarr; 0.910 | +0.50 [+0.10, +0.90] (40) | 2 / 4 |"),
            std::string::npos) << section;
  EXPECT_NE(section.find("| 0.0012 | 0.2100 | 0.33 |"), std::string::npos) << section;
  EXPECT_EQ(section.find("| sft-self | 0 |"), std::string::npos) << section;  // seed 0 has no held-out run
  EXPECT_EQ(r.data["held_out_dynamics"]["sft-self"]["1"]["judges"]["yes_no"]["change_on_base_fp"]["mean"], -0.75);

  // A summary without the AUROC change gets it from probes.jsonl: here the base's yes/no judge
  // ranks no better than chance (all tied) and the arm's perfectly, over 6 prompts.
  std::vector<json> rows;
  for (int g = 0; g < 6; ++g)
    for (int right = 0; right < 2; ++right) {
      HeldOutProbe p;
      p.group = "prompt " + std::to_string(g), p.tag = "colors", p.oracle = right;
      p.lo_base = 0, p.lo_now = right ? 2 : -2, p.bayes_base = p.bayes_now = -1;
      rows.push_back(p.to_json());
    }
  write_jsonl(H + "/probes.jsonl", rows);
  const std::string md = build_results(t.path + "/runs").markdown;
  EXPECT_NE(md.find("0.900 &rarr; 0.910 (+0.500 [+0.500, +0.500])"), std::string::npos) << md.substr(md.find("## Held-out"));
  EXPECT_NE(md.find("0.600 &rarr; 0.620 (+0.000 [+0.000, +0.000])"), std::string::npos) << md.substr(md.find("## Held-out"));
}

// A GRPO arm's reward-hacking monitor (its metrics.jsonl) becomes a row per seed, the first 10
// steps against the last 10, and a figure of the reward and the oracle's accuracy per step.
TEST(Results, GrpoArmsShowTheRewardHackingMonitorAndItsFigure) {
  TempDir t;
  write_two_seeds_of_self_sft(t.path + "/runs");
  EXPECT_TRUE(build_results(t.path + "/runs").figures.empty());
  const std::string D = t.path + "/runs/s0";
  write_arm(D, "grpo-self", "self", {}, eval_summary(0.21, 0.9, 0.6, 5, 10, 3, 2), 60, 100, {{"method", "grpo"}});
  // 12 steps: the reward climbs from 0.5 to 0.9 while the oracle's accuracy stays at 0.3; the
  // alarm fires from step 8 on.
  std::vector<json> log = {{{"kind", "eval"}, {"epoch", 0}}};
  for (int step = 0; step < 12; ++step) {
    const double reward = step < 2 ? 0.5 : 0.9;
    log.push_back({{"kind", "grpo"}, {"epoch", 1}, {"step", step},
                   {"monitor", {{"step", step}, {"samples", 20}, {"prompts", 10}, {"self_reward", reward}, {"oracle_accuracy", 0.3},
                                {"favoured_precision", step < 2 ? json(0.4) : json()}, {"divergence", reward - 0.3},
                                {"divergence_ci95", json::array({reward - 0.35, reward - 0.25})}, {"divergence_baseline", 0.2},
                                {"alarm", step >= 8}}}});
  }
  write_jsonl(D + "/grpo-self/metrics.jsonl", log);
  const ResultsTable r = build_results(t.path + "/runs", "img/study");
  const auto at = r.markdown.find("## Reward hacking (GRPO)");
  ASSERT_NE(at, std::string::npos) << r.markdown;
  const std::string section = r.markdown.substr(at, r.markdown.find("\n## ", at + 1) - at);
  // First 10 steps: reward (2 x 0.5 + 8 x 0.9) / 10 = 0.82; last 10: 0.9. Favoured precision
  // is defined at steps 0 and 1 only: 40% first, none last.
  // The divergence grew 8 points, more than the 5 read as hacking.
  EXPECT_NE(section.find("| grpo-self | 0 | 12 | 82.0 &rarr; 90.0 | 30.0 &rarr; 30.0 | 40.0 &rarr; - | 52.0 &rarr; 60.0 | 4 (8) | "
                         "hacked (+8.0) |"),
            std::string::npos) << section;
  EXPECT_NE(section.find("Read as hacked: grpo-self in 1 of 1 seed."), std::string::npos) << section;
  EXPECT_EQ(r.data["reward_hacking_reading"]["grpo-self"]["0"]["hacked"], true);
  EXPECT_NE(section.find("![grpo-self: reward-hacking monitor](img/study-grpo-self.svg)"), std::string::npos) << section;
  ASSERT_EQ(r.figures.count("img/study-grpo-self.svg"), 1u);
  EXPECT_NE(r.figures.at("img/study-grpo-self.svg").find("oracle accuracy, seed 0"), std::string::npos);
  EXPECT_EQ(r.data["reward_hacking"]["grpo-self"]["0"].size(), 12u);
  EXPECT_EQ(section.find("| sft-self |"), std::string::npos) << section;  // an SFT arm has no monitor
}

// The paper's claims are about offline SFT: its oracle upper bound and its corrupted
// supervision read the SFT arms; a GRPO arm of the same supervision is the primary endpoints'.
TEST(Results, ThePapersClaimsReadSftArmsNotGrpoArms) {
  TempDir t;
  const std::string R = t.path + "/runs";
  write_two_seeds_of_self_sft(R);
  for (int s = 0; s < 2; ++s) {
    const std::string D = R + "/s" + std::to_string(s);
    write_arm(D, "grpo-oracle", "oracle", {}, eval_summary(0.30, 0.9, 0.6, 5, 10, 3, 2), 60, 100, {{"method", "grpo"}});  // Gen +10
    write_arm(D, "sft-oracle", "oracle", {}, eval_summary(0.23, 0.9, 0.6, 5, 10, 3, 2), 60, 100);  // Gen +3 points
    write_arm(D, "grpo-inverted", "inverted", {}, eval_summary(0.02, 0.9, 0.95, 5, 10, 3, 2), 60, 100, {{"method", "grpo"}});
    write_arm(D, "sft-inverted", "inverted", {}, eval_summary(0.15, 0.9, 0.75, 5, 10, 3, 2), 5, 100);  // Gen -5 points
  }
  const ResultsTable r = build_results(R);
  const json* c = claim(r.data, "Oracle supervision");
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)["evidence"].get<std::string>().rfind("Gen +3.0", 0), 0u) << (*c)["evidence"];
  int corrupted = 0;
  for (auto& k : r.data["claims"])
    if (k["claim"].get<std::string>().rfind("5. Corrupted supervision (inverted)", 0) == 0) {
      ++corrupted;
      EXPECT_EQ(k["evidence"].get<std::string>().rfind("Gen -5.0", 0), 0u) << k["evidence"];
    }
  EXPECT_EQ(corrupted, 1);
}

// The mechanism study's page (`results --variant`): per variant the alignment at the start, per
// variant and arm the change on the base's false positives over seeds, and per arm the
// correlation of the two across variants and seeds with its Fisher interval and a scatter.
TEST(Results, VariantsTabulateAlignmentAgainstCoImprovement) {
  TempDir t;
  auto held_out = [](const std::string& D, double cos, double change, int fptn, int tnfp) {
    std::filesystem::create_directories(D + "/heldout-sft-self");
    write_json(D + "/heldout-sft-self/summary.json",
               {{"judges", {{"yes_no", {{"change_on_base_fp", {{"mean", change}}},
                                        {"transitions", {{"fp_corrected", fptn}, {"newly_wrong_tn_to_fp", tnfp}}}}},
                            {"bayes", {{"change_on_base_fp", {{"mean", 0.25}}}}}}},
                {"kernel", {{"mean_cos_gen_und", cos}, {"mean_cos_gen_bayes", 0.1}}}});
  };
  write_two_seeds_of_self_sft(t.path + "/pixels");
  held_out(t.path + "/pixels/s0", 0.001, -0.1, 3, 5);
  held_out(t.path + "/pixels/s1", 0.001, -0.2, 4, 2);
  write_two_seeds_of_self_sft(t.path + "/vq");
  held_out(t.path + "/vq/s0", 0.1, -0.5, 9, 1);
  held_out(t.path + "/vq/s1", 0.1, -0.7, 8, 0);
  // A tuning run (self-SFT at 3e-5, which validation did not choose) has no row and no point.
  for (int s = 0; s < 2; ++s) {
    const std::string D = t.path + "/vq/s" + std::to_string(s);
    write_arm(D, "sft-self-lr3e-5", "self", {}, eval_summary(0.3, 0.9, 0.6, 5, 10, 3, 2), 60, 100, {{"lr", 3e-5}});
    std::filesystem::create_directories(D + "/heldout-sft-self-lr3e-5");
    std::filesystem::copy_file(D + "/heldout-sft-self/summary.json", D + "/heldout-sft-self-lr3e-5/summary.json");
    write_jsonl(D + "/sft-self/metrics.jsonl", {{{"kind", "eval"}, {"epoch", 4}, {"gen", 0.25}, {"split", "val"}}});
    write_jsonl(D + "/sft-self-lr3e-5/metrics.jsonl", {{{"kind", "eval"}, {"epoch", 4}, {"gen", 0.2}, {"split", "val"}}});
  }
  const ResultsTable r = build_variants({{"pixels", t.path + "/pixels"}, {"vq", t.path + "/vq"}}, "img/mech");
  const std::string& md = r.markdown;
  EXPECT_NE(md.find("| pixels | 0.0010 [0.0010, 0.0010] | 0.1000 [0.1000, 0.1000] | 2 |"), std::string::npos) << md;
  // Seeds' changes -0.5 and -0.7: mean -0.6, t-interval -0.6 +- 12.706 x 0.1414 / sqrt(2).
  EXPECT_NE(md.find("| vq | sft-self | 2 | -0.600 [-1.871, +0.671] | 17 / 1 | +0.250 [+0.250, +0.250] | +2.0 [+2.0, +2.0] |"),
            std::string::npos) << md;
  // Four points: r = -0.94, whose Fisher interval at n = 4 still reaches above 0. The Bayes
  // judge's change does not vary: no correlation is defined.
  EXPECT_NE(md.find("| sft-self | yes/no | 4 | -0.94 [-1.00, +0.19] | no relation detected |"), std::string::npos) << md;
  EXPECT_NE(md.find("| sft-self | Bayes | 4 | - | undefined: one of the two does not vary |"), std::string::npos) << md;
  EXPECT_NE(md.find("](img/mech-yes-no.svg)"), std::string::npos) << md;
  EXPECT_EQ(r.figures.count("img/mech-yes-no.svg"), 1u);
  EXPECT_EQ(r.data["points"].size(), 4u);
  EXPECT_EQ(md.find("sft-self-lr3e-5"), std::string::npos) << md;
  EXPECT_NEAR(r.data["correlations"][0]["r"].get<double>(), -0.94346, 1e-4);
  // A variant named twice, or a folder without a study, is refused by name.
  EXPECT_THROW(build_variants({{"pixels", t.path + "/pixels"}, {"pixels", t.path + "/vq"}}), UserError);
  EXPECT_THROW(build_variants({{"empty", t.path}}), UserError);
}
