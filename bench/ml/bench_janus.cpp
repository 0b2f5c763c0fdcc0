// Janus-Pro on this CPU, against the machine's own limits measured in the same process
// (bench/janus.sh runs each mode in its own process, so that peak RSS is the mode's own,
// and prints the table of docs/performance.md).
//
//   unigap_bench_janus DIR load                 load time, peak RSS, the model's bytes
//   unigap_bench_janus DIR decode B STEPS       ms per step of the CFG loop (2B rows) at the context
//                                               of an image's middle, after a warm-up, each step
//                                               timed; with its two bounds:
//     memory  bytes one step reads: the weights (every LLaMA layer, the final norm, the gen
//             head and aligner) and the KV cache (every row's cached keys and values) / the rate
//             at which this machine reads memory (a warm sum over 256 MB buffers; the copy
//             rate, read + write, is printed beside it)
//     sgemm   the step's FLOPs (its linear layers and attention over the cache) / the rate of a
//             large square sgemm
//   unigap_bench_janus DIR profile B STEPS      the same steps under libtorch's profiler: ops by time
//                                               (env UNIGAP_BENCH_SHORT_CONTEXT=1: the short prompt)
//   unigap_bench_janus DIR vq N                 seconds per image of the VQ decoder
//   unigap_bench_janus DIR judge N              images/s of the judge on N random 384 px images
//   unigap_bench_janus DIR train B STEPS GC     s per LoRA SFT step (rank 16 on q,k,v,o,gate,up,down,
//                                               AdamW) at batch B with 576-token images, GC 1: with
//                                               gradient checkpointing; against the sgemm bound of its
//                                               FLOPs (forward, the backward's activation gradients,
//                                               and with GC the second forward) and its peak RSS
//   unigap_bench_janus - kernels                weight streaming of a linear layer at 1-8 rows:
//                                               sgemm, sgemv per row, few_rows_linear
// Output: one JSON object per mode on stdout.
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <numeric>

#include "common/blas_kernels.h"
#include "common/rng.h"
#include "model/janus_model.h"
#include "model/few_rows_linear.h"
#include "model/janus_modules.h"
#include "model/lora.h"
#include "model/torch_runtime.h"

using namespace unigap;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The fastest of `reps` timed calls of f after one untimed call (first touch, allocations), s.
double best_seconds(const std::function<void()>& f, int reps) {
  f();
  double t = 1e9;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    t = std::min(t, seconds_since(t0));
  }
  return t;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

// Warm memory rates over 256 MB buffers (pages touched first, many iterations), GB/s.
struct MemoryRates {
  double read = 0, copy = 0;  // copy counts read + write bytes
};
MemoryRates memory_rates() {
  c10::InferenceMode guard;
  auto a = torch::randn({64 << 20}), b = torch::randn({64 << 20});
  const double bytes = double(a.nbytes());
  MemoryRates r;
  r.read = bytes / best_seconds([&] { (void)a.sum().item<float>(); }, 10) / 1e9;
  r.copy = 2 * bytes / best_seconds([&] { b.copy_(a); }, 10) / 1e9;
  return r;
}

double sgemm_gflops() {
  c10::InferenceMode guard;
  const int64_t n = 2048;
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::mm(a, b);
  return 2.0 * n * n * n / best_seconds([&] { torch::mm_out(c, a, b); }, 5) / 1e9;
}

std::unique_ptr<JanusModel> load(const std::string& dir, double* seconds) {
  const auto t0 = Clock::now();
  auto m = JanusModel::load(dir);
  if (seconds) *seconds = seconds_since(t0);
  return m;
}

double model_bytes(JanusModel& m, const std::vector<std::string>& prefixes) {
  double b = 0;
  for (auto& p : m.named_parameters())
    for (auto& pre : prefixes)
      if (p.key().rfind(pre, 0) == 0) b += double(p.value().nbytes());
  return b;
}

