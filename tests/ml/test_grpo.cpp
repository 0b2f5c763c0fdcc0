// GRPO (improve --method grpo): the loss and its gradient by hand on a tiny batch, the
// advantages within each prompt's group, the reward-hacking monitor on a hand-made log, and
// an online run end to end on the tiny preset (it logs the monitor and the per-sample
// records, refuses what it cannot do, and a run stopped by a NaN resumes to the same model).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "io/atomic_file.h"
#include "test_util.h"
#include "train/improve.h"
#include "train/losses.h"
#include "train/pretrain.h"
#include "train/reward_monitor.h"

using namespace unigap;

namespace {
torch::Tensor t2(std::vector<std::vector<double>> v) {
  std::vector<torch::Tensor> rows;
  for (auto& r : v) rows.push_back(torch::tensor(r, torch::kFloat64));
  return torch::stack(rows);
}
}  // namespace

// Four tokens, one in each case: ratio above 1 + clip with A > 0 (clipped), inside with A > 0,
// below 1 - clip with A < 0 (clipped), above 1 + clip with A < 0 (not clipped: the min keeps the
// worse, unclipped term). Loss and gradient from the scalar formulas.
TEST(GrpoLoss, MatchesAHandComputationAndItsGradient) {
  const double clip = 0.2, beta = 0.1;
  const std::vector<std::vector<double>> old = {{-1.0, -2.0}, {-1.5, -0.5}}, ref = {{-1.2, -2.0}, {-1.0, -0.7}},
                                         ratio = {{1.5, 0.9}, {0.5, 1.5}};
  const std::vector<double> A = {1.0, -0.5};
  std::vector<std::vector<double>> lp(2, std::vector<double>(2));
  for (int i = 0; i < 2; ++i)
    for (int t = 0; t < 2; ++t) lp[i][t] = old[i][t] + std::log(ratio[i][t]);
  auto logp = t2(lp).set_requires_grad(true);
  const auto g = grpo_loss(logp, t2(old), t2(ref), torch::tensor(A, torch::kFloat64), clip, beta);
  g.loss.backward();

  double loss = 0, kl = 0;
  for (int i = 0; i < 2; ++i)
    for (int t = 0; t < 2; ++t) {
      const double r = ratio[i][t], a = A[size_t(i)], d = ref[i][t] - lp[i][t];
      const double clipped_r = std::min(std::max(r, 1 - clip), 1 + clip);
      const bool unclipped = r * a <= clipped_r * a;  // the min takes the unclipped term
      const double k3 = std::exp(d) - d - 1;
      loss += (-std::min(r * a, clipped_r * a) + beta * k3) / 4;
      kl += k3 / 4;
      // d/dlogp of -min(...): -a r where the unclipped term is taken, 0 where the clipped one is;
      // of beta k3: beta (1 - exp(d)).
      const double grad = ((unclipped ? -a * r : 0.0) + beta * (1 - std::exp(d))) / 4;
      EXPECT_NEAR(logp.grad()[i][t].item<double>(), grad, 1e-12) << "row " << i << " token " << t;
    }
  EXPECT_NEAR(g.loss.item<double>(), loss, 1e-12);
  EXPECT_NEAR(g.kl.item<double>(), kl, 1e-12);
  EXPECT_DOUBLE_EQ(g.clipped_high.item<double>(), 0.25);  // row 0, token 0
  EXPECT_DOUBLE_EQ(g.clipped_low.item<double>(), 0.25);   // row 1, token 0
  // The clipped tokens get no policy gradient: only the KL's.
  EXPECT_NEAR(logp.grad()[0][0].item<double>(), beta * (1 - std::exp(ref[0][0] - lp[0][0])) / 4, 1e-12);
  // At logp == ref the KL term and its gradient vanish (k3 >= 0, minimal there).
  auto same = t2(ref).set_requires_grad(true);
  const auto z = grpo_loss(same, t2(ref), t2(ref), torch::zeros({2}, torch::kFloat64), clip, beta);
  z.loss.backward();
  EXPECT_EQ(z.kl.item<double>(), 0.0);
  EXPECT_EQ(same.grad().abs().max().item<double>(), 0.0);
}

