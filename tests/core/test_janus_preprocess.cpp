// Janus-Pro's image preprocessing and Pillow's bicubic resize (common/janus_preprocess.h,
// common/pil_resize.h), compared bit for bit with:
//  - the official code's output stored in tests/data/janus/reference/preprocess.safetensors;
//  - Pillow itself and a line-by-line mirror of the official VLMImageProcessor, run through
//    /usr/bin/python3 (tests/core/pil_reference.py) on random images and awkward sizes. Python,
//    Pillow and NumPy are test dependencies: if they are missing these tests fail;
//  - a few cases worked out by hand.
// Every comparison is exact: u8 images byte for byte, float32 pixel values bit for bit (0 ulp).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/janus_preprocess.h"
#include "common/pil_resize.h"
#include "common/rng.h"
#include "io/png.h"
#include "io/safetensors.h"
#include "core_test_util.h"

namespace unigap {
namespace {

const std::string kJanusDir = std::string(UNIGAP_TEST_DATA_DIR) + "/janus";

Image random_image(int w, int h, uint64_t seed) {
  Image img(w, h);
  Rng rng(seed);
  for (auto& v : img.rgb) v = uint8_t(rng.uniform_int(0, 255));
  return img;
}

// A smooth image with a few hard edges: random noise alone rarely lands a sum near a rounding
// boundary in the way photographs and flat regions do.
Image structured_image(int w, int h, uint64_t seed) {
  Image img = random_image(w, h, seed);
  Rng rng(seed + 1);
  const int cx = int(rng.uniform_int(0, w - 1));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = img.px(x, y);
      if (x < cx) {  // a gradient left of a random column
        p[0] = uint8_t(255 * x / std::max(w - 1, 1));
        p[1] = uint8_t(255 * y / std::max(h - 1, 1));
        p[2] = 255;
      } else if ((x + y) % 7 == 0) {  // black diagonals through the noise
        p[0] = p[1] = p[2] = 0;
      }
    }
  return img;
}

Image image_from_u8(const TensorData& t) {
  EXPECT_EQ(t.dtype, DType::U8);
  EXPECT_EQ(t.shape.size(), 3u);
  EXPECT_EQ(t.shape[2], 3);
  Image img(int(t.shape[1]), int(t.shape[0]));
  img.rgb = t.bytes;
  return img;
}

std::string shape_str(const Image& img) { return std::to_string(img.width) + "x" + std::to_string(img.height); }

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void put_i32(std::string& out, int32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }  // little-endian host

int32_t get_i32(const std::vector<uint8_t>& b, size_t& pos) {
  if (pos + 4 > b.size()) throw std::runtime_error("the reference's answer ends early");
  int32_t v;
  std::memcpy(&v, b.data() + pos, 4);
  pos += 4;
  return v;
}

// Writes the cases, runs pil_reference.py MODE on them, returns its binary answer. Fails the
// test (not skips it) when python3, Pillow or NumPy is missing: they are declared test
// dependencies.
struct Case {
  Image img;
  int out_w = 0, out_h = 0;
};
std::vector<uint8_t> run_reference(const std::string& mode, const std::vector<Case>& cases,
                                   const std::string& config = "") {
  TempDir dir;
  std::string in;
  for (const Case& c : cases) {
    put_i32(in, c.img.width), put_i32(in, c.img.height), put_i32(in, c.out_w), put_i32(in, c.out_h);
    in.append(reinterpret_cast<const char*>(c.img.rgb.data()), c.img.rgb.size());
  }
  std::ofstream(dir.file("in.bin"), std::ios::binary) << in;
  const std::string cmd = "/usr/bin/python3 " UNIGAP_SOURCE_DIR "/tests/core/pil_reference.py " + mode + " '" +
                          dir.file("in.bin") + "' '" + dir.file("out.bin") + "'" +
                          (config.empty() ? "" : " '" + config + "'") + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "could not start " << cmd;
    return {};
  }
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  EXPECT_EQ(status, 0) << "the Pillow reference failed (python3-pil and python3-numpy are test dependencies):\n" << out;
  EXPECT_EQ(out.rfind("ok ", 0), 0u) << out;
  return read_bytes(dir.file("out.bin"));
}