int mode_load(const std::string& dir) {
  double s = 0;
  auto m = load(dir, &s);
  const double bytes = model_bytes(*m, {""});
  std::printf("{\"mode\": \"load\", \"threads\": %d, \"seconds\": %.2f, \"peak_rss_mb\": %.0f, \"model_mb\": %.0f, \"rss_over_model\": %.3f}\n",
              at::get_num_threads(), s,
              peak_rss_mb(), bytes / 1048576.0, peak_rss_mb() * 1048576.0 / bytes);
  return 0;
}

int mode_decode(const std::string& dir, int batch, int steps, bool profile_steps) {
  const MemoryRates mem = memory_rates();
  const double sgemm = sgemm_gflops();
  auto m = load(dir, nullptr);
  const JanusDims& d = m->dims();
  // A step's cost grows with the cached context (attention reads every cached key and value):
  // the prompt is padded with words until the context is what it is halfway through an image
  // (a 24-token prompt + half the image tokens), so the timed steps cost what an image's mean step does.
  std::string prompt = "a photo of a red bicycle and a blue clock";
  const char* short_context = std::getenv("UNIGAP_BENCH_SHORT_CONTEXT");  // profiling: skip the long prefill
  const size_t target = short_context ? 0 : size_t(24 + m->image_tokens() / 2);
  while (m->generation_ids(prompt, false).size() < target) prompt += " and a green bench";
  std::vector<GenerationRequest> reqs;
  for (int i = 0; i < batch; ++i) reqs.push_back({prompt, uint64_t(i)});
  SampleOptions opt;
  opt.batch = batch;
  opt.cfg_weight = 5.0;
  const auto t0 = Clock::now();
  JanusModel::CodeSampler sampler(*m, reqs, opt);
  const double prefill = seconds_since(t0);
  const int64_t prompt_len = int64_t(m->generation_ids(reqs[0].prompt, false).size());
  for (int i = 0; i < 2; ++i) sampler.step();  // warm-up
  if (profile_steps) {  // where a step's time goes: libtorch's profiler, ops by total time
    torch::profiler::impl::ProfilerConfig cfg(torch::profiler::impl::ProfilerState::KINETO, true, false, false, false);
    const std::set<torch::profiler::impl::ActivityType> act{torch::profiler::impl::ActivityType::CPU};
    torch::autograd::profiler::prepareProfiler(cfg, act);
    torch::autograd::profiler::enableProfiler(cfg, act);
    for (int i = 0; i < steps; ++i) sampler.step();
    auto r = torch::autograd::profiler::disableProfiler();
    std::map<std::string, std::pair<double, int>> by;  // inclusive us, calls (top-level ops nest others)
    for (auto& e : r->events()) {
      auto& b = by[e.name() + (e.shapes().empty() || e.shapes()[0].empty() ? "" : " " + c10::str(e.shapes()[0]))];
      b.first += double(e.durationUs()), b.second += 1;
    }
    std::vector<std::pair<double, std::string>> top;
    for (auto& [n, v] : by) top.push_back({v.first, n + " x" + std::to_string(v.second)});
    std::sort(top.rbegin(), top.rend());
    for (size_t i = 0; i < std::min<size_t>(25, top.size()); ++i)
      std::printf("%10.1f ms/step  %s\n", top[i].first / 1e3 / steps, top[i].second.c_str());
    return 0;
  }
  std::vector<double> ms;
  for (int i = 0; i < steps && !sampler.done(); ++i) {
    const auto t1 = Clock::now();
    sampler.step();
    ms.push_back(1e3 * seconds_since(t1));
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  // The step's linear layers alone, on the model's weights (every LLaMA layer's seven, the gen
  // head's two) with random rows: how much of the step is the BLAS at these shapes.
  double linear_ms = 0;
  {
    c10::InferenceMode guard;
    std::vector<janus::Linear> lins;
    for (auto& l : *m->net().llm->layers) {
      auto& L = *l->as<janus::LlamaLayer>();
      for (auto* p : {&L.q_proj, &L.k_proj, &L.v_proj, &L.o_proj, &L.gate_proj, &L.up_proj, &L.down_proj}) lins.push_back(*p);
    }
    lins.push_back(m->net().gen_head->output_mlp_projector), lins.push_back(m->net().gen_head->vision_head);
    std::map<int64_t, torch::Tensor> inputs;
    for (auto& l : lins)
      if (!inputs.count(l->weight.size(1))) inputs[l->weight.size(1)] = torch::randn({int64_t(2 * batch), 1, l->weight.size(1)});
    linear_ms = 1e3 * best_seconds([&] {
      for (auto& l : lins) (void)l->forward(inputs[l->weight.size(1)]);
    }, 3);
  }
  // What one step reads and computes (rows = 2 x batch: conditional and guidance rows).
  const double rows = 2.0 * batch;
  const double weights = model_bytes(*m, {"language_model.model.layers.", "language_model.model.norm.", "gen_head.", "gen_aligner."});
  const double linear_params = weights / double(m->net().gen_head->vision_head->weight.element_size());
  const double context = double(prompt_len + 2 + int(ms.size()) / 2);  // mean cached positions over the timed steps
  const double flops = 2.0 * rows * linear_params + 4.0 * rows * double(d.llm.layers * d.llm.heads * d.llm.head_dim) * context;
  // Memory read per step: the weights, and every cached key and value of every row (attention).
  const double kv = rows * double(2 * d.llm.layers * d.llm.kv_heads * d.llm.head_dim) * context * 4.0;
  const double memory_bound_ms = 1e3 * (weights + kv) / (mem.read * 1e9), sgemm_bound_ms = 1e3 * flops / (sgemm * 1e9);
  const double bound = std::max(memory_bound_ms, sgemm_bound_ms);
  std::printf(
      "{\"mode\": \"decode\", \"batch\": %d, \"rows\": %.0f, \"context\": %.0f, \"steps\": %zu, \"prefill_s\": %.2f, \"ms_per_step_median\": %.1f, "
      "\"ms_per_step_min\": %.1f, \"ms_per_step_max\": %.1f, \"linear_layers_ms\": %.1f, \"weight_mb_per_step\": %.0f, \"kv_mb_per_step\": %.0f, \"gflop_per_step\": %.2f, "
      "\"memory_read_gbps\": %.1f, \"memory_copy_gbps\": %.1f, \"sgemm_gflops\": %.0f, \"memory_bound_ms\": %.1f, "
      "\"sgemm_bound_ms\": %.1f, \"of_bound\": %.2f, \"peak_rss_mb\": %.0f}\n",
      batch, rows, context, ms.size(), prefill, median, ms.front(), ms.back(), linear_ms, weights / 1048576.0, kv / 1048576.0, flops / 1e9, mem.read, mem.copy, sgemm,
      memory_bound_ms, sgemm_bound_ms, median / bound, peak_rss_mb());
  return 0;
}

// The VQ decoder: seconds per image from random codes (what every generated image costs).
// Also the decoder's convolutions through ATen's own kernels vs oneDNN (decode_codes uses oneDNN),
// in the same process.
int mode_vq(const std::string& dir, int n) {
  auto m = load(dir, nullptr);
  auto codes = torch::randint(m->codebook_size(), {int64_t(n), int64_t(m->image_tokens())}, torch::kLong);
  m->decode_codes(codes.narrow(0, 0, 1));  // warm-up
  const auto t0 = Clock::now();
  m->decode_codes(codes);
  const double s = seconds_since(t0);
  double aten = 0;
  {
    c10::InferenceMode guard;
    OneDnnConvolutions off(false);
    const int64_t grid = m->image_size() / m->dims().vq.downsample();
    const auto t1 = Clock::now();
    for (int64_t i = 0; i < n; ++i) (void)m->net().vq->decode_codes(codes.narrow(0, i, 1), grid);
    aten = seconds_since(t1) / n;
  }
  std::printf("{\"mode\": \"vq\", \"images\": %d, \"seconds_per_image\": %.2f, \"seconds_per_image_aten_conv\": %.2f, "
              "\"peak_rss_mb\": %.0f}\n", n, s / n, aten, peak_rss_mb());
  return 0;
}

int mode_judge(const std::string& dir, int n) {
  auto m = load(dir, nullptr);
  const int S = m->image_size();
  Rng rng(7);
  std::vector<Image> images;
  std::vector<std::string> prompts;
  for (int i = 0; i < n; ++i) {
    Image im(S, S);
    for (auto& px : im.rgb) px = uint8_t(rng.uniform() * 256);
    images.push_back(std::move(im));
    prompts.push_back("a photo of a red bicycle and a blue clock");
  }
  m->judge({images[0]}, {prompts[0]}, 1);  // warm-up
  const auto t0 = Clock::now();
  m->judge(images, prompts, n);
  const double s = seconds_since(t0);
  std::printf("{\"mode\": \"judge\", \"images\": %d, \"seconds\": %.2f, \"images_per_s\": %.3f, \"peak_rss_mb\": %.0f}\n", n, s,
              double(n) / s, peak_rss_mb());
  return 0;
}

// One LoRA SFT step as improve takes it: image_logprob of B (prompt, 576 codes) rows with
// autograd, the NLL backward, AdamW on the adapter. The first step is timed too (a step takes
// tens of seconds; its allocations are a small part).
int mode_train(const std::string& dir, int batch, int steps, bool checkpointing) {
  double load_s = 0;
  auto m = load(dir, &load_s);
  const double rss_model = peak_rss_mb();
  LoraOptions lo;
  lo.rank = 16;
  lo.alpha = 32;
  lo.dropout = 0.05;
  m->add_lora(lo, 1);
  m->set_gradient_checkpointing(checkpointing);
  m->train_only({"lora"});
  auto params = m->trainable_parameters();
  int64_t adapter_params = 0;
  for (auto& p : params) adapter_params += p.numel();
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-4));
  const int64_t N = m->image_tokens();
  std::vector<std::string> prompts(size_t(batch), "a photo of a red bicycle and a blue clock");
  auto codes = torch::randint(m->codebook_size(), {int64_t(batch), N}, torch::kLong);
  m->set_training(true);
  std::vector<double> sec;
  for (int s = 0; s < steps; ++s) {
    const auto t0 = Clock::now();
    opt.zero_grad();
    auto loss = -m->image_logprob(prompts, codes).mean() / double(N);
    loss.backward();
    opt.step();
    sec.push_back(seconds_since(t0));
    std::fprintf(stderr, "step %d: %.1f s, loss %.4f\n", s, sec.back(), loss.item<double>());
  }
  std::sort(sec.begin(), sec.end());
  // FLOPs: every LLaMA linear layer and the gen head over T positions per row, attention (QK^T
  // and AV over the T x T scores), for the forward; the backward's activation gradients cost a
  // forward again (no weight gradients but the adapter's); checkpointing adds one forward.
  const auto& d = m->dims();
  double linear = 0;
  for (auto& p : m->net().llm->layers->named_parameters())
    if (p.value().dim() == 2) linear += double(p.value().numel());
  linear += double(m->net().gen_head->output_mlp_projector->weight.numel() + m->net().gen_head->vision_head->weight.numel());
  const double T = double(m->generation_ids(prompts[0], false).size()) + double(N - 1);
  const double fwd = batch * (2.0 * linear * T + 4.0 * double(d.llm.layers * d.llm.heads * d.llm.head_dim) * T * T);
  const double flops = fwd * (checkpointing ? 3.0 : 2.0);
  const double sgemm = sgemm_gflops();
  const double median = sec[sec.size() / 2];
  std::printf("{\"mode\": \"train\", \"threads\": %d, \"batch\": %d, \"tokens\": %.0f, \"grad_checkpointing\": %s, \"steps\": %d, \"adapter_params\": %ld, "
              "\"s_per_step_median\": %.1f, \"s_per_step_min\": %.1f, \"s_per_step_max\": %.1f, \"tflop_per_step\": %.2f, \"sgemm_gflops\": %.0f, "
              "\"sgemm_bound_s\": %.1f, \"of_bound\": %.2f, \"peak_rss_mb\": %.0f, \"model_rss_mb\": %.0f}\n",
              at::get_num_threads(), batch, T, checkpointing ? "true" : "false", steps, long(adapter_params), median, sec.front(), sec.back(), flops / 1e12, sgemm,
              flops / (sgemm * 1e9), median / (flops / (sgemm * 1e9)), peak_rss_mb(), rss_model);
  return 0;
}