TEST(GrpoLoss, ZeroAdvantageGivesZeroPolicyGradient) {
  torch::manual_seed(3);
  auto logp = (-torch::rand({3, 5}, torch::kFloat64) * 3).set_requires_grad(true);
  const auto old = logp.detach() + 0.3 * torch::randn({3, 5}, torch::kFloat64);  // ratios away from 1, some clipped
  const auto g = grpo_loss(logp, old, old, torch::zeros({3}, torch::kFloat64), 0.2, /*beta=*/0.0);
  g.loss.backward();
  EXPECT_EQ(logp.grad().abs().max().item<double>(), 0.0);
  EXPECT_EQ(g.loss.item<double>(), 0.0);
}

// A_i = (r_i - mean) / (std + 1e-4) within each group of G, std with n - 1; a group whose
// rewards are all equal gets A = 0, and its rows then get no gradient from the policy term.
TEST(GrpoAdvantages, NormaliseWithinEachGroupAndAFlatGroupContributesNothing) {
  const std::vector<double> r = {1, 0, 0, 1, 0.3, 0.3, 0.3, 0.3, 0.9, 0.5, 0.1, 0.5};
  const auto a = group_advantages(r, 4);
  const double sd1 = std::sqrt(4 * 0.25 / 3);  // group 1: mean 0.5, deviations +-0.5
  EXPECT_NEAR(a[0], 0.5 / (sd1 + 1e-4), 1e-12);
  EXPECT_NEAR(a[1], -0.5 / (sd1 + 1e-4), 1e-12);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(a[size_t(i)], 0.0) << i;
  const double sd3 = std::sqrt((0.16 + 0 + 0.16 + 0) / 3);  // group 3: mean 0.5
  EXPECT_NEAR(a[8], 0.4 / (sd3 + 1e-4), 1e-12);
  EXPECT_NEAR(a[9], 0.0, 1e-12);
  double sum = 0;
  for (double x : a) sum += x;
  EXPECT_NEAR(sum, 0.0, 1e-12);  // each group's advantages sum to zero

  torch::manual_seed(4);
  auto logp = (-torch::rand({12, 3}, torch::kFloat64) * 2).set_requires_grad(true);
  const auto old = logp.detach() + 0.1 * torch::randn({12, 3}, torch::kFloat64);
  grpo_loss(logp, old, old, torch::tensor(a, torch::kFloat64), 0.2, 0.0).loss.backward();
  EXPECT_EQ(logp.grad().narrow(0, 4, 4).abs().max().item<double>(), 0.0);  // the flat group
  EXPECT_GT(logp.grad().narrow(0, 0, 4).abs().max().item<double>(), 0.0);
}