// First differing byte of two images of the same size, as "(x, y) channel c: a vs b".
std::string first_difference(const Image& a, const Image& b) {
  for (size_t i = 0; i < a.rgb.size() && i < b.rgb.size(); ++i)
    if (a.rgb[i] != b.rgb[i]) {
      const size_t px = i / 3;
      return "(" + std::to_string(px % size_t(a.width)) + ", " + std::to_string(px / size_t(a.width)) + ") channel " +
             std::to_string(i % 3) + ": " + std::to_string(a.rgb[i]) + " vs " + std::to_string(b.rgb[i]);
    }
  return "none";
}

// ------------------------------------------------------------------ PilResize

TEST(PilResize, HandComputedTwoPixelEnlargement) {
  // 2x1 -> 4x1, scale 0.5: output 0 centres at 0.25 and reads inputs 0, 1 at distances 0.25 and
  // 1.25: Keys' weights 0.8671875 and -0.0703125, normalised 1.0882 and -0.0882, so
  // 100 -> 100 * 1.0882 - 200 * 0.0882 = 91.2 -> 91. Output 1 (centre 0.75): weights 0.8671875
  // and 0.2265625 normalised 0.7929 and 0.2071: 120.7 -> 121. The rest mirror these.
  Image a(2, 1, 100, 100, 100);
  a.px(1, 0)[0] = a.px(1, 0)[1] = a.px(1, 0)[2] = 200;
  const Image r = resize_bicubic(a, 4, 1);
  const uint8_t want[4] = {91, 121, 179, 209};
  for (int x = 0; x < 4; ++x)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(r.px(x, 0)[c], want[x]) << "x " << x;
  // The negative lobe undershoots below 0 and overshoots above 255: clamped, not wrapped.
  Image edge(2, 1, 0, 255, 0);
  edge.px(1, 0)[0] = 255, edge.px(1, 0)[1] = 0;
  const Image e = resize_bicubic(edge, 4, 1);
  EXPECT_EQ(e.px(0, 0)[0], 0);
  EXPECT_EQ(e.px(0, 0)[1], 255);
}

TEST(PilResize, SameSizeIsUntouchedFlatColoursStayFlatAndEmptySizesAreRefused) {
  const Image a = random_image(7, 5, 1);
  EXPECT_EQ(resize_bicubic(a, 7, 5), a);
  for (auto [w, h] : {std::pair{1, 1}, {3, 97}, {64, 40}, {200, 3}, {13, 13}}) {
    const Image r = resize_bicubic(Image(37, 23, 10, 200, 30), w, h);
    EXPECT_EQ(r, Image(w, h, 10, 200, 30)) << w << "x" << h;
  }
  EXPECT_THROW(resize_bicubic(a, 0, 4), UserError);
  EXPECT_THROW(resize_bicubic(a, 4, -1), UserError);
  EXPECT_THROW(resize_bicubic(Image(), 4, 4), UserError);
}

