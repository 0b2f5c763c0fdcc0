// Speed of the shapes world: layout, rendering and the oracle (parse + GenEval
// rules), per image on one core, over a GenEval-proportioned eval suite.
#include <benchmark/benchmark.h>

#include "world/oracle.h"
#include "world/render.h"
#include "world/suite.h"

using namespace unigap;

namespace {
struct Fixture {
  WorldSpec spec = WorldSpec::v1();
  std::vector<Metadata> suite = sample_suite(spec, Split::Eval, 553, 0);
  std::vector<Scene> scenes;
  std::vector<Image> images, degraded;
  Fixture() {
    Rng rng(1);
    for (auto& m : suite) {
      scenes.push_back(layout_scene(m, spec, rng));
      images.push_back(render_scene(scenes.back(), spec));
      Image d = images.back();
      add_gaussian_noise(d, 12, rng);
      box_blur(d, 1);
      degraded.push_back(d);
    }
  }
};
Fixture& fx() {
  static Fixture f;
  return f;
}
}  // namespace

static void BM_Layout(benchmark::State& st) {
  auto& f = fx();
  Rng rng(2);
  size_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(layout_scene(f.suite[i++ % f.suite.size()], f.spec, rng));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_Layout);

static void BM_Render(benchmark::State& st) {
  auto& f = fx();
  size_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(render_scene(f.scenes[i++ % f.scenes.size()], f.spec));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_Render);

static void BM_OracleCheck(benchmark::State& st) {
  auto& f = fx();
  const auto& imgs = st.range(0) ? f.degraded : f.images;
  size_t i = 0;
  for (auto _ : st) {
    const size_t k = i++ % imgs.size();
    benchmark::DoNotOptimize(evaluate_metadata(f.suite[k], parse_image(imgs[k], f.spec), f.spec));
  }
  st.SetItemsProcessed(st.iterations());
  st.SetLabel(st.range(0) ? "noisy+blurred" : "clean");
}
BENCHMARK(BM_OracleCheck)->Arg(0)->Arg(1);