// Three prompts of two samples. Rewards and oracle verdicts by hand:
//   prompt 0: (0.9, right), (0.8, wrong)  -> d = 0.85 - 0.5 = 0.35
//   prompt 1: (0.6, wrong), (0.2, wrong)  -> d = 0.4
//   prompt 2: (0.7, right), (0.1, right)  -> d = 0.4 - 1 = -0.6
TEST(RewardMonitor, FiguresOnAHandMadeLog) {
  const std::vector<Rollout> log = {{0, 0.9, 0.7, true},  {0, 0.8, -0.7, false}, {1, 0.6, 0.7, false},
                                    {1, 0.2, -0.7, false}, {2, 0.7, 0.7, true},   {2, 0.1, -0.7, true}};
  RewardMonitor mon;
  const MonitorPoint p = mon.observe(0, MonitorSums::of(log));
  EXPECT_EQ(p.samples, 6);
  EXPECT_EQ(p.prompts, 3);
  EXPECT_NEAR(p.self_reward, 3.3 / 6, 1e-12);
  EXPECT_NEAR(p.oracle_accuracy, 3.0 / 6, 1e-12);
  ASSERT_TRUE(p.favoured_precision);
  EXPECT_NEAR(*p.favoured_precision, 2.0 / 3, 1e-12);  // favoured (A > 0): right, wrong, right
  EXPECT_NEAR(p.divergence, 0.3 / 6, 1e-12);
  // Over prompts: mean of (0.35, 0.4, -0.6) = 0.05, sd with n - 1, t(0.975, 2) = 4.303.
  const double mean = 0.05, sd = std::sqrt((0.09 + 0.1225 + 0.4225) / 2);
  EXPECT_NEAR(p.divergence_ci.lo, mean - 4.303 * sd / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(p.divergence_ci.hi, mean + 4.303 * sd / std::sqrt(3.0), 1e-9);
  ASSERT_TRUE(p.baseline);
  EXPECT_NEAR(*p.baseline, p.divergence, 1e-15);  // the first point is the baseline
  EXPECT_FALSE(p.alarm);

  // Sums are additive: two halves summed give the whole.
  MonitorSums a = MonitorSums::of({log.begin(), log.begin() + 2});
  a += MonitorSums::of({log.begin() + 2, log.end()});
  const MonitorPoint q = RewardMonitor().observe(0, a);
  EXPECT_NEAR(q.divergence_ci.lo, p.divergence_ci.lo, 1e-12);
  EXPECT_NEAR(q.self_reward, p.self_reward, 1e-12);

  // Later: the judge loves images the oracle rejects, on every prompt alike -> the interval
  // lies above the baseline: the alarm.
  const std::vector<Rollout> hacked = {{0, 0.95, 0.7, false}, {0, 0.9, -0.7, false}, {1, 0.97, 0.7, false},
                                       {1, 0.93, -0.7, false}, {2, 0.96, 0.7, false}, {2, 0.9, -0.7, false}};
  const MonitorPoint h = mon.observe(5, MonitorSums::of(hacked));
  EXPECT_NEAR(h.oracle_accuracy, 0.0, 1e-12);
  ASSERT_TRUE(h.favoured_precision);
  EXPECT_EQ(*h.favoured_precision, 0.0);
  EXPECT_GT(h.divergence_ci.lo, *h.baseline);
  EXPECT_TRUE(h.alarm);
  EXPECT_TRUE(h.to_json()["alarm"].get<bool>());
  // The same samples as the baseline: no alarm.
  EXPECT_FALSE(mon.observe(6, MonitorSums::of(log)).alarm);
  // One prompt: no interval (null in the log), no alarm.
  const MonitorPoint one = mon.observe(7, MonitorSums::of({hacked[0], hacked[1]}));
  EXPECT_TRUE(one.to_json()["divergence_ci95"].is_null());
  EXPECT_FALSE(one.alarm);
}

// The log's monitor reads back as it was written (the report, the results page and a resumed
// run all read it through read_monitor); a damaged record is a UserError naming its line.
TEST(RewardMonitor, TheLoggedPointReadsBackAndADamagedOneIsNamed) {
  const std::vector<Rollout> log = {{0, 0.9, 0.7, true}, {0, 0.8, -0.7, false}, {1, 0.6, 0.7, false}, {1, 0.2, -0.7, false}};
  RewardMonitor mon;
  const MonitorPoint a = mon.observe(0, MonitorSums::of(log)), b = mon.observe(1, MonitorSums::of({log[0], log[1]}));
  EXPECT_EQ(MonitorPoint::from_json(a.to_json(), "x").to_json(), a.to_json());
  EXPECT_EQ(MonitorPoint::from_json(b.to_json(), "x").to_json(), b.to_json());  // null interval and all
  TempDir d;
  const std::string path = d.path + "/metrics.jsonl";
  write_file_atomic(path, json{{"kind", "eval"}, {"epoch", 0}}.dump() + "\n" +
                              json{{"kind", "grpo"}, {"step", 0}, {"monitor", a.to_json()}}.dump() + "\n" +
                              json{{"kind", "grpo"}, {"step", 1}, {"monitor", b.to_json()}}.dump() + "\n");
  const auto points = read_monitor(path);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[1].step, 1);
  EXPECT_EQ(points[1].samples, 2);
  json bad = b.to_json();
  bad["samples"] = "two";
  write_file_atomic(path, json{{"kind", "grpo"}, {"step", 0}, {"monitor", a.to_json()}}.dump() + "\n" +
                              json{{"kind", "grpo"}, {"step", 1}, {"monitor", bad}}.dump() + "\n");
  try {
    read_monitor(path);
    ADD_FAILURE() << "a mistyped field was read";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("'samples'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:2"), std::string::npos) << e.what();
  }
}

