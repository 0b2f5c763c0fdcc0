#include "common/image_resize.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace unigap {

namespace {

// Weights of the input pixels along one axis for each output pixel: (first index, weights).
struct Taps {
  int first = 0;
  std::vector<double> w;
};

std::vector<Taps> axis_taps(int in, int out) {
  std::vector<Taps> taps(static_cast<size_t>(out));
  const double scale = double(in) / double(out);
  for (int o = 0; o < out; ++o) {  // the input interval [o*scale, (o+1)*scale), partial end pixels weighted
    Taps& t = taps[size_t(o)];
    const double a = o * scale, b = (o + 1) * scale;
    t.first = int(std::floor(a));
    for (int i = t.first; i < in && i < b; ++i) t.w.push_back((std::min<double>(i + 1, b) - std::max<double>(i, a)) / scale);
  }
  return taps;
}

}  // namespace

Image resize_image(const Image& img, int width, int height) {
  if (width < 1 || height < 1) throw UserError("cannot resize an image to " + std::to_string(width) + "x" + std::to_string(height));
  if (img.width < 1 || img.height < 1) throw UserError("cannot resize an empty image");
  if (img.width == width && img.height == height) return img;
  const auto tx = axis_taps(img.width, width), ty = axis_taps(img.height, height);
  Image out(width, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      double acc[3] = {0, 0, 0};
      const Taps &a = ty[size_t(y)], &b = tx[size_t(x)];
      for (size_t j = 0; j < a.w.size(); ++j)
        for (size_t i = 0; i < b.w.size(); ++i) {
          const uint8_t* p = img.px(b.first + int(i), a.first + int(j));
          const double w = a.w[j] * b.w[i];
          for (int c = 0; c < 3; ++c) acc[c] += w * p[c];
        }
      uint8_t* q = out.px(x, y);
      for (int c = 0; c < 3; ++c) q[c] = uint8_t(std::clamp(std::lround(acc[c]), 0L, 255L));
    }
  return out;
}

std::vector<Image> fit_images(const std::vector<Image>& images, int size) {
  std::vector<Image> out;
  out.reserve(images.size());
  for (const Image& im : images) out.push_back(resize_image(im, size, size));
  return out;
}

}  // namespace unigap
