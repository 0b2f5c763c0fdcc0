// Wrong prompts for an image, for understanding (training and the Und measurement):
// hard negatives change one colour, shape, count or relation; easy ones are random
// prompts. Every negative is checked false against the scene's truth by the oracle's
// (strict) rules, so a "no" label is never wrong.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "common/rng.h"
#include "world/scene.h"
#include "world/suite.h"

namespace unigap {

// Whether `m` is true of the scene by the oracle's strict rules on the scene's own boxes.
bool true_of_scene(const Metadata& m, const Scene& scene, const WorldSpec& spec);

// A prompt false for `scene`: a hard negative with probability `hard_share` (when one
// applies), else a random prompt from `pool`. With `allowed`, the negative's text must be
// in that set (training passes its split's texts: it never sees an eval prompt text).
// False if none found.
bool pick_negative(const Metadata& m, const Scene& scene, const WorldSpec& spec, const std::vector<Metadata>& pool,
                   double hard_share, const std::unordered_set<std::string>* allowed, Rng& rng, Metadata& out,
                   bool& hard);

}  // namespace unigap
