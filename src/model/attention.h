// The two attention kernels of the shared decoder, written for a CPU libtorch without
// batched GEMM kernels (Debian's, no MKL: `bmm` runs one small GEMM per row and head,
// each paying the BLAS call's threading overhead; docs/performance.md).
//  - causal_attention: training and prefill, softmax(q K^T * scale + causal mask) V with
//    its own backward; rows and heads in parallel, each a single-threaded sgemm.
//  - decode_attention: one new query per (row, head) over the KV cache, no autograd.
// Shapes: B batch, H heads, T queries, L keys (L >= T), hd head dim.
#pragma once

#include <torch/torch.h>

namespace unigap {

// q (B, H, T, hd), k and v (B, H, L, hd), float. Query i sits at absolute position
// L - T + i and sees keys j <= L - T + i. Differentiable in q, k and v. Returns (B, H, T, hd).
// Falls back to libtorch's matmul (same maths) off the CPU, for other dtypes, or when
// no BLAS sgemm is loaded.
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale);

// The same maths through libtorch's matmul and softmax: the reference of the tests and the fallback.
torch::Tensor causal_attention_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale);

// Attention of one new query per (row, head) over cached keys/values: q (B, H, 1, hd),
// K and V (B, H, L, hd) with a contiguous last dim; no autograd. Returns (B, H, 1, hd).
torch::Tensor decode_attention(const torch::Tensor& q, const torch::Tensor& K, const torch::Tensor& V, double scale);

}  // namespace unigap
