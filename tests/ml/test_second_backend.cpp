// The interface promise, end to end: a second backend that exists only in the tests
// (pixel_backend.cpp: 24x24 images, 16 codes, a byte tokenizer, its own parameter groups)
// is opened by load_model like any checkpoint and runs eval, improve (SFT with replay, plain
// SFT, DPO with replay), the audit, dynamics and the report, judged by another checkpoint's
// understanding (ckpt:PATH), with no line of src/ naming it.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"
#include "dynamics/entk.h"
#include "eval/external_judge.h"
#include "eval/gap_eval.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "io/safetensors.h"
#include "model/registry.h"
#include "pixel_backend.h"
#include "report/report.h"
#include "test_util.h"
#include "train/audit.h"
#include "train/improve.h"
#include "world/suite.h"

using namespace unigap;

namespace {

// A demo-like folder: eval-base, the arms and their evaluations against the base.
void write_eval(const std::string& ckpt, const std::string& ref, ExternalJudge& judge, const std::string& dir) {
  auto model = load_model(ckpt);
  std::unique_ptr<UnifiedMultimodal> r;
  if (!ref.empty()) r = load_model(ref);
  const WorldSpec spec = world_of(*model, "");
  EvalOptions o;
  o.samples_per_prompt = 2;
  o.seed = 5;
  const auto suite = sample_suite(spec, Split::Eval, 12, 5);
  RunDir run(dir);
  run.start(eval_run_config(ckpt, ref, "eval", suite.size(), 1, o, spec, judge.name()), {});
  const EvalResult res = evaluate(*model, judge, spec, suite, o, dir, r.get());
  json j = res.to_json();
  j["seed"] = 5;
  run.write_summary({{"per_seed", {j}}});
}

ImproveConfig small_improve(const std::string& judge) {
  ImproveConfig c;
  c.judge = "ckpt:" + judge;
  c.train_prompts = 10;
  c.pool.candidates = 4;
  c.epochs = 2;
  c.batch = 8;
  c.lr = 5e-2;
  c.warmup = 1;
  c.eval_prompts = 6;
  c.eval.samples_per_prompt = 1;
  return c;
}

}  // namespace

