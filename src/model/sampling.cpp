#include "model/sampling.h"

#include <ATen/record_function.h>

#include <limits>

namespace unigap {

std::vector<int64_t> draw_rows(const torch::Tensor& probs, const std::vector<double>& u) {
  RECORD_FUNCTION("unigap::draw_rows", std::vector<c10::IValue>());  // named in profiles
  auto p = probs.contiguous().to(torch::kFloat64);
  const int64_t R = p.size(0), K = p.size(1);
  auto acc = p.accessor<double, 2>();
  std::vector<int64_t> out(R);
  for (int64_t r = 0; r < R; ++r) {
    double total = 0;
    for (int64_t k = 0; k < K; ++k) total += acc[r][k];
    const double target = u[r] * total;
    double c = 0;
    int64_t pick = K - 1;
    for (int64_t k = 0; k < K; ++k) {
      c += acc[r][k];
      if (c > target && acc[r][k] > 0) {
        pick = k;
        break;
      }
    }
    // Never return a zero-probability index (possible only through rounding at the end).
    while (pick > 0 && acc[r][pick] == 0) --pick;
    out[r] = pick;
  }
  return out;
}

torch::Tensor guided_probs(const torch::Tensor& cond, const torch::Tensor& uncond, const SampleOptions& opt) {
  torch::Tensor l = uncond.defined() ? uncond + opt.cfg_weight * (cond - uncond) : cond;
  l = l / opt.temperature;
  if (opt.top_k > 0 && opt.top_k < l.size(1)) {
    auto kth = std::get<0>(l.topk(opt.top_k, 1)).narrow(1, opt.top_k - 1, 1);  // (R, 1)
    l = l.masked_fill(l < kth, -std::numeric_limits<float>::infinity());
  }
  return torch::softmax(l, 1);
}

}  // namespace unigap
