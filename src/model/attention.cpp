#include "model/attention.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/error.h"

namespace unigap {

// ---- causal attention with its own backward -------------------------------------------

namespace {

// The Fortran BLAS entry point that libtorch itself calls, from the libblas.so.3 it loaded
// (OpenBLAS here). Inside an OpenMP parallel region OpenBLAS's OpenMP build runs each
// call on the calling thread, so (row, head) pairs spread over the cores without nesting.
using SgemmFn = void (*)(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
                         const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
                         const int* ldc);

SgemmFn sgemm() {
  static const SgemmFn fn = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "sgemm_"));
  return fn;
}

// Row-major C (M x N) = alpha op(A) op(B) + beta C, as the column-major product C^T = op(B)^T op(A)^T.
void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
          float* C, int ldc) {
  const char tA = ta ? 'T' : 'N', tB = tb ? 'T' : 'N';
  sgemm()(&tB, &tA, &N, &M, &K, &alpha, B, &ldb, A, &lda, &beta, C, &ldc);
}

struct Dims {
  int64_t BH, T, L, D;
};

Dims dims_of(const torch::Tensor& q, const torch::Tensor& k) {
  return {q.size(0) * q.size(1), q.size(2), k.size(2), q.size(3)};
}

// P = softmax(Q K^T * scale + mask) and Y = P V for (row, head) pairs [begin, end).
void forward_rows(const Dims& d, float scale, const float* q, const float* k, const float* v, float* p, float* y,
                  int64_t begin, int64_t end) {
  const int T = int(d.T), L = int(d.L), D = int(d.D);
  const int64_t off = d.L - d.T;
  for (int64_t i = begin; i < end; ++i) {
    const float *Q = q + i * d.T * d.D, *K = k + i * d.L * d.D, *V = v + i * d.L * d.D;
    float *P = p + i * d.T * d.L, *Y = y + i * d.T * d.D;
    gemm(false, true, T, L, D, scale, Q, D, K, D, 0.f, P, L);
    for (int64_t r = 0; r < d.T; ++r) {
      float* row = P + r * d.L;
      const int64_t seen = off + r + 1;  // keys 0 .. off + r
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < seen; ++j) mx = std::max(mx, row[j]);
      float sum = 0;
      for (int64_t j = 0; j < seen; ++j) sum += (row[j] = std::exp(row[j] - mx));
      const float inv = 1.f / sum;
      for (int64_t j = 0; j < seen; ++j) row[j] *= inv;
      std::fill(row + seen, row + d.L, 0.f);
    }
    gemm(false, false, T, D, L, 1.f, P, L, V, D, 0.f, Y, D);
  }
}

// Gradients of Y = softmax(scale Q K^T + mask) V for pairs [begin, end); ws: T x L floats.
void backward_rows(const Dims& d, float scale, const float* q, const float* k, const float* v, const float* p,
                   const float* gy, float* gq, float* gk, float* gv, float* ws, int64_t begin, int64_t end) {
  const int T = int(d.T), L = int(d.L), D = int(d.D);
  for (int64_t i = begin; i < end; ++i) {
    const float *Q = q + i * d.T * d.D, *K = k + i * d.L * d.D, *V = v + i * d.L * d.D, *P = p + i * d.T * d.L,
                *GY = gy + i * d.T * d.D;
    float *GQ = gq + i * d.T * d.D, *GK = gk + i * d.L * d.D, *GV = gv + i * d.L * d.D;
    gemm(false, true, T, L, D, 1.f, GY, D, V, D, 0.f, ws, L);  // dP = dY V^T
    gemm(true, false, L, D, T, 1.f, P, L, GY, D, 0.f, GV, D);  // dV = P^T dY
    for (int64_t r = 0; r < d.T; ++r) {                         // dS = P (dP - rowsum(P dP)); masked P = 0
      const float* pr = P + r * d.L;
      float* g = ws + r * d.L;
      float dot = 0;
      for (int64_t j = 0; j < d.L; ++j) dot += pr[j] * g[j];
      for (int64_t j = 0; j < d.L; ++j) g[j] = pr[j] * (g[j] - dot);
    }
    gemm(false, false, T, D, L, scale, ws, L, K, D, 0.f, GQ, D);  // dQ = scale dS K
    gemm(true, false, L, D, T, scale, ws, L, Q, D, 0.f, GK, D);   // dK = scale dS^T Q
  }
}