TEST(SecondBackend, LoadModelPicksItByItsFormatTag) {
  TempDir d;
  test_backend::write_pixel_checkpoint(d.path + "/m", 1);
  auto m = load_model(d.path + "/m");
  EXPECT_EQ(m->name(), "test-pixel");
  EXPECT_EQ(m->image_size(), 24);
  EXPECT_EQ(m->codebook_size(), 16);
  EXPECT_EQ(m->world(), nullptr);
  const auto names = backend_names();
  EXPECT_NE(std::find_if(names.begin(), names.end(), [](auto& n) { return n.rfind("test-pixel", 0) == 0; }), names.end());
  // Images of another size cross the interface: a 32x32 scene is judged by the 24x24 model.
  EXPECT_EQ(m->judge({Image(32, 32, 10, 20, 30)}, {"a photo of a cat"}).size(), 1u);
  EXPECT_EQ(m->encode_images({Image(48, 48)}).sizes(), (std::vector<int64_t>{1, 9}));
  // An unknown group is refused with the backend's own names.
  try {
    m->train_only({"backbone"});
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("llm, generator, und_head"), std::string::npos) << e.what();
  }
  // A folder no backend reads is a clear error naming it and the formats there are.
  make_dirs(d.path + "/odd");
  write_json(d.path + "/odd/config.json", {{"format", "someone-elses-v9"}});
  try {
    load_model(d.path + "/odd");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("someone-elses-v9"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("shapes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_model(d.path + "/nothing-here"), UserError);
}

TEST(SecondBackend, EvalImproveAuditDynamicsAndReportEndToEnd) {
  TempDir d;
  const std::string base = d.path + "/base", judge_ckpt = d.path + "/judge", D = d.path + "/run";
  test_backend::write_pixel_checkpoint(base, 1);
  test_backend::write_pixel_checkpoint(judge_ckpt, 2);
  auto judge = make_checkpoint_judge(load_model(judge_ckpt), judge_ckpt, 0.5);
  ASSERT_EQ(judge->name(), "ckpt:" + judge_ckpt);
  make_dirs(D);
  write_json(D + "/config.json", {{"command", "demo"}, {"seed", 0}, {"base", base}});

  // The base's gap, judged by the other checkpoint.
  write_eval(base, "", *judge, D + "/eval-base");
  const json ev = read_json(D + "/eval-base/summary.json")["per_seed"][0];
  EXPECT_EQ(ev["external_judge"], "ckpt:" + judge_ckpt);
  EXPECT_EQ(ev["images"], 24);

  // Self-improvement: SFT with replay, plain SFT and DPO with replay on its candidates.
  ImproveConfig sft = small_improve(judge_ckpt);
  sft.curriculum_epochs = {1};
  const ImproveResult r = improve(sft, base, D + "/sft-self", false);
  EXPECT_EQ(r.joined_at_replay.size(), 1u);
  ImproveConfig plain = small_improve(judge_ckpt);
  plain.pool_from = D + "/sft-self";
  improve(plain, base, D + "/sft-plain", false);
  ImproveConfig dpo = plain;
  dpo.method = "dpo";
  dpo.curriculum_epochs = {1};
  const ImproveResult rd = improve(dpo, base, D + "/dpo-self", false);
  EXPECT_GT(rd.dpo_pairs, 0);
  // Online RL on the same backend: its own rollouts, rewarded by the frozen base's judge.
  ImproveConfig grpo = small_improve(judge_ckpt);
  grpo.method = "grpo";
  grpo.grpo.group = 2;
  grpo.batch = 4;
  const ImproveResult rg = improve(grpo, base, D + "/grpo-self", false);
  EXPECT_GT(rg.rollouts, 0);

  // Only the backend's default group (its "llm") moved.
  auto before = read_safetensors(base + "/model.safetensors"), after = read_safetensors(D + "/sft-self/model/model.safetensors");
  int moved = 0;
  for (auto& [name, t] : after.tensors) {
    const bool same = t.bytes == before.tensors.at(name).bytes;
    if (name.rfind("llm.", 0) == 0) moved += !same;
    else EXPECT_TRUE(same) << name << " is frozen but changed";
  }
  EXPECT_EQ(moved, 1);
  EXPECT_EQ(load_model(D + "/sft-self/model")->name(), "test-pixel");  // the improved model reloads through the registry

  for (auto arm : {"sft-self", "sft-plain", "dpo-self", "grpo-self"}) write_eval(D + "/" + arm + "/model", base, *judge, D + "/eval-" + arm);

  // The audit names the judge the pool was labelled against.
  // A model without a world of its own is trained in the default world.
  const Pool pool = Pool::load(D + "/sft-self/pool.jsonl", WorldSpec::defaults());
  EXPECT_EQ(pool.judge, "ckpt:" + judge_ckpt);
  const AuditReport audit = audit_pool(pool, 0, 0);
  EXPECT_EQ(audit.judge, "ckpt:" + judge_ckpt);
  EXPECT_EQ(audit.sampled, int(pool.candidates.size()));
  EXPECT_EQ(read_json(D + "/sft-self/audit.json")["judge"], "ckpt:" + judge_ckpt);

  // Learning dynamics on the trainable group, and the FP-correction groups.
  auto m = load_model(base), improved = load_model(D + "/sft-self/model");
  DynamicsConfig dc;
  dc.probes = 6;
  dc.train_batch = 4;
  dc.alternatives = 2;
  json dyn = measure_dynamics(*m, WorldSpec::defaults(), pool, dc).to_json();
  ASSERT_EQ(dyn["probes"].size(), 6u);
  EXPECT_GT(dyn["fits"][0]["dG"]["pearson"].get<double>(), 0.9);  // first order at the smallest step
  dyn["groups"] = fp_correction_groups(*m, *improved, pool, 0, 0, 0.5);
  int grouped = 0;
  for (auto& [g, v] : dyn["groups"].items()) grouped += v["n"].get<int>();
  int round0 = 0;
  for (auto& c : pool.candidates) round0 += c.round == 0;
  EXPECT_EQ(grouped, round0);
  dyn["judge"] = pool.judge;
  RunDir(D + "/dynamics").write_summary(dyn);

  // The report finds the arms by their config and names the judge.
  const std::string html = read_file(write_report(D));
  for (const char* s : {"sft-self: SFT, self supervision, replay after epoch 1", "sft-plain: SFT, self supervision",
                        "dpo-self: DPO, self supervision", "grpo-self: GRPO, self supervision",
                        "grpo-self: GRPO, self supervision: reward-hacking monitor", "External judge: ckpt:", "2a. SFT (self) raises Gen",
                        "6a. Curriculum replay grows the training set", "4. First-order eNTK prediction"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
}
