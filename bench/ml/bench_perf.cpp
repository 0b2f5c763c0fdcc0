// Performance as ratios against this machine's own limits, measured in the same run
// (bench/perf.sh prints the table; docs/performance.md explains it).
//
// For each workload the benchmark measures the wall time per call (no profiler), then
// profiles one call with libtorch's profiler to learn (a) the FLOPs of its matrix
// products (aten::mm / addmm / bmm, forward and backward, and convolutions; a
// convolution's backward, which the profiler does not count, as twice its forward), (b) the time spent inside them,
// and (c) their shapes. Replaying exactly those shapes as plain torch::mm calls gives the
// practical sgemm limit for that workload: the rate the BLAS reaches on this mix of
// matrices. Counters:
//   model_gflops   FLOPs per call / wall time per call
//   limit_gflops   the replayed sgemm rate at the workload's own shapes
//   of_limit       model_gflops / limit_gflops
//   outside_share  1 - (time inside matrix products) / wall time: framework overhead
//                  (in sampling, attention's q K^T and p V over the KV cache count as
//                  matrix products: unigap::decode_attention computes them)
//   peak_rss_mb    the process's peak resident memory (run one benchmark per process)
// Preset: env UNIGAP_BENCH_PRESET (default small).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <set>

#include "model/sampler.h"
#include "model/shapes_model.h"
#include "train/losses.h"
#include "train/pretrain_data.h"

using namespace unigap;
namespace prof = torch::autograd::profiler;
using Clock = std::chrono::steady_clock;

