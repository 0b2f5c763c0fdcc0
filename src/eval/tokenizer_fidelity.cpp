#include "eval/tokenizer_fidelity.h"

#include <cmath>

#include "common/image_resize.h"
#include "common/rng.h"
#include "world/render.h"
#include "world/suite.h"

namespace unigap {

json FidelityReport::to_json() const {
  return {{"scenes", scenes},
          {"agreement", agreement()},
          {"original_correct", original_correct},
          {"recon_correct", recon_correct},
          {"pixel_mae", pixel_mae}};
}

FidelityReport tokenizer_fidelity(UnifiedMultimodal& model, ExternalJudge& judge, const WorldSpec& world, int scenes,
                                  uint64_t seed) {
  auto suite = sample_suite(world, Split::Eval, scenes, seed);
  Rng rng(derive_seed(seed, "fidelity"));
  std::vector<Image> images;
  for (auto& m : suite) images.push_back(render_scene(layout_scene(m, world, rng), world));
  FidelityReport r;
  double abs_err = 0;
  const size_t batch = 128;
  for (size_t s = 0; s < images.size(); s += batch) {
    const size_t e = std::min(images.size(), s + batch);
    std::vector<Image> chunk(images.begin() + s, images.begin() + e);
    std::vector<Metadata> meta(suite.begin() + s, suite.begin() + e);
    const auto recon = fit_images(model.decode_codes(model.encode_images(chunk)), world.canvas);
    const auto a = judge.verdicts(chunk, meta), b = judge.verdicts(recon, meta);
    for (size_t i = 0; i < chunk.size(); ++i) {
      r.scenes++;
      r.agree += (a[i].correct == b[i].correct);
      r.original_correct += a[i].correct;
      r.recon_correct += b[i].correct;
      for (size_t k = 0; k < chunk[i].rgb.size(); ++k) abs_err += std::abs(int(chunk[i].rgb[k]) - int(recon[i].rgb[k]));
    }
  }
  r.pixel_mae = abs_err / (double(r.scenes) * world.canvas * world.canvas * 3);
  return r;
}

}  // namespace unigap
