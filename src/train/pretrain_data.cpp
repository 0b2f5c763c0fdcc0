#include "train/pretrain_data.h"

#include "common/rng.h"
#include "world/oracle.h"
#include "world/render.h"
#include "world/suite.h"

namespace unigap {

PretrainData::PretrainData(const WorldSpec& spec, uint64_t seed, double hard_share)
    : spec_(spec), seed_(seed), hard_share_(hard_share), train_(split_prompts(spec, Split::Train)) {}

bool PretrainData::true_of_scene(const Metadata& m, const Scene& scene, const WorldSpec& spec) {
  ParsedImage truth;
  for (auto& o : scene.objects) {
    Detection d;
    d.shape = o.shape, d.color = o.color, d.box = o.box(), d.area = o.size * o.size, d.shape_iou = 1.0;
    truth.objects.push_back(d);
  }
  return evaluate_metadata(m, truth, spec).correct;
}

bool PretrainData::pick_negative(const Metadata& m, const Scene& scene, const WorldSpec& spec,
                                 const std::vector<Metadata>& pool, double hard_share, Rng& rng, Metadata& out,
                                 bool& hard) {
  if (rng.bernoulli(hard_share)) {
    for (int t = 0; t < 12; ++t) {
      auto w = mutate(m, rng.pick(all_mistakes()), spec, rng);
      if (!w || w->prompt == m.prompt || w->include.size() > 2 + (w->tag == "two_object" ? 0 : 0)) continue;
      if (split_of(*w, spec) != Split::Train) continue;  // never train on an eval prompt text
      if (true_of_scene(*w, scene, spec)) continue;
      out = *w;
      hard = true;
      return true;
    }
  }
  for (int t = 0; t < 50; ++t) {
    const Metadata& c = rng.pick(pool);
    if (c.prompt == m.prompt || true_of_scene(c, scene, spec)) continue;
    out = c;
    hard = false;
    return true;
  }
  return false;
}

std::vector<PretrainExample> PretrainData::batch(int64_t step, int n, const std::string& stream) const {
  std::vector<PretrainExample> out;
  out.reserve(n);
  Rng rng(derive_seed(seed_, stream, uint64_t(step)));
  while (int(out.size()) < n) {
    PretrainExample ex;
    // Tags uniformly, then a prompt of that tag: the universe is dominated by coloured
    // position prompts, and every task family must be learned.
    const std::string& tag = kTags[rng.uniform_int(0, int64_t(kTags.size()) - 1)];
    std::vector<const Metadata*> tp;
    for (auto& m : train_)
      if (m.tag == tag) tp.push_back(&m);
    ex.prompt = *tp[rng.uniform_int(0, int64_t(tp.size()) - 1)];
    ex.scene = layout_scene(ex.prompt, spec_, rng);
    ex.image = render_scene(ex.scene, spec_);
    if (!pick_negative(ex.prompt, ex.scene, spec_, train_, hard_share_, rng, ex.negative, ex.hard_negative)) continue;
    out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace unigap
