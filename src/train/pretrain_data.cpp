#include "train/pretrain_data.h"

#include "common/rng.h"
#include "world/render.h"
#include "world/suite.h"

namespace unigap {

PretrainData::PretrainData(const WorldSpec& spec, uint64_t seed, double hard_share,
                           const std::map<std::string, double>& tag_weights)
    : spec_(spec), seed_(seed), hard_share_(hard_share), train_(split_prompts(spec, Split::Train)) {
  for (auto& m : train_) by_tag_[m.tag].push_back(&m), train_texts_.insert(m.prompt);
  if (tag_weights.empty()) return;
  double total = 0;
  for (auto& t : kTags) {
    auto it = tag_weights.find(t);
    total += it == tag_weights.end() ? 0.0 : it->second;
    tag_cdf_.push_back(total);
  }
  for (double& c : tag_cdf_) c /= total;
}

std::vector<PretrainExample> PretrainData::batch(int64_t step, int n, const std::string& stream) const {
  std::vector<PretrainExample> out;
  out.reserve(n);
  Rng rng(derive_seed(seed_, stream, uint64_t(step)));
  while (int(out.size()) < n) {
    PretrainExample ex;
    // A tag (uniformly unless weighted), then a prompt of that tag: the universe is
    // dominated by coloured position prompts, and every task family must be learned.
    size_t ti = 0;
    if (tag_cdf_.empty()) {
      ti = size_t(rng.uniform_int(0, int64_t(kTags.size()) - 1));
    } else {
      const double u = rng.uniform();
      while (ti + 1 < tag_cdf_.size() && !(u < tag_cdf_[ti])) ++ti;
    }
    const std::string& tag = kTags[ti];
    const auto& tp = by_tag_.at(tag);
    ex.prompt = *tp[rng.uniform_int(0, int64_t(tp.size()) - 1)];
    ex.scene = layout_scene(ex.prompt, spec_, rng);
    ex.image = render_scene(ex.scene, spec_);
    if (!pick_negative(ex.prompt, ex.scene, spec_, train_, hard_share_, &train_texts_, rng, ex.negative, ex.hard_negative))
      continue;
    out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace unigap
