// Training loops end to end on the tiny preset: a NaN is caught at its step and the
// last good checkpoint survives; resuming after the crash gives a final model
// bit-identical to an uninterrupted run; improve leaves frozen groups untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/shapes_model.h"
#include "test_util.h"
#include "train/improve.h"
#include "train/pretrain.h"

using namespace unigap;

namespace {
PretrainConfig tiny_config() {
  PretrainConfig c = PretrainConfig::for_preset("tiny", 1);
  c.vq_steps = 20;
  c.steps = 30;
  c.ckpt_every = 10;
  c.vq_restart_every = 10;
  return c;
}

// An improve run small enough for a test: `candidates` images of `prompts` train prompts,
// tracked on 4 eval prompts x 1 image.
ImproveConfig small_improve(const std::string& supervision, int prompts, int candidates, int epochs) {
  ImproveConfig ic;
  ic.supervision = supervision;
  ic.train_prompts = prompts;
  ic.pool.candidates = candidates;
  ic.epochs = epochs;
  ic.eval_prompts = 4;
  ic.eval.samples_per_prompt = 1;
  return ic;
}

// A base pretrained for 10 steps in d/base: enough to sample and judge, fast.
std::string barely_trained_base(const TempDir& d) {
  PretrainConfig c = tiny_config();
  c.steps = 10;
  pretrain(c, WorldSpec::v1(), d.path + "/base", false);
  return d.path + "/base/model";
}
}  // namespace

TEST(Pretrain, NanStopsTheRunAndResumeIsBitIdentical) {
  TempDir d;
  const auto world = WorldSpec::v1();
  PretrainConfig c = tiny_config();
  pretrain(c, world, d.path + "/clean", false);

  setenv("UNIGAP_INJECT_NAN_AT", "unified:15", 1);
  try {
    pretrain(c, world, d.path + "/crash", false);
    unsetenv("UNIGAP_INJECT_NAN_AT");
    FAIL() << "expected the NaN to stop the run";
  } catch (const UserError& e) {
    unsetenv("UNIGAP_INJECT_NAN_AT");
    EXPECT_NE(std::string(e.what()).find("non-finite loss at unified step 15"), std::string::npos) << e.what();
  }
  // The last good checkpoint (after step 9) is intact and loadable.
  json latest = read_json(d.path + "/crash/checkpoints/latest.json");
  EXPECT_EQ(latest["step"], 9);
  EXPECT_NO_THROW(ShapesModel::load(d.path + "/crash/checkpoints/" + latest["dir"].get<std::string>()));

  pretrain(c, world, d.path + "/crash", /*resume=*/true);
  EXPECT_EQ(read_file(d.path + "/clean/model/model.safetensors"), read_file(d.path + "/crash/model/model.safetensors"));
}

TEST(Improve, FrozenGroupsDoNotMoveAndTheRunResumes) {
  TempDir d;
  const auto world = WorldSpec::v1();
  PretrainConfig c = tiny_config();
  pretrain(c, world, d.path + "/base", false);
  ImproveConfig ic;
  ic.supervision = "flip:0.5";  // random labels: guarantees accepted and rejected candidates
  ic.train_prompts = 12;
  ic.pool.candidates = 3;
  ic.epochs = 2;
  ic.curriculum_epochs = {1};
  ic.eval_prompts = 6;
  ic.eval.samples_per_prompt = 1;
  ic.lr = 1e-3;
  auto r = improve(ic, d.path + "/base/model", d.path + "/imp", false);
  auto before = read_safetensors(d.path + "/base/model/model.safetensors");
  auto after = read_safetensors(d.path + "/imp/model/model.safetensors");
  int moved_backbone = 0;
  for (auto& [name, t] : after.tensors) {
    const bool same = t.bytes == before.tensors.at(name).bytes;
    if (param_group_of(name) == "backbone") moved_backbone += !same;
    else EXPECT_TRUE(same) << name << " is frozen but changed";
  }
  EXPECT_GT(moved_backbone, 0);
  EXPECT_EQ(r.joined_at_replay.size(), 1u);
  // Every tracked epoch is in metrics.jsonl (0 = base, 1, 2).
  int evals = 0;
  for (auto& l : read_jsonl(d.path + "/imp/metrics.jsonl")) evals += l.value.value("kind", "") == "eval";
  EXPECT_EQ(evals, 3);
}