// Weight streaming rate (GB/s of weights) of a decoding step's linear layer at M rows: sgemm
// (F::linear), sgemv once per row, and few_rows_linear; 8 matrices of (5632, 2048), 180 MB.
int mode_kernels() {
  c10::InferenceMode guard;
  std::vector<torch::Tensor> ws;
  for (int i = 0; i < 8; ++i) ws.push_back(torch::randn({5632, 2048}));
  const double bytes = 8.0 * double(ws[0].nbytes());
  auto rate = [&](const std::function<void()>& f) { return bytes / best_seconds(f, 5) / 1e9; };
  for (int64_t M : {1, 2, 4, 8, 16, 32, 64}) {
    auto x = torch::randn({M, 2048});
    if (M > kFewRowsMax) {  // sgemm only: as F::linear computes it (x W^T), and as W x^T
      const double gemm = rate([&] {
        for (auto& w : ws) (void)torch::nn::functional::linear(x, w);
      });
      const double wx = rate([&] {
        for (auto& w : ws) (void)torch::mm(w, x.t()).t().contiguous();
      });
      std::printf("{\"mode\": \"kernels\", \"rows\": %ld, \"sgemm_gbps\": %.1f, \"sgemm_w_xt_gbps\": %.1f}\n", long(M), gemm, wx);
      continue;
    }
    const double gemm = rate([&] {
      for (auto& w : ws) (void)torch::nn::functional::linear(x, w);
    });
    const double gemv = rate([&] {
      for (auto& w : ws)
        for (int64_t r = 0; r < M; ++r) (void)torch::mv(w, x[r]);
    });
    const double few = rate([&] {
      for (auto& w : ws) (void)few_rows_linear(x, w, {});
    });
    std::printf("{\"mode\": \"kernels\", \"rows\": %ld, \"sgemm_gbps\": %.1f, \"sgemv_per_row_gbps\": %.1f, \"few_rows_gbps\": %.1f}\n",
                long(M), gemm, gemv, few);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas_kernels(argv);
  configure_torch_runtime();
  set_torch_threads(0);  // every core (or OMP_NUM_THREADS); the JSON lines say how many
  const std::string usage = "usage: unigap_bench_janus DIR load | decode BATCH STEPS | vq N | judge N | train BATCH STEPS GC | kernels\n";
  if (argc < 3) return std::cerr << usage, 2;
  const std::string dir = argv[1], mode = argv[2];
  try {
    if (mode == "load") return mode_load(dir);
    if (mode == "kernels") return mode_kernels();
    if (mode == "decode" && argc == 5) return mode_decode(dir, std::stoi(argv[3]), std::stoi(argv[4]), false);
    if (mode == "profile" && argc == 5) return mode_decode(dir, std::stoi(argv[3]), std::stoi(argv[4]), true);
    if (mode == "judge" && argc == 4) return mode_judge(dir, std::stoi(argv[3]));
    if (mode == "vq" && argc == 4) return mode_vq(dir, std::stoi(argv[3]));
    if (mode == "train" && argc == 6) return mode_train(dir, std::stoi(argv[3]), std::stoi(argv[4]), std::stoi(argv[5]) != 0);
  } catch (const std::exception& e) {
    std::cerr << "unigap_bench_janus: " << e.what() << "\n";
    return 1;
  }
  return std::cerr << usage, 2;
}
