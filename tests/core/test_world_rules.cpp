// GenEval's rules as the oracle applies them, on hand-built detections: position
// (centre offsets shrunk by 0.1 * size sums, +-0.5 thresholds), counts via
// include/exclude, colour binding, the strict closed-world extras.
#include <gtest/gtest.h>

#include "world/oracle.h"
#include "world/scene.h"

using namespace unigap;

namespace {
std::array<double, 4> box(double x, double y, double s) { return {x, y, x + s, y + s}; }
bool has(const std::vector<std::string>& v, const std::string& r) {
  for (auto& x : v)
    if (x == r) return true;
  return false;
}
Detection det(const WorldSpec& spec, const std::string& shape, const std::string& color, std::array<double, 4> b) {
  Detection d;
  d.shape = spec.shape_index(shape);
  d.color = spec.color_index(color);
  d.box = b;
  d.area = 50;
  d.shape_iou = 1.0;
  return d;
}
}  // namespace

TEST(PositionRule, ClearlyLeftAndRight) {
  auto r = relative_position(box(0, 10, 8), box(20, 10, 8));
  EXPECT_EQ(r, std::vector<std::string>{"left of"});
  r = relative_position(box(20, 10, 8), box(0, 10, 8));
  EXPECT_EQ(r, std::vector<std::string>{"right of"});
}

TEST(PositionRule, AboveBelowUseImageCoordinates) {
  // y grows downwards, as in GenEval: a smaller y is "above".
  EXPECT_EQ(relative_position(box(10, 0, 8), box(10, 20, 8)), std::vector<std::string>{"above"});
  EXPECT_EQ(relative_position(box(10, 20, 8), box(10, 0, 8)), std::vector<std::string>{"below"});
}

TEST(PositionRule, OverlappingCentresGiveNoRelation) {
  // Offset 1 px < 0.1 * (8 + 8) = 1.6 shrink on both axes: the revised offset is 0.
  EXPECT_TRUE(relative_position(box(10, 10, 8), box(11, 11, 8)).empty());
  EXPECT_TRUE(relative_position(box(10, 10, 8), box(10, 10, 8)).empty());
}

TEST(PositionRule, DiagonalGivesBothRelations) {
  // A 45-degree offset: dx = dy = (|o| - 1.6) / (|o| sqrt 2) > 0.5 for large |o|.
  auto r = relative_position(box(0, 0, 8), box(20, 20, 8));
  EXPECT_TRUE(has(r, "left of"));
  EXPECT_TRUE(has(r, "above"));
}

TEST(PositionRule, ThresholdEdgeCase) {
  // Offset (ox, oy) = (10, 8): shrink 1.6 per axis -> revised (8.4, 6.4), norm 12.806.
  // dx = 0.656 > 0.5 (right of); dy = 0.4998 < 0.5 (not below). A hand-computed edge case.
  auto r = relative_position(box(10, 8, 8), box(0, 0, 8));
  EXPECT_TRUE(has(r, "right of"));
  EXPECT_FALSE(has(r, "below"));
  // Offset (10, 9): revised (8.4, 7.4), norm 13.454: dy = 0.550 -> below too.
  r = relative_position(box(10, 9, 8), box(0, 0, 8));
  EXPECT_TRUE(has(r, "right of"));
  EXPECT_TRUE(has(r, "below"));
}

TEST(PositionRule, ShrinkScalesWithSizes) {
  // Same centre offset (3 px), larger objects: 0.1 * (20 + 20) = 4 > 3 -> no relation;
  // small objects: 0.1 * (4 + 4) = 0.8 < 3 -> left of.
  EXPECT_TRUE(relative_position(box(0, 0, 20), box(3, 0, 20)).empty());
  EXPECT_EQ(relative_position(box(0, 0, 4), box(3, 0, 4)), std::vector<std::string>{"left of"});
}