TEST(Improve, TrackingChoosesItsGuidanceOnValidationAtEveryEpoch) {
  TempDir d;
  // Untrained tiny models are enough: random labels give accepted candidates, and the choice
  // only has to follow the Gen it measured.
  ShapesModel(ModelConfig::preset_named("tiny"), WorldSpec::v2(), 3).save(d.path + "/base");
  ImproveConfig ic = small_improve("flip:0.5", 6, 2, 1);  // random labels: some accepted
  ic.eval_cfg_grid = {3.0, 0.0};
  improve(ic, d.path + "/base", d.path + "/imp", false);
  int evals = 0;
  for (auto& l : read_jsonl(d.path + "/imp/metrics.jsonl")) {
    if (l.value.value("kind", "") != "eval") continue;
    ++evals;
    const json g = l.value.at("guidance");
    EXPECT_EQ(g["split"], "val");
    ASSERT_EQ(g["gen_by_cfg"].size(), 2u);
    // The chosen weight is the one with the best validation Gen (ties: the smaller).
    const double g3 = g["gen_by_cfg"][0]["gen"], g0 = g["gen_by_cfg"][1]["gen"];
    EXPECT_EQ(g["chosen"].get<double>(), g3 > g0 ? 3.0 : 0.0) << g.dump();
  }
  EXPECT_EQ(evals, 2);
  EXPECT_EQ(read_json(d.path + "/imp/config.json")["improve"]["eval_cfg_grid"], json::array({3.0, 0.0}));
  // A version 1 world has no validation split: refused before any work, naming the option.
  ShapesModel(ModelConfig::preset_named("tiny"), WorldSpec::v1(), 3).save(d.path + "/base1");
  try {
    improve(ic, d.path + "/base1", d.path + "/imp1", false);
    ADD_FAILURE() << "a guidance grid was chosen without a validation split";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--eval-cfg-grid"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(d.path + "/imp1/pool.jsonl"));
}

TEST(Improve, AuditRefusesLowPrecisionData) {
  TempDir d;
  PretrainConfig c = tiny_config();
  c.steps = 10;
  pretrain(c, WorldSpec::v1(), d.path + "/base", false);
  ImproveConfig ic;
  ic.supervision = "flip:0.5";
  ic.train_prompts = 8;
  ic.pool.candidates = 2;
  ic.epochs = 1;
  ic.audit_min_precision = 0.9;  // an untrained tiny model draws no correct image
  try {
    improve(ic, d.path + "/base/model", d.path + "/imp", false);
    FAIL() << "expected a refusal";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to train"), std::string::npos) << e.what();
  }
}

// An Inf in one gradient stops the run at its step, naming the tensor; the last good
// checkpoint stays loadable. Same for a NaN loss in improve.
TEST(Pretrain, InfGradientNamesTheTensor) {
  TempDir d;
  PretrainConfig c = tiny_config();
  setenv("UNIGAP_INJECT_NAN_AT", "unified:12:grad:backbone.layers.0.attn.qkv.weight", 1);
  std::string msg;
  try {
    pretrain(c, WorldSpec::v1(), d.path + "/run", false);
  } catch (const UserError& e) {
    msg = e.what();
  }
  unsetenv("UNIGAP_INJECT_NAN_AT");
  EXPECT_NE(msg.find("non-finite gradient at unified step 12"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tensor 'backbone.layers.0.attn.qkv.weight'"), std::string::npos) << msg;
  json latest = read_json(d.path + "/run/checkpoints/latest.json");
  EXPECT_EQ(latest["step"], 9);
  EXPECT_NO_THROW(ShapesModel::load(d.path + "/run/checkpoints/" + latest["dir"].get<std::string>()));
}

TEST(Improve, NanLossStopsAtItsStepAndKeepsTheLastEpoch) {
  TempDir d;
  PretrainConfig c = tiny_config();
  pretrain(c, WorldSpec::v1(), d.path + "/base", false);
  ImproveConfig ic;
  ic.supervision = "flip:0.5";
  ic.train_prompts = 12;
  ic.pool.candidates = 3;
  ic.epochs = 3;
  ic.batch = 8;
  ic.eval_every = 0;
  ic.eval_prompts = 4;
  ic.eval.samples_per_prompt = 1;
  // 12 prompts x 3 candidates x ~50% accepted = ~18 SFT samples: 2-3 steps per epoch;
  // step 4 lies in epoch 2 or 3, after epoch 1's checkpoint.
  setenv("UNIGAP_INJECT_NAN_AT", "improve:4", 1);
  std::string msg;
  try {
    improve(ic, d.path + "/base/model", d.path + "/imp", false);
  } catch (const UserError& e) {
    msg = e.what();
  }
  unsetenv("UNIGAP_INJECT_NAN_AT");
  EXPECT_NE(msg.find("non-finite loss at improve step 4"), std::string::npos) << msg;
  json latest = read_json(d.path + "/imp/checkpoints/latest.json");
  EXPECT_GE(latest["step"].get<int>(), 1);
  EXPECT_NO_THROW(ShapesModel::load(d.path + "/imp/checkpoints/" + latest["dir"].get<std::string>()));
  // Resuming without the fault finishes the run.
  EXPECT_NO_THROW(improve(ic, d.path + "/base/model", d.path + "/imp", true));
  EXPECT_TRUE(file_exists(d.path + "/imp/model/model.safetensors"));
}

TEST(Improve, CodegradationAlarmNeedsNonToFallAndAMetricToFallBeyondItsInterval) {
  // Baseline: Non 0.70, Gen 0.20, Und 0.90.
  auto result = [](double non, double gen, Interval gen_ci, int64_t und_k, int64_t und_n) {
    EvalResult r;
    r.gap.pooled.non = Rate{int64_t(non * 1000), 1000};
    r.gap.gen_overall = gen;
    r.gap.gen_overall_ci = gen_ci;
    r.und.overall.accuracy = Rate{und_k, und_n};
    return r;
  };
  // Non fell, Gen fell well beyond its interval: co-degradation.
  EXPECT_TRUE(codegradation_alarm(0.70, 0.20, 0.90, result(0.60, 0.10, {0.08, 0.12}, 900, 1000)));
  // Non fell, Und fell beyond its Wilson interval (800/1000: [0.77, 0.82]).
  EXPECT_TRUE(codegradation_alarm(0.70, 0.20, 0.90, result(0.60, 0.21, {0.18, 0.24}, 800, 1000)));
  // Non fell, Gen and Und dipped within their intervals (noise): no alarm.
  EXPECT_FALSE(codegradation_alarm(0.70, 0.20, 0.90, result(0.60, 0.19, {0.16, 0.22}, 224, 250)));
  // Gen collapsed but Non rose: not the co-degradation signature.
  EXPECT_FALSE(codegradation_alarm(0.70, 0.20, 0.90, result(0.80, 0.05, {0.03, 0.07}, 900, 1000)));
  // Non fell and nothing external fell: co-improvement.
  EXPECT_FALSE(codegradation_alarm(0.70, 0.20, 0.90, result(0.60, 0.30, {0.27, 0.33}, 920, 1000)));
}

TEST(Improve, PoolFromTrainsOnTheSameRound0CandidatesAndChecksTheirSettings) {
  TempDir d;
  const std::string base = barely_trained_base(d);
  ImproveConfig ic;
  ic.supervision = "flip:0.5";  // random labels: ~1 in 4 prompts has no accepted candidate of 2
  ic.train_prompts = 16;
  ic.pool.candidates = 2;
  ic.epochs = 2;
  ic.curriculum_epochs = {1};  // adds round-1 candidates to the source pool
  ic.eval_prompts = 4;
  ic.eval.samples_per_prompt = 1;
  improve(ic, base, d.path + "/sft", false);

  ImproveConfig dpo = ic;
  dpo.method = "dpo";
  dpo.curriculum_epochs = {};
  dpo.epochs = 1;
  dpo.pool_from = d.path + "/sft";
  improve(dpo, base, d.path + "/dpo", false);
  auto src = Pool::load(d.path + "/sft/pool.jsonl", WorldSpec::v1());
  auto reused = Pool::load(d.path + "/dpo/pool.jsonl", WorldSpec::v1());
  size_t round0 = 0;
  for (auto& x : src.candidates) round0 += x.round == 0;
  ASSERT_EQ(reused.candidates.size(), round0);
  ASSERT_LT(round0, src.candidates.size());
  for (size_t i = 0; i < round0; ++i) {
    EXPECT_EQ(reused.candidates[i].codes, src.candidates[i].codes);
    EXPECT_EQ(reused.candidates[i].verdict, src.candidates[i].verdict);
  }

  ImproveConfig other = dpo;
  other.seed = 7;  // another seed samples other candidates: refused, naming the setting
  try {
    improve(other, base, d.path + "/dpo7", false);
    FAIL() << "expected a refusal";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("seed"), std::string::npos) << e.what();
  }
  // The base is compared by its files, not its path: a copy elsewhere is the same model,
  // another model (here the SFT run's) is refused.
  std::filesystem::copy(base, d.path + "/base-copy", std::filesystem::copy_options::recursive);
  EXPECT_NO_THROW(improve(dpo, d.path + "/base-copy", d.path + "/dpo-copy", false));
  try {
    improve(dpo, d.path + "/sft/model", d.path + "/dpo-other", false);
    FAIL() << "expected a refusal";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("another base model"), std::string::npos) << e.what();
  }
}

TEST(Improve, PoolFromAnotherSupervisionIsRelabeledAsSamplingUnderItWouldHave) {
  TempDir d;
  const std::string base = barely_trained_base(d);
  ImproveConfig ic = small_improve("self", 12, 2, 1);
  ic.eval_every = 0;
  improve(ic, base, d.path + "/self", false);
  const auto self = Pool::load(d.path + "/self/pool.jsonl", WorldSpec::v1());
  const std::vector<std::string> sups = {"oracle", "inverted", "flip:0.5"};
  for (size_t s = 0; s < sups.size(); ++s) {
    SCOPED_TRACE(sups[s]);
    // This barely trained base draws no correct image and accepts all its own: under the
    // oracle and inverted both runs stop at "no training data", after writing their pools,
    // and must stop alike; flip:0.5 accepts about half and trains.
    auto run = [&](const ImproveConfig& cfg, const std::string& dir) -> std::string {
      try {
        improve(cfg, base, dir, false);
        return "";
      } catch (const UserError& e) {
        std::string m = e.what();
        return m.substr(m.find(':'));
      }
    };
    ImproveConfig fresh = ic;
    fresh.supervision = sups[s];
    const std::string fresh_err = run(fresh, d.path + "/fresh" + std::to_string(s));
    ImproveConfig reused = fresh;
    reused.pool_from = d.path + "/self";
    EXPECT_EQ(run(reused, d.path + "/reused" + std::to_string(s)), fresh_err);
    if (sups[s] == "flip:0.5") {
      EXPECT_EQ(fresh_err, "");
    }
    const auto a = Pool::load(d.path + "/fresh" + std::to_string(s) + "/pool.jsonl", WorldSpec::v1());
    const auto b = Pool::load(d.path + "/reused" + std::to_string(s) + "/pool.jsonl", WorldSpec::v1());
    ASSERT_EQ(a.candidates.size(), b.candidates.size());
    ASSERT_EQ(a.candidates.size(), self.candidates.size());
    int changed = 0;
    for (size_t i = 0; i < a.candidates.size(); ++i) {
      EXPECT_EQ(a.candidates[i].codes, b.candidates[i].codes);
      EXPECT_DOUBLE_EQ(a.candidates[i].score, b.candidates[i].score);
      EXPECT_EQ(a.candidates[i].verdict, b.candidates[i].verdict);
      EXPECT_EQ(a.candidates[i].oracle, b.candidates[i].oracle);
      changed += b.candidates[i].verdict != self.candidates[i].verdict;
    }
    EXPECT_GT(changed, 0) << "the reused pool kept the self labels";
    // Trained on the same data, the two runs end in the same model.
    if (fresh_err.empty()) {
      EXPECT_EQ(read_file(d.path + "/fresh" + std::to_string(s) + "/model/model.safetensors"),
                read_file(d.path + "/reused" + std::to_string(s) + "/model/model.safetensors"));
    }
  }
  // A ckpt: judge would have to see the images, which the pool does not keep: refused.
  ImproveConfig judge = ic;
  judge.supervision = "ckpt:" + base;
  judge.pool_from = d.path + "/self";
  try {
    improve(judge, base, d.path + "/ckpt", false);
    FAIL() << "expected a refusal";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("ckpt: judge must see the images"), std::string::npos) << e.what();
  }
}

