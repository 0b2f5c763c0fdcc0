// The oracle against the scene's truth: 10,000 fresh renders across all tags (clean,
// and with Gaussian noise sigma 12 + a 1-px box blur), deliberate mistakes, and
// junk (pure noise, fragments, off-palette blobs). The figures are printed so the
// test log carries them (README's "oracle" table comes from here).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "common/error.h"
#include "world/oracle.h"
#include "world/render.h"
#include "world/suite.h"

using namespace unigap;

namespace {

// Detected objects equal the scene's objects (shape, colour; box exact when clean).
bool objects_match(const Scene& s, const ParsedImage& p, bool exact_boxes) {
  if (s.objects.size() != p.objects.size() || !p.junk.empty()) return false;
  std::vector<bool> used(p.objects.size(), false);
  for (auto& o : s.objects) {
    bool found = false;
    for (size_t k = 0; k < p.objects.size() && !found; ++k) {
      const auto& d = p.objects[k];
      if (used[k] || d.shape != o.shape || d.color != o.color) continue;
      auto b = o.box();
      double err = 0;
      for (int i = 0; i < 4; ++i) err = std::max(err, std::abs(b[i] - d.box[i]));
      if (exact_boxes ? err == 0 : err <= 1) used[k] = found = true;
    }
    if (!found) return false;
  }
  return true;
}

struct Tally {
  int n = 0, verdict_ok = 0, objects_ok = 0;
};

}  // namespace

// Both worlds: version 1 (the shipped base's) and version 2 (sizes, locations, 7 shapes).
void agrees_with_scene_truth(const WorldSpec& spec) {
  const auto universe = prompt_universe(spec);
  Rng rng(20261128);
  std::map<std::string, Tally> clean, noisy;
  for (int i = 0; i < 10000; ++i) {
    // Tags uniformly (the universe is dominated by position prompts), prompts uniformly within a tag.
    const std::string& tag = kTags[i % kTags.size()];
    std::vector<const Metadata*> pool;
    for (auto& m : universe)
      if (m.tag == tag) pool.push_back(&m);
    const Metadata& m = *pool[rng.uniform_int(0, int64_t(pool.size()) - 1)];
    Scene s = layout_scene(m, spec, rng);
    Image img = render_scene(s, spec);
    auto p = parse_image(img, spec);
    auto& c = clean[tag];
    c.n++;
    c.verdict_ok += evaluate_metadata(m, p, spec).correct;
    c.objects_ok += objects_match(s, p, true);
    add_gaussian_noise(img, 12.0, rng);
    box_blur(img, 1);
    auto pn = parse_image(img, spec);
    auto& d = noisy[tag];
    d.n++;
    d.verdict_ok += evaluate_metadata(m, pn, spec).correct;
    d.objects_ok += objects_match(s, pn, false);
  }
  Tally tc, tn;
  std::printf("\n%-14s %6s %12s %12s %12s %12s\n", "tag", "n", "clean_verd", "clean_objs", "noisy_verd", "noisy_objs");
  for (auto& tag : kTags) {
    auto& c = clean[tag];
    auto& d = noisy[tag];
    std::printf("%-14s %6d %11.2f%% %11.2f%% %11.2f%% %11.2f%%\n", tag.c_str(), c.n, 100.0 * c.verdict_ok / c.n,
                100.0 * c.objects_ok / c.n, 100.0 * d.verdict_ok / d.n, 100.0 * d.objects_ok / d.n);
    tc.n += c.n, tc.verdict_ok += c.verdict_ok, tc.objects_ok += c.objects_ok;
    tn.n += d.n, tn.verdict_ok += d.verdict_ok, tn.objects_ok += d.objects_ok;
  }
  const double acc_clean = double(tc.verdict_ok) / tc.n, acc_noisy = double(tn.verdict_ok) / tn.n;
  std::printf("%-14s %6d %11.2f%% %11.2f%% %11.2f%% %11.2f%%\n", "all", tc.n, 100 * acc_clean,
              100.0 * tc.objects_ok / tc.n, 100 * acc_noisy, 100.0 * tn.objects_ok / tn.n);
  ::testing::Test::RecordProperty("clean_agreement", std::to_string(acc_clean));
  ::testing::Test::RecordProperty("noisy_agreement", std::to_string(acc_noisy));
  EXPECT_GE(acc_clean, 0.995);
  EXPECT_GE(acc_noisy, 0.98);
  EXPECT_GE(double(tc.objects_ok) / tc.n, 0.995);
}

