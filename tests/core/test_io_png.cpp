// Tests for io/png: round trips at awkward sizes (odd widths exercise row
// strides), decoding colour types our encoder never writes (fixtures made by
// tests/io_mirror/make_png_fixtures.py), and the errors for bad input.
#include "io/png.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "common/error.h"
#include "io/atomic_file.h"
#include "core_test_util.h"

namespace unigap {
namespace {

const std::string kFixtures = std::string(UNIGAP_TEST_DATA_DIR) + "/io/";

Image random_image(int w, int h, uint32_t seed) {
  std::mt19937 rng(seed);
  Image img(w, h);
  for (auto& b : img.rgb) b = uint8_t(rng());
  return img;
}

Image decode(const std::vector<uint8_t>& bytes, const std::string& origin = "mem.png") {
  return decode_png(bytes.data(), bytes.size(), origin);
}

std::string decode_error(const std::vector<uint8_t>& bytes) {
  try {
    decode(bytes, "bad.png");
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), "bad.png");
    return e.what();
  }
  ADD_FAILURE() << "expected a UserError";
  return "";
}

void expect_px(const Image& img, int x, int y, int r, int g, int b) {
  const uint8_t* p = img.px(x, y);
  EXPECT_EQ(int(p[0]), r) << "at " << x << "," << y;
  EXPECT_EQ(int(p[1]), g) << "at " << x << "," << y;
  EXPECT_EQ(int(p[2]), b) << "at " << x << "," << y;
}

// PNG chunk CRC (ISO 3309), so tests can forge a header that is otherwise valid.
uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

void put_be32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (24 - 8 * i));
}

TEST(IoPng, RoundTripAwkwardSizes) {
  const std::pair<int, int> sizes[] = {{1, 1}, {3, 7}, {32, 32}, {33, 17}, {1, 40}, {40, 1}};
  uint32_t seed = 1;
  for (const auto& [w, h] : sizes) {
    const Image img = random_image(w, h, seed++);
    const std::vector<uint8_t> bytes = encode_png(img);
    const Image back = decode(bytes);
    EXPECT_EQ(back.width, w);
    EXPECT_EQ(back.height, h);
    EXPECT_TRUE(back == img) << w << "x" << h;
  }
}

TEST(IoPng, WriteAndReadFile) {
  TempDir dir;
  const Image img = random_image(5, 4, 9);
  write_png(dir.file("a.png"), img);
  EXPECT_TRUE(read_png(dir.file("a.png")) == img);
}

TEST(IoPng, DecodesGrayscale) {
  const Image img = read_png(kFixtures + "gray8.png");
  ASSERT_EQ(img.width, 5);
  ASSERT_EQ(img.height, 3);
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 5; ++x) {
      const int v = std::min(255, 40 * x + 70 * y);
      expect_px(img, x, y, v, v, v);
    }
  }
}

TEST(IoPng, DecodesTwoBitPalette) {
  const int palette[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
  const Image img = read_png(kFixtures + "palette2.png");
  ASSERT_EQ(img.width, 3);
  ASSERT_EQ(img.height, 2);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) {
      const int* c = palette[(x + 2 * y) % 4];
      expect_px(img, x, y, c[0], c[1], c[2]);
    }
  }
}

TEST(IoPng, CompositesAlphaOntoBlack) {
  const Image img = read_png(kFixtures + "rgba8.png");
  ASSERT_EQ(img.width, 2);
  ASSERT_EQ(img.height, 2);
  expect_px(img, 0, 0, 200, 100, 50);  // opaque: unchanged
  expect_px(img, 1, 0, 0, 0, 0);       // fully transparent white: black
  expect_px(img, 1, 1, 0, 255, 0);
  // Red at alpha 128/255, composited in linear light: 0.502 linear is sRGB 188.
  // (Compositing on the sRGB values directly would give 128.)
  const uint8_t* half = img.px(0, 1);
  EXPECT_NEAR(int(half[0]), 188, 1);
  EXPECT_EQ(int(half[1]), 0);
  EXPECT_EQ(int(half[2]), 0);
}

TEST(IoPng, Decodes16BitAsSrgb) {
  // Without PNG_IMAGE_FLAG_16BIT_sRGB libpng would treat these samples as linear
  // and 0x8080 would come out near 188 instead of 128.
  const Image img = read_png(kFixtures + "rgb16.png");
  ASSERT_EQ(img.width, 2);
  ASSERT_EQ(img.height, 1);
  expect_px(img, 0, 0, 255, 128, 0);
  expect_px(img, 1, 0, 1, 127, 254);
}

TEST(IoPng, RejectsGarbage) {
  EXPECT_CONTAINS(decode_error({}), "not a PNG");
  EXPECT_CONTAINS(decode_error({'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'}), "not a PNG");
  TempDir dir;
  write_file_atomic(dir.file("fake.png"), "GIF89a, honestly");
  try {
    read_png(dir.file("fake.png"));
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), dir.file("fake.png"));
    EXPECT_CONTAINS(e.what(), "not a PNG");
  }
}

TEST(IoPng, RejectsTruncated) {
  const std::vector<uint8_t> good = encode_png(random_image(33, 17, 4));
  // Cut inside the image data: the header reads fine, the pixels do not.
  const std::string mid = decode_error(std::vector<uint8_t>(good.begin(), good.begin() + good.size() / 2));
  EXPECT_CONTAINS(mid, "invalid PNG");
  // Cut inside IHDR: libpng fails while reading the header.
  EXPECT_CONTAINS(decode_error(std::vector<uint8_t>(good.begin(), good.begin() + 20)), "invalid PNG");
}

TEST(IoPng, RejectsCorruptChunk) {
  std::vector<uint8_t> bytes = encode_png(random_image(8, 8, 5));
  bytes[16] ^= 0x01;  // a byte of the IHDR width: its CRC no longer matches
  EXPECT_CONTAINS(decode_error(bytes), "invalid PNG");
}

TEST(IoPng, RejectsOversizedImage) {
  // Forge a valid IHDR (fresh CRC) that claims 16385 x 1 pixels; the pixel data is
  // never read because the size check comes first.
  std::vector<uint8_t> bytes = encode_png(random_image(1, 1, 6));
  put_be32(&bytes[16], 16385);
  put_be32(&bytes[29], crc32(&bytes[12], 17));  // CRC over "IHDR" + 13 data bytes
  const std::string msg = decode_error(bytes);
  EXPECT_CONTAINS(msg, "16385x1");
  EXPECT_CONTAINS(msg, "at most 16384");
}

TEST(IoPng, EncoderRejectsBadImages) {
  EXPECT_THROW(encode_png(Image()), UserError);
  Image short_buffer(4, 4);
  short_buffer.rgb.resize(10);
  try {
    encode_png(short_buffer);
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), "expected 48");
  }
}

}  // namespace
}  // namespace unigap
