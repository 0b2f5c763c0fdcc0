// The evaluation runner end to end on a tiny (untrained) model: generated images in
// GenEval's layout with one record per image; images made elsewhere judged through
// --images (rendered scenes: the oracle says right for all); bad inputs refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "common/error.h"
#include "common/image_resize.h"
#include "eval/gap_eval.h"
#include "io/atomic_file.h"
#include "io/png.h"
#include "model/shapes_model.h"
#include "test_util.h"
#include "world/geneval_folder.h"
#include "world/render.h"
#include "world/suite.h"

using namespace unigap;

namespace {
// The external judge of these tests: the oracle of the default world.
ExternalJudge& oracle() {
  static auto j = make_oracle_judge(WorldSpec::v1());
  return *j;
}
}  // namespace

TEST(EvalRunner, GeneratesJudgesAndScoresEveryImage) {
  ShapesModel m(ModelConfig::preset_named("tiny"), WorldSpec::v1(), 4);
  auto suite = sample_suite(*m.world(), Split::Eval, 12, 1);
  EvalOptions o;
  o.samples_per_prompt = 2;
  TempDir d;
  auto r = evaluate(m, oracle(), *m.world(), suite, o, d.path, &m);
  EXPECT_EQ(r.records.size(), 24u);
  EXPECT_TRUE(file_exists(d.path + "/images/00011/samples/0001.png"));
  EXPECT_EQ(read_jsonl(d.path + "/results.jsonl").size(), 24u);
  EXPECT_EQ(r.gap.pooled.gen.n, 24);
  EXPECT_EQ(r.und.overall.accuracy.n, 24);  // one true + one false prompt per suite line
  // A model compared with itself never disagrees: the win rate is undefined, not 50%.
  ASSERT_TRUE(r.vs_ref.has_value());
  EXPECT_EQ(r.vs_ref->win_rate.n, 0);
}

TEST(EvalRunner, JudgesImagesMadeElsewhere) {
  ShapesModel m(ModelConfig::preset_named("tiny"), WorldSpec::v1(), 4);
  auto suite = sample_suite(*m.world(), Split::Eval, 6, 2);
  TempDir d;
  Rng rng(3);
  for (size_t i = 0; i < suite.size(); ++i)
    write_sample_folder(d.path + "/imgs", int(i), suite[i],
                        {render_scene(layout_scene(suite[i], *m.world(), rng), *m.world())});
  EvalOptions o;
  o.images_dir = d.path + "/imgs";
  auto r = evaluate(m, oracle(), *m.world(), suite, o, d.path + "/out");
  EXPECT_EQ(r.records.size(), 6u);
  EXPECT_EQ(r.gap.pooled.gen.k, 6);  // rendered scenes are right by construction
  EXPECT_EQ(r.judge, "oracle");
  EXPECT_EQ(r.to_json()["external_judge"], "oracle");
  // Images of another size are resized where they are judged: the same scenes at 64x64
  // (made elsewhere at twice the canvas) are still right, and the model judges them.
  for (size_t i = 0; i < suite.size(); ++i) {
    const std::string f = d.path + "/imgs/" + sample_folder_name(int(i)) + "/samples/0000.png";
    write_png(f, resize_image(read_png(f), 64, 64));
  }
  auto big = evaluate(m, oracle(), *m.world(), suite, o, d.path + "/out2");
  EXPECT_EQ(big.gap.pooled.gen.k, 6);
  EXPECT_EQ(big.records.size(), 6u);
  // A file that is not a PNG is refused with its path.
  write_file_atomic(d.path + "/imgs/00000/samples/0000.png", "not a png");
  try {
    evaluate(m, oracle(), *m.world(), suite, o, d.path + "/out3");
    FAIL() << "expected a refusal";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("00000/samples/0000.png"), std::string::npos) << e.what();
  }
}

TEST(EvalRunner, ResumeKeepsCompleteFoldersAndEqualsAnUninterruptedRun) {
  ShapesModel m(ModelConfig::preset_named("tiny"), WorldSpec::v1(), 4);
  auto suite = sample_suite(*m.world(), Split::Eval, 10, 1);
  EvalOptions o;
  o.samples_per_prompt = 2;
  o.sampling.batch = 4;  // two prompts per pass: folders are written pass by pass
  TempDir d;
  auto full = evaluate(m, oracle(), *m.world(), suite, o, d.path + "/full");
  // An "interrupted" run: only some folders are complete; one has images but no metadata
  // (the crash came before its metadata.jsonl, which is written last).
  evaluate(m, oracle(), *m.world(), suite, o, d.path + "/part");
  std::filesystem::remove_all(d.path + "/part/images/00007");
  std::filesystem::remove_all(d.path + "/part/images/00009");
  std::filesystem::remove(d.path + "/part/images/00003/metadata.jsonl");
  write_png(d.path + "/part/images/00003/samples/0000.png", Image(32, 32, 0, 0, 0));  // stale, must be redone
  o.resume = true;
  auto resumed = evaluate(m, oracle(), *m.world(), suite, o, d.path + "/part");
  std::string want = read_file(d.path + "/full/results.jsonl");
  for (size_t at; (at = want.find("/full/")) != std::string::npos;) want.replace(at, 6, "/part/");
  EXPECT_EQ(want, read_file(d.path + "/part/results.jsonl"));
  EXPECT_EQ(resumed.gap.pooled.gen.k, full.gap.pooled.gen.k);
  EXPECT_EQ(read_file(d.path + "/full/images/00003/samples/0000.png"), read_file(d.path + "/part/images/00003/samples/0000.png"));
  // A folder made for another suite is refused with its path.
  auto other = sample_suite(*m.world(), Split::Eval, 10, 2);
  try {
    evaluate(m, oracle(), *m.world(), other, o, d.path + "/part");
    FAIL() << "expected a refusal";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("metadata.jsonl"), std::string::npos) << e.what();
  }
}

