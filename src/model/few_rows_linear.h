// y = x W^T + b for a handful of rows, as decoding a large model needs it: one token per
// sequence, so each step multiplies 1-8 rows by every weight matrix of the model. OpenBLAS's
// sgemm at such shapes streams the weights at about 8 GB/s on this machine (docs/
// performance.md), sgemv at 22 GB/s but once per row; this kernel reads each weight row once
// for all rows (one row goes to sgemv). Inference only (no autograd), float32 on the CPU.
#pragma once

#include <torch/torch.h>

namespace unigap {

// The most rows few_rows_linear takes; beyond it sgemm is compute-efficient.
constexpr int64_t kFewRowsMax = 8;

// True when few_rows_linear applies: CPU float32, no gradient wanted, at most kFewRowsMax
// rows (all leading dims together), weight (N, K) contiguous.
bool few_rows_linear_applies(const torch::Tensor& x, const torch::Tensor& weight);

// x (..., K), weight (N, K), bias (N) or undefined -> (..., N). The sums run in a fixed order
// of their own (16 partial sums per row), not sgemm's: equal to F::linear to float rounding.
torch::Tensor few_rows_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace unigap
