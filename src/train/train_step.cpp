#include "train/train_step.h"

#include <cmath>

#include "train/checkpointing.h"

namespace unigap {

StepStats optimizer_step(const torch::Tensor& loss, torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params,
                         const torch::OrderedDict<std::string, torch::Tensor>& named, const StepOptions& o) {
  StepStats st;
  torch::Tensor l = loss;
  if (inject_nan_loss(o.stage, o.step)) l = l * std::numeric_limits<float>::quiet_NaN();
  opt.zero_grad();
  if (l.requires_grad()) l.backward();
  st.allreduce_ms = allreduce_gradients(params) * 1e3;
  inject_inf_grad(o.stage, o.step, named);
  check_finite(l, named, o.stage, o.step);
  double sq = 0;
  if (o.clip_groups.empty()) {
    st.grad_norm = clip_grad_norm(params, o.clip);
  } else {
    for (auto& g : o.clip_groups) {
      const double n = clip_grad_norm(g, o.clip);
      sq += n * n;
    }
    st.grad_norm = std::sqrt(sq);
  }
  opt.step();
  return st;
}

Metrics all_reduce_metrics(const Metrics& mine, Dist& dist) {
  if (!dist.active()) return mine;
  std::vector<double> v;
  for (auto& [k, x] : mine) v.push_back(x);
  std::vector<torch::Tensor> t{torch::tensor(v, torch::kFloat64)};
  dist.allreduce_sum(t);
  Metrics out;
  size_t i = 0;
  for (auto& [k, x] : mine) out[k] = t[0][int64_t(i++)].item<double>();
  return out;
}

void set_learning_rate(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) g.options().set_lr(lr);
}

}  // namespace unigap
