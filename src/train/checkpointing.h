// Training checkpoints that survive a crash at any point. Each checkpoint is a folder
// checkpoints/<stage>-<step>/ (the model as its save() writes it, optimizer.pt and the
// trainer's own record trainer.json, every file written atomically); checkpoints/latest.json names the newest complete one and
// is replaced atomically only after the folder is complete; older folders are removed
// only after that. A reader therefore never sees a half-written checkpoint.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>

#include "model/multimodal.h"

namespace unigap {

struct CheckpointState {
  std::string stage;
  int step = -1;
  std::string dir;
};

class Checkpointer {
 public:
  explicit Checkpointer(std::string root, int keep = 1);
  // The checkpoint latest.json names; a latest.json that is not what save() writes, or
  // names a missing folder, is a UserError naming it.
  std::optional<CheckpointState> latest() const;
  void save(const std::string& stage, int step, UnifiedMultimodal& model, torch::optim::Optimizer& opt,
            const json& extra = json::object());
  void restore(const CheckpointState& st, UnifiedMultimodal& model, torch::optim::Optimizer& opt) const;
  // The `extra` a checkpoint was saved with (trainer.json; the model's config.json in the
  // checkpoints written before trainer.json existed), with "trainer": {stage, step}.
  static json saved_extra(const CheckpointState& st);
  // On resume: removes checkpoint folders that latest.json does not name (a crash while
  // one was written, or before the previous one was dropped). Returns how many.
  int remove_orphans() const;

 private:
  std::string root_;
  int keep_;
};

// Throws UserError naming the stage, step and first non-finite tensor when the loss
// or any gradient is NaN/Inf. Call after backward(), before the optimizer step.
void check_finite(const torch::Tensor& loss, const torch::OrderedDict<std::string, torch::Tensor>& params,
                  const std::string& stage, int step);

// Fault injection for tests (docs/reliability.md), from UNIGAP_INJECT_NAN_AT:
//   "<stage>:<step>"                 poisons that step's loss with NaN (inject_nan_loss is true);
//   "<stage>:<step>:grad:<tensor>"   sets one gradient entry of that parameter to +Inf after backward.
// Stages: vq, unified (pretrain), improve.
bool inject_nan_loss(const std::string& stage, int step);
void inject_inf_grad(const std::string& stage, int step, const torch::OrderedDict<std::string, torch::Tensor>& params);

// Scales gradients so their global L2 norm is at most max_norm; returns the norm
// before clipping (computed in double).
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace unigap