TEST(PilResize, MatchesPillowBitForBitOnRandomImagesAndAwkwardSizes) {
  // {w, h, out_w, out_h}: up, down, mixed, one axis only, 1-pixel edges, primes, large factors.
  const std::vector<std::array<int, 4>> sizes = {
      {1, 1, 1, 5},     {1, 1, 7, 3},    {7, 1, 1, 1},     {1, 9, 1, 1},     {5, 4, 1, 1},    {2, 2, 3, 3},
      {3, 3, 2, 2},     {96, 60, 64, 40}, {30, 45, 42, 64}, {31, 17, 64, 35}, {64, 64, 63, 63}, {63, 63, 64, 64},
      {17, 29, 17, 14}, {17, 29, 40, 29}, {100, 7, 14, 1},  {7, 100, 1, 14},  {250, 3, 3, 2},  {3, 250, 250, 3},
      {97, 89, 13, 11}, {13, 11, 97, 89}, {40, 40, 14, 64}, {64, 14, 14, 64}, {5, 200, 64, 14}, {120, 80, 67, 45},
      {33, 1, 64, 14},  {1, 33, 14, 64},  {384, 20, 64, 3}, {11, 13, 384, 384}};
  std::vector<Case> cases;
  uint64_t seed = 100;
  for (const auto& s : sizes)
    for (bool structured : {false, true}) {
      const Image img = structured ? structured_image(s[0], s[1], seed) : random_image(s[0], s[1], seed);
      cases.push_back({img, s[2], s[3]});
      ++seed;
    }
  Rng rng(7);  // and random sizes, each axis shrinking or growing independently
  for (int i = 0; i < 40; ++i) {
    const int w = int(rng.uniform_int(1, 120)), h = int(rng.uniform_int(1, 120));
    cases.push_back({structured_image(w, h, 1000 + i), int(rng.uniform_int(1, 130)), int(rng.uniform_int(1, 130))});
  }

  const std::vector<uint8_t> ref = run_reference("resize", cases);
  size_t pos = 0;
  for (const Case& c : cases) {
    const Image ours = resize_bicubic(c.img, c.out_w, c.out_h);
    Image theirs(c.out_w, c.out_h);
    const size_t n = theirs.rgb.size();
    ASSERT_LE(pos + n, ref.size()) << "Pillow's answer is too short";
    std::copy_n(ref.begin() + std::ptrdiff_t(pos), n, theirs.rgb.begin());
    pos += n;
    EXPECT_EQ(ours, theirs) << shape_str(c.img) << " -> " << c.out_w << "x" << c.out_h
                            << ", first difference (ours vs Pillow) at " << first_difference(ours, theirs);
  }
  EXPECT_EQ(pos, ref.size());
}

// ------------------------------------------------------------------ JanusPreprocess

TEST(JanusPreprocess, MatchesTheOfficialProcessorOnBothFixtures) {
  const JanusImageConfig cfg = JanusImageConfig::read(kJanusDir + "/tiny/preprocessor_config.json");
  const SafetensorsFile ref = read_safetensors(kJanusDir + "/reference/preprocess.safetensors");
  for (const std::string name : {"landscape", "portrait"}) {
    SCOPED_TRACE(name);
    const Image img = read_png(kJanusDir + "/reference/" + name + ".png");
    ASSERT_EQ(img, image_from_u8(ref.tensors.at(name + ".rgb_u8")));

    const JanusPreprocessed got = preprocess_janus_image(img, cfg);
    const Image resized = image_from_u8(ref.tensors.at(name + ".resized_u8"));
    EXPECT_EQ(shape_str(got.resized), shape_str(resized));
    EXPECT_EQ(got.resized, resized) << "first difference at " << first_difference(got.resized, resized);
    EXPECT_EQ(resize_bicubic(img, resized.width, resized.height), resized);  // the resize alone
    const Image square = image_from_u8(ref.tensors.at(name + ".square_u8"));
    EXPECT_EQ(got.square, square) << "first difference at " << first_difference(got.square, square);

    const TensorData& pv = ref.tensors.at(name + ".pixel_values");
    ASSERT_EQ(pv.dtype, DType::F32);
    ASSERT_EQ(pv.shape, (std::vector<int64_t>{3, 64, 64}));
    ASSERT_EQ(got.pixel_values.size() * 4, pv.bytes.size());
    EXPECT_EQ(std::memcmp(got.pixel_values.data(), pv.bytes.data(), pv.bytes.size()), 0)
        << "pixel values differ in bits";
  }
}

TEST(JanusPreprocess, SizeRuleTruncatesLikePythonAndKeepsMinSize) {
  JanusImageConfig cfg;
  cfg.image_size = 64;
  cfg.min_size = 14;
  auto size = [&](int w, int h) {
    const ImageSize s = janus_resized_size(w, h, cfg);
    return std::to_string(s.width) + "x" + std::to_string(s.height);
  };
  EXPECT_EQ(size(96, 60), "64x40");
  EXPECT_EQ(size(30, 45), "42x64");  // 30 / 45 * 64 = 42.67, truncated
  EXPECT_EQ(size(1, 1), "64x64");    // square: both sides to image_size, however small
  EXPECT_EQ(size(500, 500), "64x64");
  EXPECT_EQ(size(3, 2), "64x42");
  EXPECT_EQ(size(1, 2), "32x64");
  EXPECT_EQ(size(100, 1), "64x14");  // 0.64 -> 0 -> min_size
  EXPECT_EQ(size(1, 100), "14x64");
  EXPECT_EQ(size(10000, 3), "64x14");
  EXPECT_EQ(size(64, 14), "64x14");  // exactly min_size
  EXPECT_EQ(size(64, 13), "64x14");
  EXPECT_EQ(size(65, 64), "64x63");  // 63.02
  // Truncation of the float64 product, not integer arithmetic: 29 / 100 * 100 is
  // 28.999999999999996 in float64, so Python's int() gives 28 where 29 * 100 // 100 = 29.
  cfg.image_size = 100;
  EXPECT_EQ(size(100, 29), "100x28");
  EXPECT_EQ(size(29, 100), "28x100");
  cfg.image_size = 336;
  EXPECT_EQ(size(28, 17), "336x203");  // 203.99999999999997
  EXPECT_THROW(janus_resized_size(0, 5, cfg), UserError);
}

