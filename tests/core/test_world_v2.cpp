// World version 2: every tag has at least 40 distinct eval prompts (meaning groups)
// and three times as many train prompts; train, validation and eval are disjoint in
// meaning; the size words and locations read as documented; version 1 is unchanged.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/error.h"
#include "world/oracle.h"
#include "world/render.h"
#include "world/suite.h"

using namespace unigap;

namespace {
std::map<std::string, std::set<std::string>> groups_by_tag(const std::vector<Metadata>& prompts) {
  std::map<std::string, std::set<std::string>> g;
  for (auto& m : prompts) g[m.tag].insert(canonical_key(m));
  return g;
}
}  // namespace

TEST(WorldV2, EveryTagHas40EvalMeaningGroupsAnd3xTrain) {
  const auto spec = WorldSpec::v2();
  auto train = groups_by_tag(split_prompts(spec, Split::Train));
  auto val = groups_by_tag(split_prompts(spec, Split::Val));
  auto eval = groups_by_tag(split_prompts(spec, Split::Eval));
  std::printf("\n%-14s %6s %6s %6s  (meaning groups)\n", "tag", "train", "val", "eval");
  for (auto& tag : kTags) {
    std::printf("%-14s %6zu %6zu %6zu\n", tag.c_str(), train[tag].size(), val[tag].size(), eval[tag].size());
    EXPECT_GE(eval[tag].size(), 40u) << tag;
    EXPECT_GE(train[tag].size(), 3 * eval[tag].size()) << tag;
    EXPECT_GE(val[tag].size(), 20u) << tag;
  }
}

TEST(WorldV2, SplitsAreDisjointInMeaningAndCoverTheUniverse) {
  const auto spec = WorldSpec::v2();
  std::map<std::string, Split> key_split, text_split;
  size_t n = 0;
  for (Split s : {Split::Train, Split::Val, Split::Eval})
    for (auto& m : split_prompts(spec, s)) {
      ++n;
      auto [it, fresh] = key_split.emplace(canonical_key(m), s);
      EXPECT_TRUE(fresh || it->second == s) << m.prompt << " shares its meaning with a prompt of another split";
      EXPECT_TRUE(text_split.emplace(m.prompt, s).second) << m.prompt << " is listed twice";
      EXPECT_EQ(split_of(m, spec), s) << m.prompt;
    }
  EXPECT_EQ(n, prompt_universe(spec).size());
  // Restatements share a key, sizes included; a different size is another meaning.
  auto pos = [](const char* a, const char* za, const char* rel, const char* b, const char* zb) {
    Metadata m = make_position(a, rel, b);
    m.include[1].size = za, m.include[0].size = zb;
    return with_text(m);
  };
  EXPECT_EQ(canonical_key(pos("circle", "small", "left of", "ring", "large")),
            canonical_key(pos("ring", "large", "right of", "circle", "small")));
  EXPECT_NE(canonical_key(pos("circle", "small", "left of", "ring", "large")),
            canonical_key(pos("circle", "large", "left of", "ring", "small")));
  // Version 1's split is what it was (the shipped base was trained on it).
  const auto v1 = WorldSpec::v1();
  EXPECT_EQ(v1.fingerprint(), "14faafc0a04cad98");
  EXPECT_EQ(split_prompts(v1, Split::Train).size(), 1640u);
  EXPECT_EQ(split_prompts(v1, Split::Eval).size(), 548u);
  EXPECT_THROW(split_prompts(v1, Split::Val), UserError);
}

