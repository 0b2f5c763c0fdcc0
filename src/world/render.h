// The deterministic renderer: flat-coloured shapes on a plain background, each
// pixel in or out by its centre (no anti-aliasing), and the degradations used to
// test the oracle's robustness (Gaussian pixel noise, box blur).
#pragma once

#include <string>

#include "common/image.h"
#include "common/rng.h"
#include "world/scene.h"

namespace unigap {

// Whether pixel (i, j) of a w x h box belongs to `shape` (by the pixel centre).
// The oracle's shape templates use the same function, so a clean render matches exactly.
bool shape_contains(const std::string& shape, int w, int h, int i, int j);

Image render_scene(const Scene& scene, const WorldSpec& spec);

// Adds N(0, sigma^2) to every channel of every pixel (clamped, rounded).
void add_gaussian_noise(Image& img, double sigma, Rng& rng);
// Box blur of the given radius (radius 1 = 3x3 mean), edges clamped.
void box_blur(Image& img, int radius);

}  // namespace unigap