void catches_deliberate_mistakes(const WorldSpec& spec) {
  const auto universe = prompt_universe(spec);
  Rng rng(7);
  std::printf("\n%-14s %6s %10s\n", "mistake", "n", "caught");
  for (Mistake k : mistakes_of(spec)) {
    int n = 0, caught = 0;
    for (int i = 0; i < 3000 && n < 500; ++i) {
      std::vector<const Metadata*> pool;  // tags uniformly, so every applicable tag is exercised
      for (auto& x : universe)
        if (x.tag == kTags[i % kTags.size()]) pool.push_back(&x);
      const Metadata& m = *pool[rng.uniform_int(0, int64_t(pool.size()) - 1)];
      auto wrong = mutate(m, k, spec, rng);
      if (!wrong) continue;
      Image img = render_scene(layout_scene(*wrong, spec, rng), spec);
      if (i % 2) {  // half of them degraded too
        add_gaussian_noise(img, 12.0, rng);
        box_blur(img, 1);
      }
      Verdict v = evaluate_metadata(m, parse_image(img, spec), spec);
      ++n;
      if (!v.correct) {
        ++caught;
        EXPECT_FALSE(v.reason.empty());
      } else {
        ADD_FAILURE() << mistake_name(k) << ": \"" << m.prompt << "\" drawn as \"" << wrong->prompt << "\" judged correct";
      }
    }
    std::printf("%-14s %6d %9.2f%%\n", mistake_name(k), n, 100.0 * caught / std::max(n, 1));
    EXPECT_GE(n, 100) << mistake_name(k) << " applies to too few prompts";
  }
}

TEST(Oracle, AgreesWithSceneTruthOn10000RendersCleanAndDegraded) { agrees_with_scene_truth(WorldSpec::v1()); }
TEST(Oracle, V2AgreesWithSceneTruthOn10000RendersCleanAndDegraded) { agrees_with_scene_truth(WorldSpec::v2()); }
TEST(Oracle, SaysIncorrectOnDeliberateMistakesWithReason) { catches_deliberate_mistakes(WorldSpec::v1()); }
TEST(Oracle, V2SaysIncorrectOnDeliberateMistakesWithReason) { catches_deliberate_mistakes(WorldSpec::v2()); }

TEST(Oracle, PureNoiseIsNeverCorrect) {
  const WorldSpec spec = WorldSpec::v1();
  const auto universe = prompt_universe(spec);
  Rng rng(11);
  int correct = 0;
  for (int i = 0; i < 1000; ++i) {
    Image img(spec.canvas, spec.canvas);
    for (auto& v : img.rgb) v = uint8_t(rng.uniform_int(0, 255));
    if (i % 2) box_blur(img, 1);  // smoother noise makes bigger blobs
    correct += evaluate_metadata(universe[i % universe.size()], parse_image(img, spec), spec).correct;
  }
  EXPECT_EQ(correct, 0);
}

TEST(Oracle, FragmentedAndOffPaletteBlobsAreJunk) {
  const WorldSpec spec = WorldSpec::v1();
  Rng rng(12);
  int correct = 0, lenient_correct = 0;
  for (int i = 0; i < 500; ++i) {
    Metadata m = make_colors(spec.shapes[i % spec.shapes.size()], spec.colors[(i / 4) % spec.colors.size()].name);
    Scene s = layout_scene(m, spec, rng);
    Image img = render_scene(s, spec);
    // Scatter 3-8 fragments of 3-10 pixels in random palette colours away from the object.
    const int nfrag = int(rng.uniform_int(3, 8));
    for (int f = 0; f < nfrag; ++f) {
      const auto& rgb = spec.colors[rng.uniform_int(0, int64_t(spec.colors.size()) - 1)].rgb;
      int x = int(rng.uniform_int(0, spec.canvas - 4)), y = int(rng.uniform_int(0, spec.canvas - 4));
      const int len = int(rng.uniform_int(3, 10));
      for (int t = 0; t < len; ++t) {
        int xx = std::min(spec.canvas - 1, x + t % 4), yy = std::min(spec.canvas - 1, y + t / 4);
        uint8_t* p = img.px(xx, yy);
        p[0] = rgb[0], p[1] = rgb[1], p[2] = rgb[2];
      }
    }
    auto parsed = parse_image(img, spec);
    correct += evaluate_metadata(m, parsed, spec).correct;
    lenient_correct += evaluate_metadata(m, parsed, spec, OracleOptions{false}).correct;
  }
  EXPECT_EQ(correct, 0) << "strict oracle accepted fragmented images";
  // Lenient (GenEval) mode ignores fragments it cannot recognise: it may accept some.
  EXPECT_GE(lenient_correct, 0);

  // An object in an off-palette colour (grey) is not any asked-for object.
  Image img(spec.canvas, spec.canvas, 255, 255, 255);
  for (int y = 10; y < 20; ++y)
    for (int x = 10; x < 20; ++x) img.px(x, y)[0] = img.px(x, y)[1] = img.px(x, y)[2] = 128;
  auto p = parse_image(img, spec);
  ASSERT_EQ(p.junk.size(), 1u);
  EXPECT_EQ(p.junk[0].kind, "off_palette");
  EXPECT_FALSE(evaluate_metadata(make_single_object("square"), p, spec).correct);
}