TEST(WorldV2, TextsOfTheAddedAttributes) {
  Metadata a = make_single_object("circle");
  a.include[0].size = "small", a.include[0].location = "top left";
  EXPECT_EQ(with_text(a).prompt, "a photo of a small circle in the top left");
  Metadata b = make_colors("ring", "orange");
  b.include[0].location = "bottom";
  EXPECT_EQ(with_text(b).prompt, "a photo of an orange ring at the bottom");
  Metadata c = make_counting("cross", 3);
  c.include[0].size = "large", c.include[0].color = "red";
  EXPECT_EQ(with_text(c).prompt, "a photo of three large red crosses");
  Metadata d = make_position("frame", "above", "square");
  d.include[1].size = "large";
  EXPECT_EQ(with_text(d).prompt, "a photo of a large frame above a square");
  // Round trip through GenEval's JSON, and the attributes are refused by a version 1 world.
  const auto spec = WorldSpec::v2();
  for (auto& m : {with_text(a), with_text(b), with_text(c), with_text(d)}) {
    auto back = Metadata::from_json(m.to_json(), spec, "t");
    EXPECT_EQ(back.to_json(), m.to_json());
    EXPECT_EQ(prompt_text(back), m.prompt);
  }
  try {
    Metadata::from_json(with_text(a).to_json(), WorldSpec::v1(), "p.jsonl:3");
    ADD_FAILURE() << "a size word was accepted by a version 1 world";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("include[0].size"), std::string::npos) << e.what();
  }
  json bad = with_text(a).to_json();
  bad["include"][0]["location"] = "middle";
  try {
    Metadata::from_json(bad, spec, "p.jsonl:4");
    ADD_FAILURE() << "an unknown location was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown location 'middle'"), std::string::npos) << e.what();
  }
  // Every universe prompt's text is what its metadata says.
  for (auto& m : prompt_universe(spec)) ASSERT_EQ(prompt_text(m), m.prompt);
}

TEST(WorldV2, ScenesHonourSizesAndLocationsRobustly) {
  const auto spec = WorldSpec::v2();
  Rng rng(5);
  int checked = 0;
  for (auto& m : prompt_universe(spec)) {
    if (m.tag != "single_object" && m.tag != "counting") continue;
    Scene s = layout_scene(m, spec, rng);
    const auto& c = m.include[0];
    for (auto& o : s.objects) {
      if (c.size == "small") {
        EXPECT_LE(o.size, spec.small_max) << m.prompt;
      }
      if (c.size == "large") {
        EXPECT_GE(o.size, spec.large_min) << m.prompt;
      }
      if (!c.location.empty()) {
        EXPECT_EQ(location_names()[size_t(location_of(o.box(), spec.canvas))], c.location) << m.prompt;
        auto b = o.box();
        b[0] -= 1, b[2] -= 1;  // a pixel off keeps the location
        EXPECT_EQ(location_names()[size_t(location_of(b, spec.canvas))], c.location) << m.prompt;
      }
    }
    ++checked;
  }
  EXPECT_GT(checked, 500);
  // The oracle reads a size word at the midpoint between the two ranges.
  EXPECT_TRUE(side_is("small", 10, spec));
  EXPECT_FALSE(side_is("small", 11, spec));
  EXPECT_TRUE(side_is("large", 11, spec));
  EXPECT_FALSE(side_is("large", 10, spec));
}

// Version 2 is the default world: of every command without --world, and of a run folder whose
// model has no world of its own. Version 1 stays loadable by name.
TEST(WorldV2, IsTheDefaultWorld) {
  EXPECT_EQ(WorldSpec::defaults().fingerprint(), WorldSpec::v2().fingerprint());
  EXPECT_EQ(load_world_spec("").fingerprint(), WorldSpec::v2().fingerprint());
  EXPECT_EQ(load_world_spec("v1").fingerprint(), "14faafc0a04cad98");  // as every version 1 run recorded it
}

TEST(WorldV2, SpecFilesKeepTheirVersion) {
  // A file without "version" is version 1 (every file written before version 2).
  auto v1 = WorldSpec::from_json(json{{"canvas", 32}}, "old.json");
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v1.shapes.size(), 4u);
  auto v2 = WorldSpec::from_json(WorldSpec::v2().to_json(), "v2.json");
  EXPECT_EQ(v2.fingerprint(), WorldSpec::v2().fingerprint());
  EXPECT_EQ(load_world_spec("v2").fingerprint(), WorldSpec::v2().fingerprint());
  json bad = WorldSpec::v2().to_json();
  bad["large_min"] = 10;
  try {
    WorldSpec::from_json(bad, "w.json");
    ADD_FAILURE();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("large_min"), std::string::npos) << e.what();
  }
}
