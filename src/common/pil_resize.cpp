// Pillow's ImagingResample for 8-bit RGB with the BICUBIC filter (common/pil_resize.h). The
// function and variable names follow libImaging/Resample.c, and every floating-point
// expression keeps Pillow's operation order: a coefficient one unit off in the 22nd bit
// changes a pixel now and then, and the point of this file is that it never does.
//
// Build note: the double expressions below must not be contracted into fused multiply-adds.
// The project compiles for the x86-64 baseline, which has no FMA instruction, as Debian's
// Pillow does; a build with -mfma / -march=native under GCC's default -ffp-contract=fast
// could round differently.
#include "common/pil_resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace unigap {

namespace {

// Fixed-point fraction bits of a coefficient: 8 bits of pixel, 2 bits of headroom for
// coefficient sums above 1 (negative lobes), the sign bit.
constexpr int kPrecisionBits = 32 - 8 - 2;

// Keys' cubic convolution kernel with a = -0.5, support 2 (Pillow's bicubic_filter).
double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
constexpr double kBicubicSupport = 2.0;

// The taps of one pass: output pixel i reads `count[i]` input pixels from `first[i]` on,
// weighted by k[i * ksize + 0 .. count[i]) (fixed point).
struct Coeffs {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> k;
};

// precompute_coeffs + normalize_coeffs_8bpc, for the whole source range [0, in_size).
Coeffs precompute_coeffs(int in_size, int out_size) {
  // Pillow passes the box as float and subtracts in float before widening.
  const float in0 = 0.0f, in1 = float(in_size);
  const double scale = double(in1 - in0) / out_size;
  const double filterscale = std::max(scale, 1.0);  // shrinking widens the kernel: antialias
  const double support = kBicubicSupport * filterscale;

  Coeffs c;
  c.ksize = int(std::ceil(support)) * 2 + 1;
  c.first.resize(size_t(out_size));
  c.count.resize(size_t(out_size));
  c.k.assign(size_t(out_size) * size_t(c.ksize), 0);
  std::vector<double> w(size_t(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    // Pillow rounds with a truncating cast of (v + 0.5); negative values clamp to 0 anyway.
    int xmin = int(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[size_t(x)] = bicubic_filter((x + xmin - center + 0.5) * ss);
      ww += w[size_t(x)];
    }
    int32_t* k = &c.k[size_t(xx) * size_t(c.ksize)];
    for (int x = 0; x < xmax; ++x) {
      const double kx = ww != 0.0 ? w[size_t(x)] / ww : w[size_t(x)];
      // Round half away from zero through a truncating cast, as normalize_coeffs_8bpc does.
      k[x] = kx < 0 ? int32_t(-0.5 + kx * (1 << kPrecisionBits)) : int32_t(0.5 + kx * (1 << kPrecisionBits));
    }
    c.first[size_t(xx)] = xmin;
    c.count[size_t(xx)] = xmax;
  }
  return c;
}

// The sums stay in int32 as in Pillow: the taps sum to 1 with small negative lobes (about
// 1/8 in all at most), so |ss| stays below 255 * 1.3 * 2^22, far from 2^31.
// clip8: the sum carries kPrecisionBits fraction bits and a rounding half already added.
// Pillow floors with an arithmetic shift and clamps through a table; any negative sum
// floors below 0, so it is clamped without shifting a negative number.
uint8_t clip8(int32_t ss) {
  if (ss < 0) return 0;
  return uint8_t(std::min<int32_t>(ss >> kPrecisionBits, 255));
}

// ImagingResampleHorizontal_8bpc: rows [row0, row0 + out.height) of `in`, each resampled
// along x into `out`.
void resample_horizontal(Image& out, const Image& in, int row0, const Coeffs& c) {
  for (int yy = 0; yy < out.height; ++yy) {
    const uint8_t* src = in.px(0, yy + row0);
    for (int xx = 0; xx < out.width; ++xx) {
      const int xmin = c.first[size_t(xx)], xmax = c.count[size_t(xx)];
      const int32_t* k = &c.k[size_t(xx) * size_t(c.ksize)];
      int32_t ss0 = 1 << (kPrecisionBits - 1), ss1 = ss0, ss2 = ss0;
      for (int x = 0; x < xmax; ++x) {
        const uint8_t* p = src + size_t(x + xmin) * 3;
        ss0 += p[0] * k[x];
        ss1 += p[1] * k[x];
        ss2 += p[2] * k[x];
      }
      uint8_t* o = out.px(xx, yy);
      o[0] = clip8(ss0), o[1] = clip8(ss1), o[2] = clip8(ss2);
    }
  }
}

// ImagingResampleVertical_8bpc: `in` resampled along y into `out`; the taps' first rows are
// relative to `in`'s row 0.
void resample_vertical(Image& out, const Image& in, const Coeffs& c) {
  for (int yy = 0; yy < out.height; ++yy) {
    const int ymin = c.first[size_t(yy)], ymax = c.count[size_t(yy)];
    const int32_t* k = &c.k[size_t(yy) * size_t(c.ksize)];
    for (int xx = 0; xx < out.width; ++xx) {
      int32_t ss0 = 1 << (kPrecisionBits - 1), ss1 = ss0, ss2 = ss0;
      for (int y = 0; y < ymax; ++y) {
        const uint8_t* p = in.px(xx, y + ymin);
        ss0 += p[0] * k[y];
        ss1 += p[1] * k[y];
        ss2 += p[2] * k[y];
      }
      uint8_t* o = out.px(xx, yy);
      o[0] = clip8(ss0), o[1] = clip8(ss1), o[2] = clip8(ss2);
    }
  }
}

}  // namespace

Image resize_bicubic(const Image& img, int width, int height) {
  if (img.width < 1 || img.height < 1)
    throw UserError(
        "cannot resize an empty image (" + std::to_string(img.width) + "x" + std::to_string(img.height) + ")",
        "resize_bicubic");
  if (width < 1 || height < 1)
    throw UserError("target size must be at least 1x1, found " + std::to_string(width) + "x" + std::to_string(height),
                    "resize_bicubic");
  UNIGAP_ASSERT(img.rgb.size() == size_t(img.width) * size_t(img.height) * 3, "image buffer does not match its size");
  if (width == img.width && height == img.height) return img;

  // ImagingResampleInner: the vertical taps are known first, so the horizontal pass only
  // computes the source rows that the vertical pass will read (Pillow's region of interest;
  // the pixels are the same as resampling every row).
  Coeffs vert = precompute_coeffs(img.height, height);
  const int ybox_first = vert.first.front();
  const int ybox_last = vert.first.back() + vert.count.back();
  const bool need_horizontal = width != img.width;
  const bool need_vertical = height != img.height;

  Image cur;
  const Image* in = &img;
  if (need_horizontal) {
    const Coeffs horiz = precompute_coeffs(img.width, width);
    for (int& f : vert.first) f -= ybox_first;
    cur = Image(width, ybox_last - ybox_first);
    resample_horizontal(cur, img, ybox_first, horiz);
    in = &cur;
  }
  if (!need_vertical) return cur;  // need_horizontal holds here: the sizes differ somewhere
  Image out(in->width, height);
  resample_vertical(out, *in, vert);
  return out;
}

}  // namespace unigap