namespace {
ImproveConfig tiny_grpo() {
  ImproveConfig ic;
  ic.method = "grpo";
  ic.supervision = "self";
  ic.train_prompts = 6;
  ic.batch = 3;  // prompts per step: 2 steps per epoch
  ic.grpo.group = 2;
  ic.grpo.rollout_log_every = 1;
  ic.epochs = 2;
  ic.lr = 1e-3;
  ic.eval_every = 0;
  ic.eval_prompts = 4;
  ic.eval.samples_per_prompt = 1;
  return ic;
}
}  // namespace

TEST(Grpo, AnOnlineRunLogsTheMonitorAndResumesToTheSameModel) {
  TempDir d;
  PretrainConfig c = PretrainConfig::for_preset("tiny", 1);
  c.vq_steps = 20, c.steps = 10, c.ckpt_every = 10, c.vq_restart_every = 10;
  pretrain(c, WorldSpec::v1(), d.path + "/base", false);
  const std::string base = d.path + "/base/model";
  ImproveConfig ic = tiny_grpo();
  const auto r = improve(ic, base, d.path + "/clean", false);
  EXPECT_EQ(r.rollouts, 2 * 6 * 2);  // epochs x prompts x G
  const json summary = read_json(d.path + "/clean/summary.json");
  EXPECT_EQ(summary["rollouts"], 24);
  EXPECT_EQ(summary["optimizer_steps"], 4);
  EXPECT_FALSE(summary.contains("audit"));
  int steps = 0, dumps = 0;
  for (auto& l : read_jsonl(d.path + "/clean/metrics.jsonl")) {
    const json& j = l.value;
    if (j.value("kind", "") == "grpo") {
      ++steps;
      ASSERT_TRUE(j.contains("loss/grpo") && j.contains("grpo/kl") && j.contains("monitor")) << j.dump();
      EXPECT_EQ(j["monitor"]["samples"], 6);
      EXPECT_EQ(j["monitor"]["prompts"], 3);
      const double rew = j["monitor"]["self_reward"], acc = j["monitor"]["oracle_accuracy"];
      EXPECT_TRUE(rew >= 0 && rew <= 1 && acc >= 0 && acc <= 1);
    }
    if (j.value("kind", "") == "rollouts") {
      ++dumps;
      ASSERT_EQ(j["samples"].size(), 6u);
      for (auto& s : j["samples"]) {
        // Self reward = the frozen base's own score of the sample.
        EXPECT_EQ(s["reward"].get<double>(), s["own_score"].get<double>());
        EXPECT_TRUE(s.contains("advantage") && s["oracle"].is_boolean());
      }
    }
  }
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(dumps, 4);

  // A NaN at step 2 (epoch 2) stops the run after epoch 1's checkpoint; resumed, it ends with
  // the model of the uninterrupted run, and the monitor's log as that run's.
  setenv("UNIGAP_INJECT_NAN_AT", "improve:2", 1);
  std::string msg;
  try {
    improve(ic, base, d.path + "/crash", false);
  } catch (const UserError& e) {
    msg = e.what();
  }
  unsetenv("UNIGAP_INJECT_NAN_AT");
  EXPECT_NE(msg.find("non-finite loss at improve step 2"), std::string::npos) << msg;
  const auto resumed = improve(ic, base, d.path + "/crash", true);
  EXPECT_EQ(resumed.rollouts, 24);
  EXPECT_EQ(read_file(d.path + "/clean/model/model.safetensors"), read_file(d.path + "/crash/model/model.safetensors"));
  auto monitor_log = [](const std::string& path) {
    std::vector<std::string> out;
    for (auto& l : read_jsonl(path))
      if (l.value.value("kind", "") == "grpo") out.push_back(l.value["monitor"].dump());
    return out;
  };
  EXPECT_EQ(monitor_log(d.path + "/clean/metrics.jsonl"), monitor_log(d.path + "/crash/metrics.jsonl"));

  // Within an epoch: a checkpoint after every step; a NaN at step 1 (epoch 1's second) stops the
  // run with the checkpoint of step 0 as the latest, before any epoch's. Resumed, it continues at
  // step 1 without tracking epoch 0 again, and ends as the uninterrupted run (which saved none).
  ImproveConfig every = ic;
  every.grpo.checkpoint_steps = 1;
  setenv("UNIGAP_INJECT_NAN_AT", "improve:1", 1);
  EXPECT_THROW(improve(every, base, d.path + "/mid", false), UserError);
  unsetenv("UNIGAP_INJECT_NAN_AT");
  EXPECT_EQ(read_json(d.path + "/mid/checkpoints/latest.json")["dir"], "improve-step-0000001");
  EXPECT_EQ(read_json(d.path + "/mid/checkpoints/improve-step-0000001/trainer.json")["epoch_steps"], 1);
  EXPECT_EQ(improve(every, base, d.path + "/mid", true).rollouts, 24);
  EXPECT_EQ(read_file(d.path + "/clean/model/model.safetensors"), read_file(d.path + "/mid/model/model.safetensors"));
  EXPECT_EQ(monitor_log(d.path + "/clean/metrics.jsonl"), monitor_log(d.path + "/mid/metrics.jsonl"));
  auto evals = [](const std::string& path) {
    std::vector<int> epochs;
    for (auto& l : read_jsonl(path))
      if (l.value.value("kind", "") == "eval") epochs.push_back(l.value["epoch"].get<int>());
    return epochs;
  };
  EXPECT_EQ(evals(d.path + "/clean/metrics.jsonl"), evals(d.path + "/mid/metrics.jsonl"));
  // The epoch's last step has no step checkpoint: the epoch's own follows it.
  for (auto& e : std::filesystem::directory_iterator(d.path + "/mid/checkpoints"))
    EXPECT_EQ(e.path().filename().string().find("improve-step"), std::string::npos) << e.path();
}