// DPO with curriculum replay: a prompt that rejoins at replay (no accepted candidate in
// round 0, one now) becomes a pair with its most confidently rejected round-0 candidate,
// the epochs after the replay train on it, and a resumed run repeats an uninterrupted one. At 0126141 the pairs held pointers into the
// candidate vector that replay appends to (freed memory after a reallocation) and the
// rejoined prompts never became pairs.
TEST(Improve, DpoWithReplayTrainsOnThePairsOfRejoinedPromptsAndResumes) {
  TempDir d;
  const std::string base = barely_trained_base(d);
  ImproveConfig ic = small_improve("flip:0.5", 24, 2, 3);  // random labels: some prompts have no accepted candidate
  ic.method = "dpo";
  ic.curriculum_epochs = {1, 2};
  ic.batch = 4;
  ic.eval_every = 0;
  const ImproveResult r = improve(ic, base, d.path + "/dpo", false);
  Pool round0 = Pool::load(d.path + "/dpo/pool.jsonl", WorldSpec::v1());
  round0.candidates.erase(std::remove_if(round0.candidates.begin(), round0.candidates.end(), [](auto& c) { return c.round > 0; }),
                          round0.candidates.end());
  int joined = 0;
  for (int j : r.joined_at_replay) joined += j;
  ASSERT_GT(joined, 0) << "no prompt rejoined: the test needs a replay that adds pairs";
  EXPECT_EQ(r.dpo_pairs, int(round0.pairs().size()) + joined);
  // The replay records say how many pairs there were after each replay.
  std::vector<int> after;
  for (auto& l : read_jsonl(d.path + "/dpo/metrics.jsonl"))
    if (l.value.value("kind", "") == "replay") after.push_back(l.value.at("dpo_pairs_after").get<int>());
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after.back(), r.dpo_pairs);
  EXPECT_EQ(read_json(d.path + "/dpo/summary.json")["dpo_pairs"], r.dpo_pairs);

  // Stopped in epoch 3 (after both replays) and resumed, the run ends byte-identical: the
  // pairs and their reference log-probs are rebuilt from the saved pool exactly.
  const int epoch3 = int((round0.pairs().size() + 3) / 4 + (after[0] + 3) / 4);  // first step of epoch 3
  setenv("UNIGAP_INJECT_NAN_AT", ("improve:" + std::to_string(epoch3)).c_str(), 1);
  EXPECT_THROW(improve(ic, base, d.path + "/dpo2", false), UserError);
  unsetenv("UNIGAP_INJECT_NAN_AT");
  EXPECT_EQ(read_json(d.path + "/dpo2/checkpoints/latest.json")["step"], 2);
  improve(ic, base, d.path + "/dpo2", true);
  EXPECT_EQ(read_file(d.path + "/dpo/model/model.safetensors"), read_file(d.path + "/dpo2/model/model.safetensors"));
}