TEST(JanusPreprocess, ExpandToSquareCentresWithFloorOffsets) {
  const std::array<uint8_t, 3> bg = {127, 127, 127};
  Image wide(5, 2, 9, 9, 9);
  const Image w = expand_to_square(wide, bg);
  ASSERT_EQ(shape_str(w), "5x5");
  for (int y = 0; y < 5; ++y)  // (5 - 2) // 2 = 1 row above, 2 below
    EXPECT_EQ(w.px(0, y)[0], (y == 1 || y == 2) ? 9 : 127) << "row " << y;
  Image tall(2, 5, 9, 9, 9);
  const Image t = expand_to_square(tall, bg);
  for (int x = 0; x < 5; ++x) EXPECT_EQ(t.px(x, 4)[2], (x == 1 || x == 2) ? 9 : 127) << "column " << x;
  const Image sq = random_image(4, 4, 3);
  EXPECT_EQ(expand_to_square(sq, bg), sq);
}

// The official processor (a mirror of image_processing_vlm.py run with Pillow and NumPy)
// against ours, for two configs: the tiny checkpoint's (mean = std = 0.5, size 64) and one
// with CLIP's mean and std, so the background is not grey and the float32 normalisation
// divides by a non-power of two, at size 100 where the size rule's float64 truncation shows.
TEST(JanusPreprocess, MatchesTheOfficialProcessorMirrorOnRandomImages) {
  TempDir dir;
  const std::string clip_config = dir.file("clip.json");
  std::ofstream(clip_config) << R"({"image_size": 100, "min_size": 5, "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711], "rescale_factor": 0.00392156862745098, "do_normalize": true})";
  const std::vector<std::array<int, 2>> sizes = {{96, 60}, {30, 45}, {1, 1},  {100, 1}, {1, 100}, {2, 3},  {64, 64},
                                                 {100, 29}, {29, 100}, {640, 7}, {13, 200}, {65, 64}, {99, 100}, {37, 53}};
  std::vector<Case> cases;
  for (size_t i = 0; i < sizes.size(); ++i)
    cases.push_back({structured_image(sizes[i][0], sizes[i][1], 500 + i), 0, 0});

  for (const std::string& config : {kJanusDir + "/tiny/preprocessor_config.json", clip_config}) {
    SCOPED_TRACE(config);
    const JanusImageConfig cfg = JanusImageConfig::read(config);
    const std::vector<uint8_t> ref = run_reference("preprocess", cases, config);
    size_t pos = 0;
    for (const Case& c : cases) {
      SCOPED_TRACE(shape_str(c.img));
      const JanusPreprocessed got = preprocess_janus_image(c.img, cfg);
      ASSERT_LE(pos + 16, ref.size());
      const int rw = get_i32(ref, pos), rh = get_i32(ref, pos), sw = get_i32(ref, pos), sh = get_i32(ref, pos);
      Image resized(rw, rh), square(sw, sh);
      ASSERT_LE(pos + resized.rgb.size() + square.rgb.size() + got.pixel_values.size() * 4, ref.size());
      std::copy_n(ref.begin() + std::ptrdiff_t(pos), resized.rgb.size(), resized.rgb.begin());
      pos += resized.rgb.size();
      std::copy_n(ref.begin() + std::ptrdiff_t(pos), square.rgb.size(), square.rgb.begin());
      pos += square.rgb.size();
      EXPECT_EQ(shape_str(got.resized), shape_str(resized));
      EXPECT_EQ(got.resized, resized) << "first difference at " << first_difference(got.resized, resized);
      EXPECT_EQ(got.square, square) << "first difference at " << first_difference(got.square, square);
      ASSERT_EQ(size_t(square.width) * size_t(square.height) * 3, got.pixel_values.size());
      EXPECT_EQ(std::memcmp(got.pixel_values.data(), &ref[pos], got.pixel_values.size() * 4), 0)
          << "pixel values differ in bits";
      pos += got.pixel_values.size() * 4;
    }
    EXPECT_EQ(pos, ref.size());
  }
}