TEST(EvalRunner, ReferenceImagesReadFromItsEarlierEvalGiveTheSameComparison) {
  ShapesModel m(ModelConfig::preset_named("tiny"), WorldSpec::v1(), 4);
  ShapesModel ref(ModelConfig::preset_named("tiny"), WorldSpec::v1(), 5);
  auto suite = sample_suite(*m.world(), Split::Eval, 6, 3);
  EvalOptions o;
  o.samples_per_prompt = 2;
  o.seed = 3;
  TempDir d;
  ref.save(d.path + "/ref");
  // The reference's own eval, as `eval --ckpt ref` writes it.
  evaluate(ref, oracle(), *ref.world(), suite, o, d.path + "/ref-eval");
  const json config = eval_run_config(d.path + "/ref", "", "eval", suite.size(), 1, o, *m.world(), "oracle");
  write_json(d.path + "/ref-eval/config.json", config);
  write_json(d.path + "/ref-eval/summary.json", json::object());

  const auto sampled = evaluate(m, oracle(), *m.world(), suite, o, d.path + "/sampled", &ref);
  EvalOptions r = o;
  r.ref_images_dir = ref_images_of(d.path + "/ref-eval", d.path + "/ref", config);
  EXPECT_EQ(r.ref_images_dir, d.path + "/ref-eval/images");
  const auto read = evaluate(m, oracle(), *m.world(), suite, r, d.path + "/read", &ref);
  ASSERT_TRUE(sampled.vs_ref && read.vs_ref);
  EXPECT_EQ(read.vs_ref->to_json(), sampled.vs_ref->to_json());
  EXPECT_EQ(read.ref_gap->to_json(), sampled.ref_gap->to_json());
  EXPECT_FALSE(std::filesystem::exists(d.path + "/read/ref_images"));

  // Another seed would have sampled other images: refused, naming the setting.
  json other = config;
  other["eval"]["seed"] = 4;
  try {
    ref_images_of(d.path + "/ref-eval", d.path + "/ref", other);
    FAIL() << "expected a refusal";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("eval"), std::string::npos) << e.what();
  }
  // An eval of another model is not the reference's.
  m.save(d.path + "/other");
  EXPECT_THROW(ref_images_of(d.path + "/ref-eval", d.path + "/other", config), UserError);
  // An unfinished eval is refused; so is a folder with a prompt missing.
  std::filesystem::remove(d.path + "/ref-eval/summary.json");
  EXPECT_THROW(ref_images_of(d.path + "/ref-eval", d.path + "/ref", config), UserError);
  std::filesystem::remove_all(d.path + "/ref-eval/images/00005");
  EXPECT_THROW(evaluate(m, oracle(), *m.world(), suite, r, d.path + "/read2", &ref), UserError);
}

// The first look's margin of the best weight over another, bootstrapped over distinct prompts:
// a clear gap on 40 prompts separates the two; a one-image gap does not; 40 copies of one
// prompt are one prompt, and one prompt per tag has no variation either: their intervals are
// undefined and so separate nothing.
TEST(TuningReadsValidationOnly, GuidanceMarginsResampleDistinctPrompts) {
  auto look = [](int prompts, int copies, int correct_of_4, int tags = 2) {
    std::vector<ImageRecord> recs;
    for (int p = 0; p < prompts; ++p)
      for (int c = 0; c < copies; ++c)
        for (int k = 0; k < 4; ++k) {
          ImageRecord r;
          r.prompt_index = p * copies + c, r.sample = k, r.tag = "tag" + std::to_string(p % tags);
          r.group = "g" + std::to_string(p), r.prompt = r.group;
          r.oracle = k < correct_of_4 + (p % 3 == 0);  // prompts differ, so the bootstrap has variation to resample
          recs.push_back(r);
        }
    return recs;
  };
  auto margin = [](const std::vector<ImageRecord>& best, const std::vector<ImageRecord>& other) {
    const auto m = guidance_margins({{1.0, other}, {2.0, best}}, 2.0, 7);
    EXPECT_EQ(m.size(), 1u);
    EXPECT_EQ(std::get<0>(m.at(0)), 1.0);
    return m.at(0);
  };
  const auto clear = margin(look(40, 1, 3), look(40, 1, 1));
  EXPECT_NEAR(std::get<1>(clear), 0.5, 1e-12);
  EXPECT_GT(std::get<2>(clear).lo, 0);
  std::vector<ImageRecord> close = look(40, 1, 2);
  close[1].oracle = !close[1].oracle;  // one image apart
  EXPECT_LE(std::get<2>(margin(look(40, 1, 2), close)).lo, 0);
  const auto one_prompt = margin(look(1, 40, 3), look(1, 40, 1));
  EXPECT_NEAR(std::get<1>(one_prompt), 0.5, 1e-12);
  EXPECT_FALSE(defined(std::get<2>(one_prompt)));
  const auto one_per_tag = margin(look(6, 1, 3, 6), look(6, 1, 1, 6));
  EXPECT_NEAR(std::get<1>(one_per_tag), 0.5, 1e-12);
  EXPECT_FALSE(defined(std::get<2>(one_per_tag)));
  EXPECT_THROW(guidance_margins({{1.0, look(4, 1, 1)}}, 2.0, 7), std::logic_error);
}

