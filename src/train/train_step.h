// The part of a training step every trainer shares (pretrain's two stages, improve's
// objectives): after the loss terms are computed, one function takes the optimizer step
// (zero the gradients, backward, all-reduce them across ranks, the fault injection of the
// tests, the finite check naming the first bad tensor, clipping, the update), and one sums
// the named metrics across ranks. A training loop then reads: batch -> loss terms ->
// all-reduce -> step -> log.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "dist/dist.h"
#include "train/objectives.h"

namespace unigap {

struct StepOptions {
  std::string stage;  // names the step in errors and fault injection (vq, unified, improve)
  int step = 0;
  double clip = 1.0;  // max global L2 norm of each clip group's gradients
  // Clipped separately (pretraining clips each parameter group alone); empty: one group of
  // every trained parameter.
  std::vector<std::vector<torch::Tensor>> clip_groups;
};

struct StepStats {
  double grad_norm = 0;     // before clipping; the root of the groups' squared norms
  double allreduce_ms = 0;  // 0 on one process
};

// `params` are the tensors the optimizer updates (their gradients are all-reduced); `named`
// every parameter by name, for the finite check. A loss without a graph (a rank with no
// rows this step) adds zero gradients.
StepStats optimizer_step(const torch::Tensor& loss, torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params,
                         const torch::OrderedDict<std::string, torch::Tensor>& named, const StepOptions& o);

// Sums every metric across the ranks (they hold the same keys); the identity on one process.
Metrics all_reduce_metrics(const Metrics& mine, Dist& dist);

// Sets the learning rate of every parameter group (Adam and AdamW).
void set_learning_rate(torch::optim::Optimizer& opt, double lr);

}  // namespace unigap