TEST(JanusPreprocess, ConfigReadsTheCheckpointFile) {
  const JanusImageConfig c = JanusImageConfig::read(kJanusDir + "/tiny/preprocessor_config.json");
  EXPECT_EQ(c.image_size, 64);
  EXPECT_EQ(c.min_size, 14);
  EXPECT_EQ(c.image_mean, (std::array<double, 3>{0.5, 0.5, 0.5}));
  EXPECT_EQ(c.image_std, (std::array<double, 3>{0.5, 0.5, 0.5}));
  EXPECT_EQ(c.rescale_factor, 1.0 / 255.0);  // the file's 0.00392156862745098 is 1/255's shortest repr
  EXPECT_TRUE(c.do_normalize);
  EXPECT_EQ(c.background(), (std::array<uint8_t, 3>{127, 127, 127}));
  // Absent fields take the official constructor's defaults (CLIP's mean: background 122, 116, 104).
  const JanusImageConfig d = JanusImageConfig::from_json(json{{"image_size", 384}}, "t.json");
  EXPECT_EQ(d.min_size, 14);
  EXPECT_EQ(d.background(), (std::array<uint8_t, 3>{122, 116, 104}));
}

TEST(JanusPreprocess, ConfigNamesUnknownAndInvalidFields) {
  const json good = read_json(kJanusDir + "/tiny/preprocessor_config.json");
  auto message = [&](const std::function<void(json&)>& edit) -> std::string {
    json j = good;
    edit(j);
    try {
      JanusImageConfig::from_json(j, "pre.json");
    } catch (const UserError& e) {
      return e.what();
    }
    return "no error";
  };
  auto expect_mentions = [&](const std::string& msg, std::initializer_list<const char*> parts) {
    for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  };
  expect_mentions(message([](json& j) { j["image_sise"] = 64; }), {"pre.json", "unknown", "'image_sise'"});
  expect_mentions(message([](json& j) { j.erase("image_size"); }), {"pre.json", "image_size"});
  expect_mentions(message([](json& j) { j["image_size"] = "64"; }), {"pre.json", "image_size"});
  expect_mentions(message([](json& j) { j["min_size"] = 65; }), {"pre.json", "min_size", "65"});
  expect_mentions(message([](json& j) { j["image_mean"] = {0.5, 0.5}; }), {"pre.json", "image_mean", "3"});
  expect_mentions(message([](json& j) { j["image_mean"] = {0.5, 1.5, 0.5}; }), {"pre.json", "image_mean", "1.5"});
  expect_mentions(message([](json& j) { j["image_std"] = {0.5, 0, 0.5}; }), {"pre.json", "image_std", "> 0"});
  expect_mentions(message([](json& j) { j["rescale_factor"] = -1; }), {"pre.json", "rescale_factor", "-1"});
  expect_mentions(message([](json& j) { j["do_normalize"] = 1; }), {"pre.json", "do_normalize"});
  expect_mentions(message([](json& j) { j["background_color"] = {128, 127, 127}; }),
                  {"pre.json", "background_color", "[127, 127, 127]", "[128,127,127]"});
  expect_mentions(message([](json& j) { j["image_processor_type"] = "CLIPImageProcessor"; }),
                  {"pre.json", "image_processor_type", "CLIPImageProcessor"});
  EXPECT_THROW(JanusImageConfig::from_json(json::array(), "pre.json"), UserError);
  EXPECT_EQ(message([](json&) {}), "no error");
}

}  // namespace
}  // namespace unigap
