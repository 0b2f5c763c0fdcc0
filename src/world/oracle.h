// The oracle: the external judge of the shapes world. It parses an image back into
// objects from pixels alone (colour, shape, box) and applies GenEval's rules to a
// prompt's metadata. It plays the role of GenEval's detector and of the paper's
// external judge. Thresholds live in WorldSpec::oracle (docs/oracle.md).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "common/image.h"
#include "world/metadata.h"

namespace unigap {

struct Detection {
  int shape = -1, color = -1;
  std::array<double, 4> box{};  // [x1, y1, x2, y2], exclusive ends (GenEval's convention)
  int area = 0;                 // pixels in the object's mask
  double shape_iou = 0;         // IoU with the best shape template (the detector's "confidence")
  double color_residual = 0;    // mean RGB distance of its pixels from the palette colour's line
};

// Something in the image that is not background and not an object.
struct Junk {
  std::string kind;  // "fragment", "off_palette", "unrecognized_shape", "bad_size"
  std::array<double, 4> box{};
  int area = 0;
  std::string detail;
};

struct ParsedImage {
  std::vector<Detection> objects;  // sorted by confidence (shape IoU, then area), highest first
  std::vector<Junk> junk;
  int specks = 0;                  // ignored components of <= speck_max_area pixels
  json to_json(const WorldSpec& spec) const;
};

struct Verdict {
  bool correct = false;
  std::string reason;  // empty when correct; GenEval-style reasons otherwise, joined by "; "
};

// Rules switch: GenEval's rules exactly, plus (strict, the default) a closed world:
// junk makes the image wrong, and every object must be asked for (no extra objects).
struct OracleOptions {
  bool strict = true;
};

// Throws UserError if the image has the wrong size for this world.
ParsedImage parse_image(const Image& img, const WorldSpec& spec, const std::string& origin = "image");
Verdict evaluate_metadata(const Metadata& m, const ParsedImage& parsed, const WorldSpec& spec,
                          const OracleOptions& opt = {});

}  // namespace unigap