namespace {

ModelConfig preset_config() {
  const char* p = std::getenv("UNIGAP_BENCH_PRESET");
  return ModelConfig::preset_named(p ? p : "small");
}

std::unique_ptr<ShapesModel> make_model(ModelConfig c, const WorldSpec& base) {
  WorldSpec spec = base;
  spec.canvas = c.image_size;  // the world's canvas follows the image size (scaling runs)
  return std::make_unique<ShapesModel>(c, spec, 1);
}

struct Inputs {
  std::vector<Image> images;
  std::vector<std::string> prompts, negatives;
  std::vector<bool> hard;
};

Inputs make_inputs(const WorldSpec& spec, int n) {
  PretrainData data(spec, 1, 0.5);
  Inputs in;
  for (auto& e : data.batch(0, n)) {
    in.images.push_back(e.image);
    in.prompts.push_back(e.prompt.prompt);
    in.negatives.push_back(e.negative.prompt);
    in.hard.push_back(e.hard_negative);
  }
  return in;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

bool is_matmul(const std::string& n) { return n == "aten::mm" || n == "aten::addmm" || n == "aten::bmm"; }
// The convolution kernels that do the arithmetic (im2col + BLAS, or oneDNN), not their
// parents (conv2d, convolution, thnn_conv2d, convolution_backward), so time is not counted twice.
bool is_leaf_conv(const std::string& n) {
  return n == "aten::mkldnn_convolution" || n == "aten::_slow_conv2d_forward" || n == "aten::_slow_conv2d_backward";
}

struct Profile {
  double flops = 0;       // matrix products + convolutions
  double inside_us = 0;   // time inside them
  double attention_us = 0;  // of which in unigap::decode_attention (q K^T and p V over the KV cache)
  std::map<std::tuple<int64_t, int64_t, int64_t>, int> gemm_shapes;  // (M, K, N) -> calls
  std::vector<std::pair<double, std::string>> top_outside;            // slowest other ops (inclusive times)
  std::map<std::string, double> inside_by_op;                         // time inside, per op
};

// Profiles one call of f. conv_backward: count each forward convolution's backward (2x).
Profile profile(const std::function<void()>& f, bool conv_backward) {
  torch::profiler::impl::ProfilerConfig cfg(torch::profiler::impl::ProfilerState::KINETO, /*shapes*/ true, false, false,
                                            /*flops*/ true);
  const std::set<torch::profiler::impl::ActivityType> act{torch::profiler::impl::ActivityType::CPU};
  prof::prepareProfiler(cfg, act);
  prof::enableProfiler(cfg, act);
  f();
  auto r = prof::disableProfiler();
  Profile p;
  std::map<std::string, double> other;
  for (auto& e : r->events()) {
    const std::string n = e.name();
    if (is_matmul(n)) {
      p.flops += double(e.flops());
      p.inside_us += double(e.durationUs());
      p.inside_by_op[n.substr(6)] += double(e.durationUs());
      const auto& s = e.shapes();
      // mm(a, b): a (M, K), b (K, N); addmm(bias, a, b); bmm(a (B, M, K), b (B, K, N)).
      if (n == "aten::mm" && s.size() >= 2 && s[0].size() == 2 && s[1].size() == 2) ++p.gemm_shapes[{s[0][0], s[0][1], s[1][1]}];
      if (n == "aten::addmm" && s.size() >= 3 && s[1].size() == 2 && s[2].size() == 2) ++p.gemm_shapes[{s[1][0], s[1][1], s[2][1]}];
      // bmm: Bt products of (M, K) x (K, N), each one sgemm at that shape.
      if (n == "aten::bmm" && s.size() >= 2 && s[0].size() == 3 && s[1].size() == 3)
        p.gemm_shapes[{s[0][1], s[0][2], s[1][2]}] += int(s[0][0]);
    } else if (n == "aten::conv2d") {
      p.flops += double(e.flops());  // forward (the profiler counts it)
    } else if (n == "aten::convolution_backward" && conv_backward) {
      // Not counted by the profiler: 2x the forward (input and weight gradients), from the
      // shapes grad_output (N, O, Ho, Wo), input, weight (O, C, kh, kw).
      const auto& s = e.shapes();
      if (s.size() >= 3 && s[0].size() == 4 && s[2].size() == 4)
        p.flops += 2.0 * 2.0 * double(s[0][0] * s[0][1] * s[0][2] * s[0][3]) * double(s[2][1] * s[2][2] * s[2][3]);
    } else if (is_leaf_conv(n)) {
      p.inside_us += double(e.durationUs());
      p.inside_by_op[n.substr(6)] += double(e.durationUs());
    } else if (n == "unigap::causal_attention" || n == "unigap::causal_attention_backward") {
      // Training attention (model/attention.h): per (row, head) sgemm calls of our own, 2 in
      // the forward (Q K^T, P V), 4 in the backward; shapes from q (B, H, T, hd), k (B, H, L, hd).
      const auto& s = e.shapes();
      if (s.size() >= 2 && s[0].size() == 4 && s[1].size() == 4) {
        const int64_t BH = s[0][0] * s[0][1], T = s[0][2], D = s[0][3], L = s[1][2];
        const bool fwd = n == "unigap::causal_attention";
        p.flops += (fwd ? 2.0 : 4.0) * 2.0 * double(BH) * T * L * D;
        p.gemm_shapes[{T, D, L}] += int(BH);  // Q K^T  (backward: dP = dY V^T)
        if (fwd) {
          p.gemm_shapes[{T, L, D}] += int(BH);  // P V
        } else {
          p.gemm_shapes[{L, T, D}] += int(2 * BH);  // dV = P^T dY, dK = dS^T Q
          p.gemm_shapes[{T, L, D}] += int(BH);      // dQ = dS K
        }
      }
      p.inside_us += double(e.durationUs());
      p.inside_by_op[n.substr(8)] += double(e.durationUs());
    } else if (n == "unigap::decode_attention") {
      // Attention's own matrix products (a batched GEMV per row and head), done by our kernel.
      p.inside_us += double(e.durationUs());
      p.attention_us += double(e.durationUs());
    } else if (n.rfind("aten::", 0) == 0) {
      other[n] += double(e.durationUs());  // inclusive times: for ranking only
    }
  }
  for (auto& [n, us] : other) p.top_outside.push_back({us, n});
  std::sort(p.top_outside.rbegin(), p.top_outside.rend());
  if (p.top_outside.size() > 6) p.top_outside.resize(6);
  return p;
}

// The sgemm rate at exactly these shapes (each replayed as often as it occurs), GFLOP/s.
// The profile gives shapes, not layouts: each shape is timed as A B, A B^T (a linear
// layer's forward) and A^T B (a weight gradient), and the fastest counts: the limit is
// what this BLAS can do at that shape.
double replay_limit(const Profile& p) {
  c10::InferenceMode guard;
  double flops = 0, seconds = 0;
  for (auto& [shape, calls] : p.gemm_shapes) {
    auto [M, K, N] = shape;
    const int reps = std::max(3, int(2e8 / std::max<double>(1, 2.0 * M * K * N)));  // ~0.1 s of work each
    auto time = [&](const torch::Tensor& a, const torch::Tensor& b) {
      auto c = torch::mm(a, b);  // warm
      const auto t0 = Clock::now();
      for (int i = 0; i < reps; ++i) torch::mm_out(c, a, b);
      return std::chrono::duration<double>(Clock::now() - t0).count() / reps;
    };
    const double nn = time(torch::randn({M, K}), torch::randn({K, N}));
    const double nt = time(torch::randn({M, K}), torch::randn({N, K}).t());
    const double tn = time(torch::randn({K, M}).t(), torch::randn({K, N}));
    flops += 2.0 * double(M) * K * N * calls;
    seconds += std::min({nn, nt, tn}) * calls;
  }
  return seconds > 0 ? flops / seconds / 1e9 : 0;
}

// Runs f under the benchmark loop, then sets the ratio counters.
// with_profile false: time only (the profiler keeps every op's inputs alive, which the
// no-cache sampling, recomputing the whole prefix per token, cannot afford).
Profile measure(benchmark::State& st, const std::function<void()>& f, bool training, double items, const char* item_name,
                bool with_profile = true) {
  f();  // warm-up (allocations, first-touch)
  double wall = 0;
  for (auto _ : st) {
    const auto t0 = Clock::now();
    f();
    wall += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  const double per_call = wall / double(st.iterations());
  st.counters[item_name] = items / per_call;
  st.counters["peak_rss_mb"] = peak_rss_mb();  // before profiling: the profiler's own memory is not the workload's
  if (!with_profile) return {};
  const Profile p = profile(f, training);
  const double model = p.flops / per_call / 1e9, limit = replay_limit(p);
  st.counters["model_gflops"] = model;
  st.counters["limit_gflops"] = limit;
  st.counters["of_limit"] = limit > 0 ? model / limit : 0;
  st.counters["outside_share"] = std::max(0.0, 1.0 - p.inside_us * 1e-6 / per_call);
  st.counters["flops_per_call"] = p.flops;
  std::string label = "inside ";
  for (auto& [n, us] : p.inside_by_op) label += n + ":" + std::to_string(int(us / 1000)) + "ms ";
  if (p.attention_us > 0) label += "decode_attention:" + std::to_string(int(p.attention_us / 1000)) + "ms ";
  label += "| outside ";
  for (auto& [us, n] : p.top_outside) label += n.substr(n.find("::") + 2) + ":" + std::to_string(int(us / 1000)) + "ms ";
  st.SetLabel(label);
  return p;
}

}  // namespace

// The practical ceiling for context: a large square sgemm.
static void BM_SgemmSquare(benchmark::State& st) {
  const int64_t n = st.range(0);
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::mm(a, b);
  for (auto _ : st) torch::mm_out(c, a, b);
  st.counters["gflops"] = benchmark::Counter(2.0 * n * n * n * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
  st.counters["peak_rss_mb"] = peak_rss_mb();
}
BENCHMARK(BM_SgemmSquare)->Arg(1024)->Unit(benchmark::kMillisecond);

// Memory bandwidth for context: copying 256 MB (read + write counted).
static void BM_MemoryCopy(benchmark::State& st) {
  auto a = torch::randn({64 << 20}), b = torch::empty_like(a);
  for (auto _ : st) b.copy_(a);
  st.counters["gbps"] = benchmark::Counter(2.0 * double(a.nbytes()) * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MemoryCopy)->Unit(benchmark::kMillisecond);

// A unified pretraining step as `unigap pretrain` takes it: generation + understanding
// (+ caption) losses on a batch, backward, AdamW step.
static void BM_PretrainStep(benchmark::State& st) {
  const WorldSpec spec = WorldSpec::v1();
  auto m = make_model(preset_config(), spec);
  auto& net = m->net();
  net.train_only({"backbone", "gen_aligner", "gen_head", "und_encoder"});
  torch::optim::AdamW opt(net.trainable_parameters(), torch::optim::AdamWOptions(1e-4));
  const int B = int(st.range(0)), P = B / 2;
  auto in = make_inputs(spec, B);
  auto pixels = m->images_to_tensor(in.images);
  auto pos = m->prompt_ids(in.prompts), neg = m->prompt_ids(in.negatives);
  auto und_ids = torch::cat({pos.narrow(0, 0, P), neg.narrow(0, P, B - P)});
  auto labels = torch::cat({torch::full({P}, int64_t(m->tokenizer().yes())), torch::full({B - P}, int64_t(m->tokenizer().no()))});
  auto step = [&] {
    torch::Tensor codes;
    {
      torch::NoGradGuard ng;
      codes = net.vq->encode(pixels);
    }
    auto gl = net.gen_logits(pos, codes);
    auto loss = torch::nn::functional::cross_entropy(gl.reshape({-1, gl.size(-1)}), codes.reshape({-1}));
    auto und = net.und_forward(net.image_tokens(pixels, codes), und_ids);
    loss = loss + torch::nn::functional::cross_entropy(und.answer, labels);
    if (und.caption.defined()) {
      auto cl = und.caption.narrow(0, 0, P);
      auto t = pos.narrow(0, 0, P).masked_fill(pos.narrow(0, 0, P) == net.tok_pad, -100);
      loss = loss + torch::nn::functional::cross_entropy(cl.reshape({-1, cl.size(-1)}), t.reshape({-1}),
                                                         torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
    }
    opt.zero_grad();
    loss.backward();
    opt.step();
  };
  measure(st, step, true, double(B), "images_per_s");
}
BENCHMARK(BM_PretrainStep)->Arg(32)->Unit(benchmark::kMillisecond)->Iterations(8);

namespace {
// What SFT and DPO train: the generation branch, with improve's optimizer, on n samples.
struct GenTraining {
  WorldSpec spec = WorldSpec::v1();
  std::unique_ptr<ShapesModel> m = make_model(preset_config(), spec);
  std::unique_ptr<torch::optim::AdamW> opt;
  Inputs in;
  torch::Tensor codes;
  explicit GenTraining(int n) {
    m->train_only({"backbone", "gen_aligner", "gen_head"});
    opt = std::make_unique<torch::optim::AdamW>(m->net().trainable_parameters(), torch::optim::AdamWOptions(1e-5));
    in = make_inputs(spec, n);
    codes = m->encode_images(in.images).clone();
  }
};
}  // namespace

// SFT of the generation branch (improve --method sft): B accepted samples.
static void BM_SftStep(benchmark::State& st) {
  const int B = int(st.range(0));
  GenTraining g(B);
  auto& m = g.m;
  auto& opt = *g.opt;
  auto& codes = g.codes;
  auto ids = m->prompt_ids(g.in.prompts);
  auto step = [&] {
    auto loss = sft_loss(m->net().gen_logits(ids, codes), codes);
    opt.zero_grad();
    loss.backward();
    opt.step();
  };
  measure(st, step, true, double(B), "samples_per_s");
}
BENCHMARK(BM_SftStep)->Arg(16)->Unit(benchmark::kMillisecond)->Iterations(10);

// DPO (improve --method dpo): B pairs, chosen and rejected in one batch; the reference
// log-probs are computed once per run (not per step), as unigap does.
static void BM_DpoStep(benchmark::State& st) {
  const int B = int(st.range(0));
  GenTraining g(2 * B);
  auto& m = g.m;
  auto& opt = *g.opt;
  auto& codes = g.codes;
  std::vector<std::string> pr(g.in.prompts.begin(), g.in.prompts.begin() + B);
  pr.insert(pr.end(), pr.begin(), pr.end());
  auto ids = m->prompt_ids(pr);
  torch::Tensor ref;
  {
    torch::NoGradGuard ng;
    ref = sequence_logprob(m->net().gen_logits(ids, codes), codes);
  }
  const int64_t N = m->image_tokens();
  auto step = [&] {
    auto lp = sequence_logprob(m->net().gen_logits(ids, codes), codes);
    auto t = dpo_loss(lp.narrow(0, 0, B), lp.narrow(0, B, B), ref.narrow(0, 0, B), ref.narrow(0, B, B), 0.1, 0.0, N);
    opt.zero_grad();
    t.loss.backward();
    opt.step();
  };
  measure(st, step, true, double(B), "pairs_per_s");
}
BENCHMARK(BM_DpoStep)->Arg(8)->Unit(benchmark::kMillisecond)->Iterations(10);

// Sampling as `improve` and `eval` do: KV cache, classifier-free guidance (cond + uncond
// rows in one forward), batch B. Args: B, use_cache, d_model (0 = preset), image size (0 = preset).
static void BM_Sample(benchmark::State& st) {
  ModelConfig c = preset_config();
  if (st.range(2) > 0) c.d_model = int(st.range(2)), c.ffn_hidden = int(st.range(2)) * 8 / 3 / 32 * 32;
  if (st.range(3) > 0) c.image_size = int(st.range(3));
  auto m = make_model(c, WorldSpec::v1());
  const int B = int(st.range(0));
  auto in = make_inputs(WorldSpec::v1(), B);
  auto ids = m->prompt_ids(in.prompts);
  SampleOptions opt;
  opt.cfg_weight = 5.0;
  opt.use_cache = st.range(1) != 0;
  std::vector<uint64_t> seeds(size_t(B), 7);
  auto f = [&] { benchmark::DoNotOptimize(sample_codes(m->net(), ids, seeds, opt)); };
  const Profile p = measure(st, f, false, double(B), "images_per_s", opt.use_cache);
  if (p.attention_us > 0) {  // bytes of keys and values read by the decode steps / their time
    const int64_t T = c.text_len + 2, N = m->image_tokens();
    double positions = 0;
    for (int64_t i = 0; i + 1 < N; ++i) positions += double(T + i + 1);
    const double bytes = 2.0 * 2 * B * c.n_layers * double(c.d_model) * 4 * positions;  // K+V, CFG rows, float
    st.counters["kv_read_gbps"] = bytes / (p.attention_us * 1e-6) / 1e9;
    st.counters["attention_share"] = p.attention_us * 1e-6 / (double(B) / st.counters["images_per_s"].value);
  }
  st.counters["ms_per_token"] = 1e3 * double(B) / st.counters["images_per_s"].value / double(m->image_tokens());
  st.counters["image_tokens"] = m->image_tokens();
  st.counters["d_model"] = c.d_model;
}
BENCHMARK(BM_Sample)
    ->ArgNames({"batch", "cache", "d", "size"})
    ->Args({1, 1, 0, 0})->Args({16, 1, 0, 0})->Args({64, 1, 0, 0})->Args({64, 0, 0, 0})
    ->Unit(benchmark::kMillisecond)->MinTime(1.0);
// Scaling with width and with image tokens (batch 16).
BENCHMARK(BM_Sample)
    ->Name("BM_SampleScaling")
    ->ArgNames({"batch", "cache", "d", "size"})
    ->Args({16, 1, 96, 0})->Args({16, 1, 384, 0})->Args({16, 1, 0, 16})->Args({16, 1, 0, 48})
    ->Unit(benchmark::kMillisecond)->MinTime(1.0);

// Judging (the understanding branch), batched, under inference mode.
static void BM_Judge(benchmark::State& st) {
  const WorldSpec spec = WorldSpec::v1();
  auto m = make_model(preset_config(), spec);
  auto in = make_inputs(spec, int(st.range(0)));
  auto f = [&] { benchmark::DoNotOptimize(m->judge(in.images, in.prompts)); };
  measure(st, f, false, double(st.range(0)), "images_per_s");
}
BENCHMARK(BM_Judge)->Arg(32)->Arg(128)->Arg(512)->Unit(benchmark::kMillisecond)->MinTime(1.0);
