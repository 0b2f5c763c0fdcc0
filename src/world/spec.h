// The shapes world's vocabulary: canvas, background, palette, shapes, object sizes,
// counting range, layout rules and the oracle's thresholds. Every tool that draws or
// checks scenes reads it from here (`unigap world spec --json` prints it).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "io/jsonl.h"

namespace unigap {

using RGB = std::array<uint8_t, 3>;

struct NamedColor {
  std::string name;
  RGB rgb;
};

// Thresholds the oracle uses to decide what an object is. Units are pixels or
// 0-255 RGB distances. See docs/oracle.md for how each was chosen.
struct OracleThresholds {
  // A pixel belongs to colour c when its projection on the background->c line
  // passes this fraction (the 50% level set survives a box blur).
  double alpha_min = 0.5;
  // ...and its distance from that line is at most this (tolerates noise and
  // slightly-off colours; larger means an off-palette pixel).
  double max_color_residual = 60.0;
  // Connected components of at most this many pixels are stray specks and ignored.
  int speck_max_area = 2;
  // A component with more pixels than a speck but fewer than this is a fragment:
  // the image is junk (strict) or the fragment is ignored (lenient).
  int min_object_area = 12;
  // A shape is recognised when its mask's IoU with the best shape template is at
  // least this, and beats the second-best template by at least `min_iou_margin`.
  double min_shape_iou = 0.72;
  double min_iou_margin = 0.04;
  // Bounding-box slack around [min_size, max_size], and the largest w/h ratio.
  int size_slack = 2;
  double max_aspect = 1.4;
};

struct WorldSpec {
  // 1: the first world (4 shapes, GenEval's forms, train/eval split). 2: 7 shapes,
  // size words and canvas locations added to the short templates, a validation split
  // (docs/world.md). A spec file without "version" is version 1, as every file was.
  int version = 1;
  int canvas = 32;                 // square canvas side, pixels
  RGB background{255, 255, 255};   // plain background
  std::vector<NamedColor> colors;  // palette (names as in GenEval where possible)
  std::vector<std::string> shapes; // from the shape library: circle, square, triangle, diamond
  int min_size = 8, max_size = 11; // object bounding-box side, pixels (7 px circles look like diamonds once blurred)
  int min_count = 2, max_count = 4;// counting task range
  int min_gap = 2;                 // empty pixels between object boxes (and canvas border >= 1)
  // Version 2's size words: "small" objects have sides min_size..small_max, "large"
  // ones large_min..max_size; an object without a size word may have any side.
  int small_max = 9, large_min = 12;
  double eval_fraction = 0.25;     // share of unique prompts held out for evaluation
  double val_fraction = 0;         // share held out for validation (tuning); version 2 only
  uint64_t split_seed = 20260716;  // which prompts are held out (fixed per world)
  OracleThresholds oracle;

  static WorldSpec defaults();  // version 2, the default since the study moved to it
  static WorldSpec v1();
  static WorldSpec v2();
  // Version 2's additions: size words, locations, the validation split.
  bool has_attributes() const { return version >= 2; }
  // Throws UserError naming the field and why, e.g. "colors[2].rgb: too close to colors[1]".
  void validate() const;

  int color_index(const std::string& name) const;  // -1 if unknown
  int shape_index(const std::string& name) const;  // -1 if unknown
  // Largest number of objects a prompt may ask for (counting max or two objects).
  int max_objects() const { return max_count > 2 ? max_count : 2; }
  // A stable fingerprint of everything that changes what scenes look like.
  std::string fingerprint() const;

  json to_json() const;
  static WorldSpec from_json(const json& j, const std::string& origin);
};

// Version 2's canvas locations, row-major over a 3 x 3 grid of thirds: "top left",
// "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right".
// An object is at a location when its box's centre lies in that cell.
const std::vector<std::string>& location_names();
int location_index(const std::string& name);  // -1 if unknown

// Names of the shapes the renderer and oracle know.
const std::vector<std::string>& known_shapes();

// Loads a spec from a JSON file, or returns defaults when path is empty; "v1" and
// "v2" name the built-in worlds.
WorldSpec load_world_spec(const std::string& path);

}  // namespace unigap
