// Resizing an image to the size a model or judge reads, at the boundary where an image of
// another size is judged (a 32x32 rendered scene shown to a 384x384 model, a model's
// 48x48 sample shown to the 32x32 oracle). Each output pixel is the mean of the input area
// it covers (PIL's BOX filter), shrinking and enlarging alike: flat colours stay flat, an
// integer enlargement repeats pixels, and enlarging then shrinking by the same integer
// factor gives the image back exactly. An image already at the size is returned as it is.
#pragma once

#include <vector>

#include "common/image.h"

namespace unigap {

Image resize_image(const Image& img, int width, int height);
// Every image at size x size (square models and judges).
std::vector<Image> fit_images(const std::vector<Image>& images, int size);

}  // namespace unigap
