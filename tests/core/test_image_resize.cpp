// Resizing at the judging boundary (common/image_resize.h): sizes, flat colours kept,
// area averages by hand, and an exact round trip through an integer enlargement.
#include "common/image_resize.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/rng.h"

namespace unigap {
namespace {

Image random_image(int w, int h, uint64_t seed) {
  Image img(w, h);
  Rng rng(seed);
  for (auto& v : img.rgb) v = uint8_t(rng.uniform_int(0, 255));
  return img;
}

TEST(ImageResize, SameSizeIsUntouchedAndFlatColoursStayFlat) {
  const Image a = random_image(7, 5, 1);
  EXPECT_EQ(resize_image(a, 7, 5), a);
  for (auto [w, h] : {std::pair{24, 24}, {48, 48}, {13, 31}, {1, 1}}) {
    const Image r = resize_image(Image(32, 32, 10, 200, 30), w, h);
    EXPECT_EQ(r.width, w);
    EXPECT_EQ(r.height, h);
    EXPECT_EQ(r, Image(w, h, 10, 200, 30)) << w << "x" << h;
  }
}

TEST(ImageResize, ShrinkingAveragesTheCoveredAreaByHand) {
  // 3x1 -> 2x1: output 0 covers input [0, 1.5): (1 * p0 + 0.5 * p1) / 1.5.
  Image a(3, 1);
  const uint8_t v[3] = {0, 90, 180};
  for (int x = 0; x < 3; ++x) a.px(x, 0)[0] = a.px(x, 0)[1] = a.px(x, 0)[2] = v[x];
  const Image r = resize_image(a, 2, 1);
  EXPECT_EQ(r.px(0, 0)[0], 30);   // (0 + 45) / 1.5
  EXPECT_EQ(r.px(1, 0)[0], 150);  // (45 + 180) / 1.5
  // 4x4 -> 2x2: plain 2x2 means.
  Image b(4, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) b.px(x, y)[0] = uint8_t(10 * (y * 4 + x));
  const Image q = resize_image(b, 2, 2);
  EXPECT_EQ(q.px(0, 0)[0], 25);   // (0 + 10 + 40 + 50) / 4
  EXPECT_EQ(q.px(1, 1)[0], 125);  // (100 + 110 + 140 + 150) / 4
}

TEST(ImageResize, IntegerEnlargementRepeatsPixelsAndShrinksBackExactly) {
  const Image a = random_image(32, 32, 2);
  const Image big = resize_image(a, 96, 96);
  for (int y = 0; y < 96; ++y)
    for (int x = 0; x < 96; ++x)
      for (int c = 0; c < 3; ++c) ASSERT_EQ(big.px(x, y)[c], a.px(x / 3, y / 3)[c]);
  EXPECT_EQ(resize_image(big, 32, 32), a);
  EXPECT_EQ(fit_images({a, big}, 32), (std::vector<Image>{a, a}));
}

TEST(ImageResize, EmptySizesAreRefused) {
  EXPECT_THROW(resize_image(Image(4, 4), 0, 4), UserError);
  EXPECT_THROW(resize_image(Image(), 4, 4), UserError);
}

}  // namespace
}  // namespace unigap