TEST(Grpo, RefusesWhatItCannotDoNamingTheOption) {
  auto error_of = [](ImproveConfig ic) {
    try {
      ic.validate();
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ImproveConfig ic = tiny_grpo();
  EXPECT_EQ(error_of(ic), "no error");
  ic.supervision = "all";
  EXPECT_NE(error_of(ic).find("GRPO needs a reward"), std::string::npos);
  ic = tiny_grpo(), ic.grpo.group = 1;
  EXPECT_NE(error_of(ic).find("'group'"), std::string::npos);
  ic = tiny_grpo(), ic.grpo.clip = 1.5;
  EXPECT_NE(error_of(ic).find("'clip'"), std::string::npos);
  ic = tiny_grpo(), ic.grpo.reward = "sometimes";
  EXPECT_NE(error_of(ic).find("must be score or verdict, found 'sometimes'"), std::string::npos);
  ic = tiny_grpo(), ic.grpo.reward_judge = "both";
  EXPECT_NE(error_of(ic).find("must be frozen or policy"), std::string::npos);
  ic = tiny_grpo(), ic.pool_from = "runs/x";
  EXPECT_NE(error_of(ic).find("no pool to reuse"), std::string::npos);
  ic = tiny_grpo(), ic.audit_min_precision = 0.5;
  EXPECT_NE(error_of(ic).find("reward-hacking monitor"), std::string::npos);
  ic = tiny_grpo(), ic.method = "ppo";
  EXPECT_NE(error_of(ic).find("must be sft, dpo or grpo"), std::string::npos);
}
