#include "eval/tokenizer_fidelity.h"

#include <cmath>

#include "common/rng.h"
#include "world/oracle.h"
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

FidelityReport tokenizer_fidelity(ShapesModel& model, int scenes, uint64_t seed) {
  const WorldSpec& spec = model.world();
  auto suite = sample_suite(spec, Split::Eval, scenes, seed);
  Rng rng(derive_seed(seed, "fidelity"));
  std::vector<Image> images;
  for (auto& m : suite) images.push_back(render_scene(layout_scene(m, spec, rng), spec));
  FidelityReport r;
  double abs_err = 0;
  const int batch = 128;
  for (size_t s = 0; s < images.size(); s += batch) {
    std::vector<Image> chunk(images.begin() + s, images.begin() + std::min(images.size(), s + batch));
    auto recon = model.decode_codes(model.encode_images(chunk));
    for (size_t i = 0; i < chunk.size(); ++i) {
      const Metadata& m = suite[s + i];
      const bool a = evaluate_metadata(m, parse_image(chunk[i], spec), spec).correct;
      const bool b = evaluate_metadata(m, parse_image(recon[i], spec), spec).correct;
      r.scenes++;
      r.agree += (a == b);
      r.original_correct += a;
      r.recon_correct += b;
      for (size_t k = 0; k < chunk[i].rgb.size(); ++k) abs_err += std::abs(int(chunk[i].rgb[k]) - int(recon[i].rgb[k]));
    }
  }
  r.pixel_mae = abs_err / (double(r.scenes) * spec.canvas * spec.canvas * 3);
  return r;
}

}  // namespace unigap