TEST(PositionRule, CustomThreshold) {
  EXPECT_TRUE(relative_position(box(0, 0, 8), box(6, 0, 8), 0.4).empty());  // shrink 6.4 > 6
  EXPECT_EQ(relative_position(box(0, 0, 8), box(6, 0, 8), 0.1), std::vector<std::string>{"left of"});
}

class RulesTest : public ::testing::Test {
 protected:
  WorldSpec spec = WorldSpec::v1();
  Verdict eval(const Metadata& m, std::vector<Detection> d, bool strict = true) {
    ParsedImage p;
    p.objects = std::move(d);
    return evaluate_metadata(m, p, spec, OracleOptions{strict});
  }
};

TEST_F(RulesTest, CountingNeedsExactCountViaExclude) {
  auto m = make_counting("circle", 3);
  std::vector<Detection> three = {det(spec, "circle", "red", box(1, 1, 8)), det(spec, "circle", "blue", box(12, 1, 8)),
                                  det(spec, "circle", "green", box(1, 12, 8))};
  EXPECT_TRUE(eval(m, three).correct);
  auto two = three;
  two.pop_back();
  auto v = eval(m, two);
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("expected circle>=3, found 2"), std::string::npos) << v.reason;
  auto four = three;
  four.push_back(det(spec, "circle", "red", box(20, 20, 8)));
  v = eval(m, four, /*strict=*/false);  // GenEval's exclude alone rejects 4
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("expected circle<4, found 4"), std::string::npos) << v.reason;
}

TEST_F(RulesTest, ColorBinding) {
  auto m = make_color_attr("circle", "red", "square", "blue");
  EXPECT_TRUE(eval(m, {det(spec, "circle", "red", box(1, 1, 8)), det(spec, "square", "blue", box(15, 15, 8))}).correct);
  // Colours swapped between the objects: both present, bound wrongly.
  auto v = eval(m, {det(spec, "circle", "blue", box(1, 1, 8)), det(spec, "square", "red", box(15, 15, 8))});
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("expected red circle>=1, found 0 red"), std::string::npos) << v.reason;
}

TEST_F(RulesTest, PositionUsesTargetGroup) {
  auto m = make_position("circle", "left of", "square");
  EXPECT_TRUE(eval(m, {det(spec, "circle", "red", box(1, 10, 8)), det(spec, "square", "red", box(20, 10, 8))}).correct);
  auto v = eval(m, {det(spec, "circle", "red", box(20, 10, 8)), det(spec, "square", "red", box(1, 10, 8))});
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("expected circle left of target, found right of target"), std::string::npos) << v.reason;
  // Missing target: GenEval says "no target".
  v = eval(m, {det(spec, "circle", "red", box(1, 10, 8))});
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("no target for circle to be left of"), std::string::npos) << v.reason;
}

TEST_F(RulesTest, StrictRejectsExtrasAndJunkLenientDoesNot) {
  auto m = make_single_object("circle");
  std::vector<Detection> d = {det(spec, "circle", "red", box(1, 1, 8)), det(spec, "square", "red", box(20, 20, 8))};
  EXPECT_TRUE(eval(m, d, false).correct);
  auto v = eval(m, d, true);
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("extra square"), std::string::npos) << v.reason;
  ParsedImage p;
  p.objects = {det(spec, "circle", "red", box(1, 1, 8))};
  p.junk.push_back({"fragment", box(20, 20, 3), 5, "red fragment of 5 px"});
  EXPECT_TRUE(evaluate_metadata(m, p, spec, OracleOptions{false}).correct);
  v = evaluate_metadata(m, p, spec, OracleOptions{true});
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("junk: fragment"), std::string::npos) << v.reason;
}

TEST_F(RulesTest, MostConfidentObjectsAreTheOnesChecked) {
  // GenEval checks colour on the first `count` detections (most confident first).
  auto m = make_colors("circle", "red");
  auto blue = det(spec, "circle", "blue", box(1, 1, 8));
  auto red = det(spec, "circle", "red", box(20, 20, 8));
  EXPECT_FALSE(eval(m, {blue, red}, false).correct);
  EXPECT_TRUE(eval(m, {red, blue}, false).correct);
}
