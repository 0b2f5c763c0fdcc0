#include "world/render.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace unigap {

bool shape_contains(const std::string& shape, int w, int h, int i, int j) {
  // Pixel centre in box coordinates.
  const double u = i + 0.5, v = j + 0.5;
  const double cx = w / 2.0, cy = h / 2.0;
  if (shape == "square") return true;
  if (shape == "circle") {
    const double dx = (u - cx) / cx, dy = (v - cy) / cy;
    return dx * dx + dy * dy <= 1.0;
  }
  if (shape == "triangle") {
    // Apex at the top centre, base along the bottom row; the half-width grows by
    // half a pixel per row so that odd sizes get a one-pixel apex and even sizes two.
    const double half = (j + 1) * (w / 2.0) / h;
    return std::abs(u - cx) <= half;
  }
  if (shape == "diamond") {
    return std::abs(u - cx) / cx + std::abs(v - cy) / cy <= 1.0 + 1e-9;
  }
  // World version 2's shapes, in the box's normalised coordinates (-1..1).
  const double dx = (u - cx) / cx, dy = (v - cy) / cy;
  if (shape == "cross") return std::abs(dx) <= 0.36 || std::abs(dy) <= 0.36;  // a plus sign, arms 0.36 of the box
  if (shape == "ring") {
    const double r2 = dx * dx + dy * dy;  // the hole's radius is 0.55 of the outer one
    return r2 <= 1.0 && r2 >= 0.30;
  }
  if (shape == "frame") return std::max(std::abs(dx), std::abs(dy)) >= 0.5;  // a hollow square, walls a quarter of the side
  UNIGAP_ASSERT(false, "shape_contains: unknown shape " + shape);
  return false;
}

Image render_scene(const Scene& scene, const WorldSpec& spec) {
  Image img(spec.canvas, spec.canvas, spec.background[0], spec.background[1], spec.background[2]);
  for (const auto& o : scene.objects) {
    const auto& rgb = spec.colors[o.color].rgb;
    const std::string& shape = spec.shapes[o.shape];
    for (int j = 0; j < o.size; ++j)
      for (int i = 0; i < o.size; ++i) {
        int x = o.x + i, y = o.y + j;
        if (x < 0 || y < 0 || x >= img.width || y >= img.height) continue;
        if (!shape_contains(shape, o.size, o.size, i, j)) continue;
        uint8_t* p = img.px(x, y);
        p[0] = rgb[0], p[1] = rgb[1], p[2] = rgb[2];
      }
  }
  return img;
}

void add_gaussian_noise(Image& img, double sigma, Rng& rng) {
  for (auto& v : img.rgb) {
    double x = std::round(v + sigma * rng.normal());
    v = uint8_t(std::clamp(x, 0.0, 255.0));
  }
}

void box_blur(Image& img, int radius) {
  if (radius <= 0) return;
  Image out = img;
  const int W = img.width, H = img.height;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < 3; ++c) {
        int sum = 0, n = 0;
        for (int dy = -radius; dy <= radius; ++dy)
          for (int dx = -radius; dx <= radius; ++dx) {
            int xx = std::clamp(x + dx, 0, W - 1), yy = std::clamp(y + dy, 0, H - 1);
            sum += img.px(xx, yy)[c];
            ++n;
          }
        out.px(x, y)[c] = uint8_t((sum + n / 2) / n);
      }
  img = std::move(out);
}

}  // namespace unigap
