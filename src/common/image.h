// An 8-bit RGB image, row-major, interleaved (H, W, 3). Shared by the world
// (renderer, oracle) and io (PNG); kept free of torch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace unigap {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // (height, width, 3)

  Image() = default;
  Image(int w, int h, uint8_t r = 0, uint8_t g = 0, uint8_t b = 0) : width(w), height(h), rgb(size_t(w) * h * 3) {
    for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = r, rgb[i + 1] = g, rgb[i + 2] = b;
  }
  uint8_t* px(int x, int y) { return &rgb[(size_t(y) * width + x) * 3]; }
  const uint8_t* px(int x, int y) const { return &rgb[(size_t(y) * width + x) * 3]; }
  bool operator==(const Image& o) const { return width == o.width && height == o.height && rgb == o.rgb; }
};

}  // namespace unigap
