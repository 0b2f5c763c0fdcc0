// Janus-Pro's image preprocessing (deepseek-ai/Janus `VLMImageProcessor`), reproduced bit for
// bit and without torch: what the understanding branch's SigLIP tower reads. For one RGB image:
//  1. resize keeping the aspect ratio so the longer side is image_size, each side
//     max(int(side / longer * image_size), min_size) (Python int(): truncation), with Pillow's
//     bicubic filter (common/pil_resize.h);
//  2. paste it centred onto a square of the background colour int(image_mean * 255)
//     (expand2square; offset (side - h) // 2 or (side - w) // 2);
//  3. pixel values [3, side, side], channel-major: float32(float64(u8) * rescale_factor), then
//     (x - mean) / std in float32, as transformers' rescale and normalize compute them.
// The fixtures and their provenance are in tests/data/janus/README.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/image.h"
#include "io/jsonl.h"

namespace unigap {

// The processor's settings, as preprocessor_config.json holds them. Defaults are those of the
// official VLMImageProcessor constructor (CLIP mean and std), except image_size, which the
// constructor requires: 384 is Janus-Pro's published value.
struct JanusImageConfig {
  int image_size = 384;  // side of the square the vision tower reads, pixels
  int min_size = 14;     // smallest side after the aspect-preserving resize, pixels
  std::array<double, 3> image_mean = {0.48145466, 0.4578275, 0.40821073};  // per RGB channel, in [0, 1]
  std::array<double, 3> image_std = {0.26862954, 0.26130258, 0.27577711};  // per RGB channel, > 0
  double rescale_factor = 1.0 / 255.0;  // u8 -> [0, 1], multiplied in float64
  bool do_normalize = true;             // false: pixel values stop after the rescale

  // The padding colour: int(mean * 255) per channel, as the official constructor sets it
  // (it ignores a `background_color` in the JSON; from_json checks that one agrees).
  std::array<uint8_t, 3> background() const;
  // UserError naming the first invalid field.
  void validate() const;
  // Parses a preprocessor_config.json object. Known fields: image_size (required), min_size,
  // image_mean, image_std, rescale_factor, do_normalize, background_color, image_processor_type
  // (must be "VLMImageProcessor"), processor_class. An unknown field, a wrong type or an
  // invalid value is a UserError naming the field and `origin`.
  static JanusImageConfig from_json(const json& j, const std::string& origin);
  static JanusImageConfig read(const std::string& path);  // from_json(read_json(path), path)
};

// The stages of one image; the intermediate images are kept for tests and debugging.
struct JanusPreprocessed {
  Image resized;                     // step 1, width x height from janus_resized_size
  Image square;                      // step 2, side x side
  std::vector<float> pixel_values;  // step 3, (3, side, side), channel-major
};

struct ImageSize {
  int width = 0, height = 0;
};

// Step 1's target size for an image of width x height (both >= 1, else UserError).
ImageSize janus_resized_size(int width, int height, const JanusImageConfig& cfg);
// Step 2: `img` centred on a square of side max(width, height); a square image is returned as is.
Image expand_to_square(const Image& img, const std::array<uint8_t, 3>& background);
// Steps 1-3. The square's side is image_size (the longer side always resizes to it).
JanusPreprocessed preprocess_janus_image(const Image& img, const JanusImageConfig& cfg);

}  // namespace unigap
