// Speed of the unified model at a preset (env UNIGAP_BENCH_PRESET, default small):
// a pretraining step's pieces (generation and understanding forward+backward) as
// tokens/s, sampling with KV cache and guidance (with vs without the cache) as images/s, and
// GRPO's rollouts (sampling + both judges) against generate() alone.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "dist/dist.h"
#include "eval/external_judge.h"
#include "model/registry.h"
#include "model/sampler.h"
#include "model/shapes_model.h"
#include "train/pool.h"
#include "train/pretrain_data.h"

using namespace unigap;

namespace {
struct Fx {
  WorldSpec spec = WorldSpec::v1();
  std::unique_ptr<ShapesModel> m;
  Fx() {
    const char* p = std::getenv("UNIGAP_BENCH_PRESET");
    ModelConfig c = ModelConfig::preset_named(p ? p : "small");
    m = std::make_unique<ShapesModel>(c, spec, 1);
  }
};
Fx& fx() {
  static Fx f;
  return f;
}
struct Batch {
  torch::Tensor pixels, codes, prompts;
};
Batch make_batch(int B) {
  auto& f = fx();
  PretrainData data(f.spec, 1, 0.75);
  auto ex = data.batch(0, B);
  std::vector<Image> imgs;
  std::vector<std::string> pr;
  for (auto& e : ex) imgs.push_back(e.image), pr.push_back(e.prompt.prompt);
  Batch b;
  b.pixels = f.m->images_to_tensor(imgs);
  b.codes = f.m->encode_images(imgs).clone();
  b.prompts = f.m->prompt_ids(pr);
  return b;
}
}  // namespace

static void BM_GenForwardBackward(benchmark::State& st) {
  auto& net = fx().m->net();
  auto b = make_batch(int(st.range(0)));
  for (auto _ : st) {
    auto logits = net.gen_logits(b.prompts, b.codes);
    auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), b.codes.reshape({-1}));
    loss.backward();
  }
  st.counters["tokens_per_s"] =
      benchmark::Counter(double(st.iterations()) * st.range(0) * (net.cfg.text_len + net.cfg.image_tokens() + 1),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GenForwardBackward)->Arg(32)->Unit(benchmark::kMillisecond);

static void BM_UndForwardBackward(benchmark::State& st) {
  auto& net = fx().m->net();
  auto b = make_batch(int(st.range(0)));
  for (auto _ : st) {
    net.und_forward(net.image_tokens(b.pixels, b.codes), b.prompts).answer.sum().backward();
  }
  st.counters["tokens_per_s"] = benchmark::Counter(
      double(st.iterations()) * st.range(0) * (net.cfg.text_len + net.cfg.image_tokens() + 7), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_UndForwardBackward)->Arg(64)->Unit(benchmark::kMillisecond);

static void BM_Sample(benchmark::State& st) {
  auto& m = *fx().m;
  auto b = make_batch(int(st.range(0)));
  SampleOptions opt;
  opt.cfg_weight = 2.0;
  opt.use_cache = st.range(1) != 0;
  std::vector<uint64_t> seeds(size_t(st.range(0)), 7);
  for (auto _ : st) benchmark::DoNotOptimize(sample_codes(m.net(), b.prompts, seeds, opt));
  st.counters["images_per_s"] = benchmark::Counter(double(st.iterations()) * st.range(0), benchmark::Counter::kIsRate);
  st.SetLabel(opt.use_cache ? "kv-cache" : "recompute");
}
BENCHMARK(BM_Sample)->Args({64, 1})->Args({64, 0})->Args({16, 1})->Args({1, 1})->Unit(benchmark::kMillisecond);

static void BM_Judge(benchmark::State& st) {
  auto& m = *fx().m;
  PretrainData data(fx().spec, 1, 0.75);
  auto ex = data.batch(0, int(st.range(0)));
  std::vector<Image> imgs;
  std::vector<std::string> pr;
  for (auto& e : ex) imgs.push_back(e.image), pr.push_back(e.prompt.prompt);
  for (auto _ : st) benchmark::DoNotOptimize(m.judge(imgs, pr));
  st.counters["images_per_s"] = benchmark::Counter(double(st.iterations()) * st.range(0), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Judge)->Arg(128)->Unit(benchmark::kMillisecond);

// GRPO's rollouts against plain generation at the same batch (16 prompts x G = 8 = 128
// images): a rollout step samples through the same generate() and then scores every sample
// with the frozen judge and the external judge (the monitor's). images_per_s of both; the
// issue's bar is rollouts >= 80% of generate.
static void BM_Generate(benchmark::State& st) {
  auto& m = *fx().m;
  PretrainData data(fx().spec, 1, 0.75);
  std::vector<GenerationRequest> req;
  for (auto& e : data.batch(0, int(st.range(0)) / 8))
    for (uint64_t k = 0; k < 8; ++k) req.push_back({e.prompt.prompt, k});
  SampleOptions opt;
  for (auto _ : st) benchmark::DoNotOptimize(m.generate(req, opt));
  st.counters["images_per_s"] = benchmark::Counter(double(st.iterations()) * double(req.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Generate)->Arg(128)->Unit(benchmark::kMillisecond);

static void BM_GrpoRollouts(benchmark::State& st) {
  auto& m = *fx().m;
  PretrainData data(fx().spec, 1, 0.75);
  std::vector<Metadata> prompts;
  for (auto& e : data.batch(0, int(st.range(0)) / 8)) prompts.push_back(e.prompt);
  std::vector<int> which(prompts.size());
  for (size_t i = 0; i < which.size(); ++i) which[i] = int(i);
  PoolOptions po;
  po.candidates = 8;
  po.world = &fx().spec;
  auto oracle = make_judge(JudgeSpec{}, fx().spec, Dist::current(), 0.5, ModelOptions{});
  const Supervision self = Supervision::parse("self");
  for (auto _ : st) benchmark::DoNotOptimize(sample_candidates(m, m, nullptr, self, *oracle, prompts, which, po, 1));
  st.counters["images_per_s"] =
      benchmark::Counter(double(st.iterations()) * double(prompts.size() * 8), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GrpoRollouts)->Arg(128)->Unit(benchmark::kMillisecond);
