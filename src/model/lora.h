// The LoRA update of one linear layer (the options and the PEFT format: model/lora_options.h).
#pragma once

#include <torch/torch.h>

#include "model/lora_options.h"

namespace unigap {

// The low-rank update of one linear layer; its tensors are trained, the layer's weight is not.
struct LoraDelta {
  torch::Tensor A, B;  // (r, in), (out, r)
  double scale = 1, dropout = 0;
  // scale * B A dropout(x): x (..., in) -> (..., out). Dropout only while training; its mask
  // comes from torch's default generator (the trainer seeds it per epoch).
  torch::Tensor forward(const torch::Tensor& x, bool training) const;
  // A fresh update: A Kaiming-uniform (a = sqrt(5), as nn.Linear and PEFT), B zero.
  static LoraDelta fresh(int64_t in, int64_t out, const LoraOptions& o, torch::Generator& gen, const torch::TensorOptions& to);
};

}  // namespace unigap