TEST(TuningReadsValidationOnly, GuidanceIsChosenOnValidationPromptsAndRecorded) {
  const WorldSpec v2 = WorldSpec::v2();
  ShapesModel m(ModelConfig::preset_named("tiny"), v2, 4);
  auto judge = make_oracle_judge(v2);
  EvalOptions o;
  o.samples_per_prompt = 1;
  std::set<std::string> eval_keys;
  for (auto& p : split_prompts(v2, Split::Eval)) eval_keys.insert(canonical_key(p));
  auto on_validation_only = [&](const std::vector<Metadata>& suite) {
    for (auto& p : suite) {
      EXPECT_EQ(split_of(p, v2), Split::Val) << p.prompt;
      EXPECT_EQ(eval_keys.count(canonical_key(p)), 0u) << p.prompt;
    }
  };
  // The best of two looks' Gen; ties go to the smaller weight.
  auto best_of = [](const std::vector<std::pair<double, double>>& gen) {
    std::pair<double, double> b = gen.front();
    for (auto& g : gen)
      if (g.second > b.second || (g.second == b.second && g.first < b.first)) b = g;
    return b.first;
  };
  // One look (improve's tracking): the chosen weight has the best validation Gen.
  const GuidanceChoice one = choose_guidance(m, *judge, v2, {3.0, 1.0}, 12, o, GuidanceRule::OneStage);
  EXPECT_EQ(one.split, "val");
  ASSERT_EQ(one.first.suite.size(), 12u);
  on_validation_only(one.first.suite);
  ASSERT_EQ(one.first.gen.size(), 2u);
  EXPECT_EQ(one.chosen, best_of(one.first.gen));
  EXPECT_TRUE(one.margins.empty() && !one.second);
  EXPECT_EQ(one.to_json()["split"], "val");
  EXPECT_FALSE(one.to_json().contains("rule"));
  // Evaluation's two looks: an untrained model draws nothing right at either weight, so 12
  // prompts cannot separate them and every validation prompt decides, with fresh images.
  const GuidanceChoice c = choose_guidance(m, *judge, v2, {3.0, 1.0}, 12, o);
  EXPECT_EQ(c.first.gen, one.first.gen);  // the same first look
  ASSERT_EQ(c.margins.size(), 1u);
  EXPECT_FALSE(std::get<2>(c.margins[0]).lo > 0);
  ASSERT_TRUE(c.second);
  EXPECT_EQ(c.second->suite.size(), split_prompts(v2, Split::Val).size());
  on_validation_only(c.second->suite);
  ASSERT_EQ(c.second->gen.size(), 2u);
  EXPECT_EQ(c.second->gen[0].first, 1.0);  // ascending
  EXPECT_EQ(c.chosen, best_of(c.second->gen));
  const json j = c.to_json();
  EXPECT_EQ(j["rule"], "two-stage");
  EXPECT_EQ(j["second"]["prompts"], c.second->suite.size());
  EXPECT_EQ(j["prompts"], 12);
  // A world without a validation split has nothing to tune on: refused, not tuned on eval.
  ShapesModel m1(ModelConfig::preset_named("tiny"), WorldSpec::v1(), 4);
  EXPECT_THROW(choose_guidance(m1, oracle(), WorldSpec::v1(), {1.0, 3.0}, 6, o), UserError);
  // The held-out tracking of improve draws from the same split, and a tracking file with an
  // eval prompt is refused naming it.
  EXPECT_EQ(tuning_split(v2), Split::Val);
  EXPECT_EQ(tuning_split(WorldSpec::v1()), Split::Eval);  // version 1 has no other
  const auto eval_prompts = split_prompts(v2, Split::Eval);
  try {
    refuse_outside_tuning_split({c.first.suite[0], eval_prompts[3]}, v2, "track.jsonl");
    ADD_FAILURE() << "an eval prompt was accepted for tuning";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(eval_prompts[3].prompt), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("track.jsonl"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(refuse_outside_tuning_split(c.first.suite, v2, "track.jsonl"));
}
