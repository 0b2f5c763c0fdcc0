#include "world/negatives.h"

#include "world/oracle.h"

namespace unigap {

bool true_of_scene(const Metadata& m, const Scene& scene, const WorldSpec& spec) {
  ParsedImage truth;
  for (auto& o : scene.objects) {
    Detection d;
    d.shape = o.shape, d.color = o.color, d.box = o.box(), d.area = o.size * o.size, d.shape_iou = 1.0;
    truth.objects.push_back(d);
  }
  return evaluate_metadata(m, truth, spec).correct;
}

bool pick_negative(const Metadata& m, const Scene& scene, const WorldSpec& spec, const std::vector<Metadata>& pool,
                   double hard_share, const std::unordered_set<std::string>* allowed, Rng& rng, Metadata& out,
                   bool& hard) {
  if (rng.bernoulli(hard_share)) {
    for (int t = 0; t < 12; ++t) {
      auto w = mutate(m, rng.pick(mistakes_of(spec)), spec, rng);
      // A mutation that keeps the text (an extra object drawn for a two-object prompt) is no prompt.
      if (!w || w->prompt == m.prompt || w->prompt != prompt_text(*w)) continue;
      if (allowed && !allowed->count(w->prompt)) continue;
      if (true_of_scene(*w, scene, spec)) continue;
      out = *w;
      hard = true;
      return true;
    }
  }
  for (int t = 0; t < 50; ++t) {
    const Metadata& c = rng.pick(pool);
    if (c.prompt == m.prompt || (allowed && !allowed->count(c.prompt)) || true_of_scene(c, scene, spec)) continue;
    out = c;
    hard = false;
    return true;
  }
  return false;
}

}  // namespace unigap
