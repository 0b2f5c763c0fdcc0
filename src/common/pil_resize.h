// Pillow's bicubic resize, bit for bit: `PIL.Image.resize((w, h), Image.BICUBIC)` on an RGB
// image, as Pillow 9.4 (Debian 12's python3-pil) computes it in libImaging/Resample.c. A
// pretrained model's image processor (Janus-Pro's VLMImageProcessor) resizes this way; the
// same weights fed differently rounded pixels give slightly different logits, so the
// arithmetic is Pillow's own rather than an ideal bicubic:
//  - separable, the horizontal pass first, into an intermediate 8-bit image, then the
//    vertical pass (a pass whose size does not change is skipped);
//  - Keys' cubic with a = -0.5, its support widened by the shrink factor (antialiasing), the
//    taps of each output pixel normalised to sum to 1 in double, then turned into 22-bit
//    fixed point (PRECISION_BITS = 32 - 8 - 2), summed in integers, rounded and clamped.
// Box filtering for the judging boundary is common/image_resize.h; this file is only for
// matching Pillow.
#pragma once

#include "common/image.h"

namespace unigap {

// Resizes `img` to width x height (both >= 1) with Pillow's BICUBIC filter. An image already
// at that size comes back unchanged, as Pillow returns a copy. UserError on an empty image
// or a size below 1.
Image resize_bicubic(const Image& img, int width, int height);

}  // namespace unigap
