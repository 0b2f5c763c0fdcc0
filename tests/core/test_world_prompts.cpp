// Prompt suites: schema round trips, validation errors naming the field, prompt
// text, disjoint splits and GenEval proportions.
#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "world/suite.h"

using namespace unigap;

namespace {
std::string error_of(const json& j, const WorldSpec& spec) {
  try {
    Metadata::from_json(j, spec, "prompts.jsonl:7");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Prompts, TextsFollowGenEvalTemplates) {
  EXPECT_EQ(make_single_object("circle").prompt, "a photo of a circle");
  EXPECT_EQ(make_colors("square", "orange").prompt, "a photo of an orange square");
  EXPECT_EQ(make_counting("triangle", 3).prompt, "a photo of three triangles");
  EXPECT_EQ(make_two_object("circle", "diamond").prompt, "a photo of a circle and a diamond");
  EXPECT_EQ(make_position("circle", "right of", "square").prompt, "a photo of a circle right of a square");
  EXPECT_EQ(make_position("circle", "above", "square", "red", "blue").prompt,
            "a photo of a red circle above a blue square");
  EXPECT_EQ(make_color_attr("circle", "red", "square", "yellow").prompt, "a photo of a red circle and a yellow square");
}

TEST(Prompts, PositionMetadataMatchesGenEvalSchema) {
  json j = make_position("circle", "right of", "square").to_json();
  EXPECT_EQ(j["include"][0]["class"], "square");
  EXPECT_EQ(j["include"][1]["class"], "circle");
  EXPECT_EQ(j["include"][1]["position"], json::array({"right of", 0}));
  json c = make_counting("circle", 2).to_json();
  EXPECT_EQ(c["exclude"][0]["count"], 3);
}

TEST(Prompts, RoundTripEveryPromptOfTheUniverse) {
  auto spec = WorldSpec::v1();
  for (auto& m : prompt_universe(spec)) {
    Metadata back = Metadata::from_json(m.to_json(), spec, "x");
    EXPECT_EQ(back.to_json(), m.to_json());
  }
}

TEST(Prompts, ValidationNamesFieldAndValue) {
  auto spec = WorldSpec::v1();
  json good = make_colors("circle", "red").to_json();
  EXPECT_EQ(error_of(good, spec), "");
  json j = good;
  j["include"][0]["color"] = "magenta";
  auto e = error_of(j, spec);
  EXPECT_NE(e.find("prompts.jsonl:7"), std::string::npos) << e;
  EXPECT_NE(e.find("include[0].color"), std::string::npos) << e;
  EXPECT_NE(e.find("magenta"), std::string::npos) << e;
  j = good;
  j["include"][0]["class"] = "hexagon";
  EXPECT_NE(error_of(j, spec).find("unknown shape 'hexagon'"), std::string::npos);
  j = good;
  j["include"][0]["count"] = 0;
  EXPECT_NE(error_of(j, spec).find("impossible count 0"), std::string::npos);
  j["include"][0]["count"] = 50;
  EXPECT_NE(error_of(j, spec).find("impossible count 50"), std::string::npos);
  j["include"][0]["count"] = 3.5;
  EXPECT_NE(error_of(j, spec).find("must be an integer"), std::string::npos);
  j = good;
  j["tag"] = "texture";
  EXPECT_NE(error_of(j, spec).find("unknown tag 'texture'"), std::string::npos);
  j = good;
  j.erase("prompt");
  EXPECT_NE(error_of(j, spec).find("'prompt'"), std::string::npos);
  j = make_position("circle", "left of", "square").to_json();
  j["include"][1]["position"] = {"left of", 1};
  EXPECT_NE(error_of(j, spec).find("earlier include clause"), std::string::npos);
  j["include"][1]["position"] = {"beside", 0};
  EXPECT_NE(error_of(j, spec).find("unknown relation 'beside'"), std::string::npos);
  j = make_counting("circle", 4).to_json();
  j["include"][0]["count"] = 5;  // more objects than the world draws
  EXPECT_NE(error_of(j, spec).find("at most 4"), std::string::npos);
  j = make_counting("circle", 2).to_json();
  j["exclude"][0]["count"] = 2;
  EXPECT_NE(error_of(j, spec).find("contradicts include"), std::string::npos);
  EXPECT_NE(error_of(json::array(), spec).find("must be a JSON object"), std::string::npos);
  j = good;
  j["extra"] = 1;
  EXPECT_NE(error_of(j, spec).find("unknown field"), std::string::npos);
}

TEST(Prompts, SplitsAreDisjointAndCoverEveryTag) {
  auto spec = WorldSpec::v1();
  auto train = split_prompts(spec, Split::Train), eval = split_prompts(spec, Split::Eval);
  std::set<std::string> t, e;
  for (auto& m : train) t.insert(m.prompt);
  for (auto& m : eval) e.insert(m.prompt);
  EXPECT_EQ(t.size(), train.size());  // unique texts
  for (auto& p : e) EXPECT_EQ(t.count(p), 0u) << p;
  EXPECT_EQ(t.size() + e.size(), prompt_universe(spec).size());
  for (auto& tag : kTags) {
    int nt = 0, ne = 0;
    for (auto& m : train) nt += m.tag == tag;
    for (auto& m : eval) ne += m.tag == tag;
    EXPECT_GT(nt, 0) << tag;
    EXPECT_GT(ne, 0) << tag;
  }
  // Disjoint in meaning too: no eval prompt restates a train prompt in another order.
  std::set<std::string> train_keys;
  for (auto& m : train) train_keys.insert(canonical_key(m));
  for (auto& m : eval) EXPECT_EQ(train_keys.count(canonical_key(m)), 0u) << m.prompt;
  EXPECT_EQ(canonical_key(make_position("circle", "left of", "square")),
            canonical_key(make_position("square", "right of", "circle")));
  EXPECT_EQ(canonical_key(make_two_object("circle", "square")), canonical_key(make_two_object("square", "circle")));
  // About eval_fraction of the prompts are held out.
  EXPECT_NEAR(double(e.size()) / (t.size() + e.size()), spec.eval_fraction, 0.03);
}

TEST(Prompts, SuiteHasGenEvalProportionsAndIsSeeded) {
  auto spec = WorldSpec::v1();
  auto s = sample_suite(spec, Split::Eval, 553, 5);
  ASSERT_EQ(s.size(), 553u);
  std::map<std::string, int> count;
  for (auto& m : s) count[m.tag]++;
  EXPECT_EQ(count, geneval_tag_counts());
  auto s2 = sample_suite(spec, Split::Eval, 553, 5), s3 = sample_suite(spec, Split::Eval, 553, 6);
  bool same = true, diff = false;
  for (size_t i = 0; i < s.size(); ++i) same &= s[i].prompt == s2[i].prompt, diff |= s[i].prompt != s3[i].prompt;
  EXPECT_TRUE(same);
  EXPECT_TRUE(diff);
  // Every drawn prompt belongs to the split.
  for (auto& m : sample_suite(spec, Split::Train, 2000, 1)) EXPECT_EQ(split_of(m, spec), Split::Train);
  // Without replacement while the tag pool lasts: position (hundreds of prompts) does not repeat.
  std::set<std::string> pos;
  int npos = 0;
  for (auto& m : s)
    if (m.tag == "position") pos.insert(m.prompt), ++npos;
  EXPECT_EQ(int(pos.size()), npos);
}

TEST(WorldSpecTest, DefaultsValidAndErrorsNameTheField) {
  auto spec = WorldSpec::v1();
  EXPECT_NO_THROW(spec.validate());
  EXPECT_GE(spec.shapes.size(), 3u);
  EXPECT_GE(spec.colors.size(), 6u);
  auto roundtrip = WorldSpec::from_json(spec.to_json(), "x");
  EXPECT_EQ(roundtrip.fingerprint(), spec.fingerprint());
  auto err = [](json j) {
    try {
      WorldSpec::from_json(j, "world.json");
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(err({{"canvas", 4}}).find("canvas"), std::string::npos);
  EXPECT_NE(err({{"shapes", {"circle", "blob"}}}).find("unknown shape 'blob'"), std::string::npos);
  EXPECT_NE(err({{"colors", {{{"name", "white"}, {"rgb", {250, 250, 250}}}, {{"name", "red"}, {"rgb", {255, 0, 0}}}}}})
                .find("too close to the background"),
            std::string::npos);
  EXPECT_NE(err({{"canvas", "big"}}).find("wrong type"), std::string::npos);
  EXPECT_NE(err({{"colour", 1}}).find("unknown field 'colour'"), std::string::npos);
  EXPECT_NE(err({{"canvas", 20}}).find("too small"), std::string::npos);
  // Found by fuzz_world_config: huge or fractional numbers for integer fields were cast
  // to int (undefined behaviour); now they are refused, naming the field.
  EXPECT_NE(err({{"canvas", 2.02607e+87}}).find("field 'canvas' has the wrong type or is out of range"), std::string::npos);
  EXPECT_NE(err({{"min_size", 8.5}}).find("field 'min_size'"), std::string::npos);
  EXPECT_NE(err({{"canvas", -1e300}}).find("field 'canvas'"), std::string::npos);
  EXPECT_NE(err({{"min_gap", 2026907162}}).find("world spec field 'min_gap'"), std::string::npos);
  EXPECT_NE(err({{"max_size", 2000000000}}).find("world spec field 'max_size'"), std::string::npos);
}

TEST(JsonAs, RefusesWhatTheTargetTypeCannotHold) {
  EXPECT_EQ(json_as<int>(json(42)), 42);
  EXPECT_EQ(json_as<int>(json(42.0)), 42);
  EXPECT_FALSE(json_as<int>(json(42.5)));
  EXPECT_FALSE(json_as<int>(json(2e60)));
  EXPECT_FALSE(json_as<int>(json(2147483648LL)));
  EXPECT_EQ(json_as<int>(json(-2147483648LL)), -2147483647 - 1);
  EXPECT_FALSE(json_as<uint64_t>(json(-1)));
  EXPECT_EQ(json_as<uint64_t>(json(18446744073709551615ULL)), 18446744073709551615ULL);
  EXPECT_FALSE(json_as<int64_t>(json(9223372036854775808.0)));
  EXPECT_FALSE(json_as<size_t>(json(1.8446744073709552e19)));
  EXPECT_FALSE(json_as<float>(json(1e300)));
  EXPECT_EQ(json_as<double>(json(7)), 7.0);
  EXPECT_FALSE(json_as<double>(json("7")));
  EXPECT_FALSE(json_as<bool>(json(1)));
  EXPECT_EQ(json_as<std::string>(json("a")), "a");
  EXPECT_FALSE(json_as<std::string>(json(1)));
}
