// Scenes: the objects of one image (shape, colour, box), laid out so that they
// satisfy a prompt's metadata, and the deliberate mistakes (a colour swapped,
// a shape swapped, an object added or removed, a relation flipped) used for
// oracle tests and for the model's hard negatives.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/rng.h"
#include "world/metadata.h"

namespace unigap {

struct SceneObject {
  int shape = 0;  // index into WorldSpec::shapes
  int color = 0;  // index into WorldSpec::colors
  int x = 0, y = 0, size = 0;  // top-left corner and side of the (square) box, pixels
  // GenEval box [x1, y1, x2, y2] with exclusive ends.
  std::array<double, 4> box() const { return {double(x), double(y), double(x + size), double(y + size)}; }
};

struct Scene {
  std::vector<SceneObject> objects;
  json to_json(const WorldSpec& spec) const;
};

// Lays out a scene that satisfies `m` by GenEval's rules: include clauses in order,
// unspecified colours drawn at random, objects never overlap (min_gap between boxes),
// position relations hold. Throws UserError if no layout is found (impossible metadata).
Scene layout_scene(const Metadata& m, const WorldSpec& spec, Rng& rng);

// GenEval's relative_position(A, B): the set of relations of A with respect to B,
// with centre offsets shrunk by 0.1 * (dim_a + dim_b) and +-0.5 thresholds on the
// normalised offset.
std::vector<std::string> relative_position(const std::array<double, 4>& a, const std::array<double, 4>& b,
                                           double threshold = 0.1);

// The location (index into location_names()) of a box's centre on a canvas of side
// `canvas`: a 3 x 3 grid of thirds.
int location_of(const std::array<double, 4>& box, int canvas);
// Whether a detected side of `side` pixels reads as the size word `size` ("small":
// at most the midpoint between small_max and large_min; "large": above it).
bool side_is(const std::string& size, double side, const WorldSpec& spec);

// SizeSwap (small <-> large) and Move (another location) exist in world version 2.
enum class Mistake { ColorSwap, ShapeSwap, AddObject, RemoveObject, FlipRelation, SizeSwap, Move };
const char* mistake_name(Mistake k);
const std::vector<Mistake>& all_mistakes();                        // every kind, for parsing names
const std::vector<Mistake>& mistakes_of(const WorldSpec& spec);    // the kinds of this world's version

// A metadata line that differs from `m` by one mistake of kind `k` (so a scene
// for it is a wrong image for `m`, and `m`'s image with its prompt is a hard
// negative). nullopt when the mistake does not apply (e.g. ColorSwap on a prompt
// without colour, FlipRelation without a relation).
std::optional<Metadata> mutate(const Metadata& m, Mistake k, const WorldSpec& spec, Rng& rng);

}  // namespace unigap