// A damaged checkpoint pointer or metrics log stops a resume with an error naming the file,
// not an internal error.
TEST(Improve, ADamagedCheckpointPointerOrMetricsLogIsAUserErrorNamingIt) {
  TempDir d;
  const std::string base = barely_trained_base(d);
  const ImproveConfig ic = small_improve("flip:0.5", 6, 2, 1);
  improve(ic, base, d.path + "/imp", false);
  const std::string latest = d.path + "/imp/checkpoints/latest.json", metrics = d.path + "/imp/metrics.jsonl";
  const std::string good_latest = read_file(latest), good_metrics = read_file(metrics);
  auto resume_error = [&] {
    try {
      improve(ic, base, d.path + "/imp", true);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  for (const char* bad : {"{\"stage\": 3, \"step\": 1, \"dir\": \"improve-0000001\"}", "[1, 2]", "{\"stage\": \"improve\"",
                          "{\"stage\": \"improve\", \"step\": 1, \"dir\": \"../../etc\"}"}) {
    write_file_atomic(latest, bad);
    EXPECT_NE(resume_error().find("latest.json"), std::string::npos) << bad;
  }
  write_file_atomic(latest, good_latest);
  write_file_atomic(metrics, "{\"kind\": \"eval\", \"epoch\": 0}\n" + good_metrics.substr(good_metrics.find('\n') + 1));
  EXPECT_NE(resume_error().find("metrics.jsonl:1"), std::string::npos);
  write_file_atomic(metrics, "not json\n" + good_metrics);
  EXPECT_NE(resume_error().find("metrics.jsonl"), std::string::npos);
  write_file_atomic(metrics, good_metrics);
  EXPECT_EQ(resume_error(), "no error");
}

// Every backend's train_only refuses a group it does not declare, naming its own.
TEST(Improve, UnknownTrainGroupIsRefusedWithTheModelsGroups) {
  TempDir d;
  const std::string base = barely_trained_base(d);
  ImproveConfig ic;
  ic.train_groups = {"siglip"};
  try {
    improve(ic, base, d.path + "/imp", false);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown parameter group 'siglip'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("backbone, gen_aligner, gen_head, und_encoder, vq"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(file_exists(d.path + "/imp/config.json"));  // refused before anything was written
}