struct CausalAttentionFn : torch::autograd::Function<CausalAttentionFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q_in, const torch::Tensor& k_in,
                               const torch::Tensor& v_in, double scale) {
    // Named in profiles, with q and k as inputs so that a profiler recording shapes can count
    // the FLOPs (bench/ml/bench_perf.cpp).
    RECORD_FUNCTION("unigap::causal_attention", std::vector<c10::IValue>({q_in, k_in}));
    auto q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
    const Dims d = dims_of(q, k);
    auto p = torch::empty({q.size(0), q.size(1), d.T, d.L}, q.options());
    auto y = torch::empty_like(q);
    const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
    float *pp = p.data_ptr<float>(), *yp = y.data_ptr<float>();
    at::parallel_for(0, d.BH, 1, [&](int64_t b, int64_t e) { forward_rows(d, float(scale), qp, kp, vp, pp, yp, b, e); });
    ctx->save_for_backward({q, k, v, p});
    ctx->saved_data["scale"] = scale;
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &p = saved[3];
    RECORD_FUNCTION("unigap::causal_attention_backward", std::vector<c10::IValue>({q, k}));
    const float scale = float(ctx->saved_data["scale"].toDouble());
    auto gy = grads[0].contiguous();
    const Dims d = dims_of(q, k);
    auto gq = torch::empty_like(q), gk = torch::empty_like(k), gv = torch::empty_like(v);
    at::parallel_for(0, d.BH, 1, [&](int64_t b, int64_t e) {
      std::vector<float> ws(size_t(d.T * d.L));
      backward_rows(d, scale, q.data_ptr<float>(), k.data_ptr<float>(), v.data_ptr<float>(), p.data_ptr<float>(),
                    gy.data_ptr<float>(), gq.data_ptr<float>(), gk.data_ptr<float>(), gv.data_ptr<float>(), ws.data(), b, e);
    });
    return {gq, gk, gv, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor causal_attention_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale) {
  const int64_t T = q.size(2), L = k.size(2);
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * scale;  // (B, H, T, L)
  auto mask = torch::ones({T, L}, q.options().dtype(torch::kBool)).triu(L - T + 1);
  scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
  return torch::matmul(torch::softmax(scores, -1), v);
}

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale) {
  UNIGAP_ASSERT(q.dim() == 4 && k.sizes() == v.sizes() && q.size(0) == k.size(0) && q.size(1) == k.size(1) &&
                    q.size(3) == k.size(3) && q.size(2) <= k.size(2),
                "causal_attention: q (B, H, T, hd), k and v (B, H, L, hd) with L >= T");
  const bool kernel = sgemm() && q.device().is_cpu() && q.scalar_type() == torch::kFloat32 &&
                      k.scalar_type() == torch::kFloat32 && v.scalar_type() == torch::kFloat32 &&
                      q.size(2) * k.size(2) < (int64_t(1) << 31) && q.size(3) < (int64_t(1) << 31);
  if (!kernel) return causal_attention_reference(q, k, v, scale);
  return CausalAttentionFn::apply(q, k, v, scale);
}

// ---- decode attention over the KV cache -----------------------------------------------

namespace {

// q . k over one head with 8 independent partial sums, so that the compiler vectorises
// without reassociating floats (no -ffast-math).
inline __attribute__((always_inline)) float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

struct DecodeArgs {
  const float *q, *k, *v;
  float* y;
  int64_t H, L, D, k0, k1, k2, v0, v1, v2;
  float scale;
};

// Rows [begin, end) of (row, head): softmax(q K^T * scale) V in one pass over the cache.
// Built for AVX-512, AVX2 and a baseline; the loader picks one for this CPU.
__attribute__((target_clones("avx512f", "avx2", "default"))) void attend_rows(const DecodeArgs& a, int64_t begin,
                                                                                int64_t end, float* p) {
  for (int64_t i = begin; i < end; ++i) {
    const int64_t b = i / a.H, h = i % a.H;
    const float* qi = a.q + i * a.D;
    const float* kb = a.k + b * a.k0 + h * a.k1;
    const float* vb = a.v + b * a.v0 + h * a.v1;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t l = 0; l < a.L; ++l) {
      p[l] = dot(qi, kb + l * a.k2, a.D) * a.scale;
      mx = std::max(mx, p[l]);
    }
    float sum = 0;
    for (int64_t l = 0; l < a.L; ++l) sum += (p[l] = std::exp(p[l] - mx));
    float* yi = a.y + i * a.D;
    for (int64_t l = 0; l < a.L; ++l) {
      const float w = p[l] / sum;
      const float* vl = vb + l * a.v2;
      for (int64_t d = 0; d < a.D; ++d) yi[d] += w * vl[d];
    }
  }
}

}  // namespace

torch::Tensor decode_attention(const torch::Tensor& q, const torch::Tensor& K, const torch::Tensor& V, double scale) {
  RECORD_FUNCTION("unigap::decode_attention", std::vector<c10::IValue>());  // named in profiles
  const int64_t B = K.size(0), H = K.size(1), L = K.size(2), D = K.size(3);
  UNIGAP_ASSERT(q.size(2) == 1 && K.stride(3) == 1 && V.stride(3) == 1 && K.scalar_type() == torch::kFloat32 &&
                    V.scalar_type() == torch::kFloat32,
                "decode_attention: float (B, H, L, hd) keys/values with a contiguous last dim");
  auto qc = q.contiguous();
  auto y = torch::zeros({B, H, 1, D}, q.options());
  const DecodeArgs args{qc.data_ptr<float>(), K.data_ptr<float>(), V.data_ptr<float>(), y.data_ptr<float>(),
                        H, L, D, K.stride(0), K.stride(1), K.stride(2), V.stride(0), V.stride(1), V.stride(2),
                        float(scale)};
  at::parallel_for(0, B * H, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> p(static_cast<size_t>(L));
    attend_rows(args, begin, end, p.data());
  });
  return y;
}

}  // namespace unigap
