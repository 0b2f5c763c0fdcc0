// Pretraining batches weighted by task family (`tag_weights`): the draw follows the
// weights, an unweighted config draws every tag, and a bad weight is refused naming it.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/error.h"
#include "io/jsonl.h"
#include "train/pretrain.h"
#include "train/pretrain_data.h"

using namespace unigap;

namespace {

std::map<std::string, int> tag_counts(const PretrainData& data, int steps, int batch) {
  std::map<std::string, int> n;
  for (int s = 0; s < steps; ++s)
    for (auto& ex : data.batch(s, batch)) ++n[ex.prompt.tag];
  return n;
}

std::string error_of(const json& j) {
  try {
    PretrainConfig::from_json(j, "cfg.json");
  } catch (const UserError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(PretrainData, TagWeightsSetTheShareOfEachTaskFamily) {
  const auto cfg = PretrainConfig::from_json({{"tag_weights", {{"position", 1.0}, {"color_attr", 3.0}}}}, "cfg.json");
  ASSERT_EQ(cfg.tag_weights.size(), 2u);
  EXPECT_EQ(cfg.to_json()["tag_weights"]["color_attr"], 3.0);  // recorded in the run's config
  const WorldSpec spec = WorldSpec::v2();
  const auto n = tag_counts(PretrainData(spec, 7, 0.9, cfg.tag_weights), 125, 16);
  ASSERT_EQ(n.size(), 2u) << "a tag of weight 0 was drawn";
  const double share = n.at("color_attr") / 2000.0;
  // 3 / (1 + 3) = 0.75; the binomial sd over 2000 draws is 0.0097: 4 sd either side.
  EXPECT_NEAR(share, 0.75, 0.039);

  // Unweighted: every tag, about a sixth each.
  const auto u = tag_counts(PretrainData(spec, 7, 0.9), 125, 16);
  ASSERT_EQ(u.size(), kTags.size());
  for (auto& [tag, k] : u) EXPECT_NEAR(k / 2000.0, 1.0 / 6, 0.034) << tag;
}

// The small preset's default recipe in version 2 is the one the shipped version 2 bases were
// pretrained with: models/base-small-v2-p1 ran it in one command, tokenizer included, so
// `unigap pretrain --preset small --seed 1` repeats its config. Version 1 keeps its own.
TEST(PretrainData, TheDefaultRecipeIsTheShippedVersion2Bases) {
  const json shipped = read_json(UNIGAP_SOURCE_DIR "/models/base-small-v2-p1/config.json").at("pretrain");
  json ours = PretrainConfig::for_preset("small").to_json();
  ours["seed"] = 1;
  EXPECT_EQ(ours, shipped);
  EXPECT_EQ(PretrainConfig::from_json({{"seed", 1}}, "cfg.json").to_json(), shipped);  // absent fields: the recipe's
  const auto v1 = PretrainConfig::for_preset("small", 1);
  EXPECT_EQ(v1.steps, 4000);
  EXPECT_TRUE(v1.tag_weights.empty());
  EXPECT_EQ(v1.negative_weight, 1.0);
  json v1_seed1 = v1.to_json();
  v1_seed1["seed"] = 1;
  EXPECT_EQ(PretrainConfig::from_json({{"seed", 1}}, "cfg.json", 1).to_json(), v1_seed1);
}

TEST(PretrainData, BadTagWeightsAreRefusedNamingThem) {
  EXPECT_NE(error_of({{"tag_weights", {{"shapes", 1.0}}}}).find("'shapes', which is not a tag"), std::string::npos);
  EXPECT_NE(error_of({{"tag_weights", {{"position", -1.0}}}}).find("weight of 'position' must be"), std::string::npos);
  EXPECT_NE(error_of({{"tag_weights", {{"position", 0.0}}}}).find("at least one tag needs a weight > 0"), std::string::npos);
  EXPECT_NE(error_of({{"tag_weights", {{"position", "high"}}}}).find("'tag_weights.position' must be a number"),
            std::string::npos);
  EXPECT_NE(error_of({{"tag_weights", json::array({1, 2})}}).find("'tag_weights' must be an object"), std::string::npos);
  EXPECT_EQ(error_of({{"tag_weights", {{"counting", 2.0}, {"colors", 0.5}}}}), "no error");
  // The weight of the "no" rows in the yes/no loss (a sibling knob of the same recipe).
  EXPECT_NE(error_of({{"negative_weight", 0.0}}).find("'negative_weight': must be a finite number > 0"), std::string::npos);
  EXPECT_NE(error_of({{"negative_weight", "two"}}).find("negative_weight"), std::string::npos);
  EXPECT_EQ(PretrainConfig::from_json({{"negative_weight", 2.0}}, "cfg.json").to_json()["negative_weight"], 2.0);
}