TEST(Oracle, SpecksAreIgnoredUpToTheDocumentedThreshold) {
  const WorldSpec spec = WorldSpec::v1();
  Rng rng(13);
  Metadata m = make_colors("circle", "red");
  Scene s = layout_scene(m, spec, rng);
  Image img = render_scene(s, spec);
  // Find a background pixel far from the object and put a 2-pixel speck there.
  const auto& o = s.objects[0];
  int sx = o.x > 16 ? 2 : 28, sy = 2;
  for (int area = 1; area <= 3; ++area) {
    Image im = img;
    for (int t = 0; t < area; ++t) {
      uint8_t* p = im.px(sx + t, sy);
      p[0] = 30, p[1] = 70, p[2] = 220;  // blue speck
    }
    auto parsed = parse_image(im, spec);
    const bool ok = evaluate_metadata(m, parsed, spec).correct;
    if (area <= spec.oracle.speck_max_area) {
      EXPECT_TRUE(ok) << "speck of " << area << " px should be ignored";
      EXPECT_EQ(parsed.specks, 1);
    } else {
      EXPECT_FALSE(ok) << "blob of " << area << " px should be junk";
    }
  }
}

TEST(Oracle, ShapesRecognisedAtEverySizeSharpAndBlurred) {
  const WorldSpec spec = WorldSpec::v1();
  for (size_t sh = 0; sh < spec.shapes.size(); ++sh)
    for (int size = spec.min_size; size <= spec.max_size; ++size)
      for (int blur = 0; blur <= 1; ++blur) {
        Scene s;
        s.objects.push_back({int(sh), 4, 10, 10, size});
        Image img = render_scene(s, spec);
        box_blur(img, blur);
        auto p = parse_image(img, spec);
        ASSERT_EQ(p.objects.size(), 1u) << spec.shapes[sh] << " size " << size << " blur " << blur;
        EXPECT_EQ(p.objects[0].shape, int(sh)) << spec.shapes[sh] << " size " << size << " blur " << blur;
        EXPECT_EQ(p.objects[0].color, 4);
      }
}

TEST(Oracle, SlightlyOffColoursStillCount) {
  const WorldSpec spec = WorldSpec::v1();
  Scene s;
  s.objects.push_back({0, 0, 10, 10, 10});  // red circle
  Image img = render_scene(s, spec);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      uint8_t* p = img.px(x, y);
      if (p[1] < 100) p[0] = uint8_t(p[0] - 25), p[1] = uint8_t(p[1] + 25), p[2] = uint8_t(p[2] + 20);  // (195, 55, 50)
    }
  auto p = parse_image(img, spec);
  ASSERT_EQ(p.objects.size(), 1u);
  EXPECT_EQ(spec.colors[p.objects[0].color].name, "red");
}

TEST(Oracle, WrongImageSizeIsAClearError) {
  const WorldSpec spec = WorldSpec::v1();
  Image img(16, 16, 255, 255, 255);
  try {
    parse_image(img, spec, "imgs/00001/samples/0000.png");
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("imgs/00001/samples/0000.png"), std::string::npos) << w;
    EXPECT_NE(w.find("16x16"), std::string::npos) << w;
  }
}

TEST(Render, RoundTripPropertyAcrossSeedsAndTags) {
  // Property: for any prompt and seed, the layout satisfies GenEval's rules by
  // construction (checked on the scene's own boxes, before pixels), objects never
  // overlap, and rendering is deterministic for a seed.
  const WorldSpec spec = WorldSpec::v1();
  const auto universe = prompt_universe(spec);
  for (uint64_t seed = 0; seed < 300; ++seed) {
    Rng pick(seed);
    const Metadata& m = universe[pick.uniform_int(0, int64_t(universe.size()) - 1)];
    Rng r1(seed), r2(seed);
    Scene a = layout_scene(m, spec, r1), b = layout_scene(m, spec, r2);
    ASSERT_EQ(render_scene(a, spec), render_scene(b, spec));
    ParsedImage truth;
    for (auto& o : a.objects) {
      Detection d;
      d.shape = o.shape, d.color = o.color, d.box = o.box(), d.area = 1, d.shape_iou = 1;
      truth.objects.push_back(d);
    }
    EXPECT_TRUE(evaluate_metadata(m, truth, spec).correct) << m.prompt;
    EXPECT_EQ(int(a.objects.size()), m.object_count());
    for (size_t i = 0; i < a.objects.size(); ++i)
      for (size_t j = 0; j < i; ++j) {
        const auto &p = a.objects[i], &q = a.objects[j];
        bool apart = p.x >= q.x + q.size + spec.min_gap || q.x >= p.x + p.size + spec.min_gap ||
                     p.y >= q.y + q.size + spec.min_gap || q.y >= p.y + p.size + spec.min_gap;
        EXPECT_TRUE(apart) << m.prompt;
      }
  }
}
