#include "model/few_rows_linear.h"

#include <ATen/Parallel.h>

#include <algorithm>


#include "common/error.h"

namespace unigap {

namespace {

// Eight floats as one vector (AVX2's register; the AVX-512 and baseline builds handle it
// too); aligned(4): loads from any float address.
typedef float v8 __attribute__((vector_size(32), aligned(4)));

inline __attribute__((always_inline)) float pairwise_sum(const v8& s) {
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// y[r, n + i] = w_{n+i} . x_r for W weight rows (4, or 1 at the end) and R <= 4 rows of x:
// W x R accumulators in registers, each weight vector loaded once for all R rows.
template <int W, int R>
inline __attribute__((always_inline)) void block(const float* x, const float* w, float* y, int64_t K, int64_t N, int64_t n) {
  v8 acc[W][R];
  for (int i = 0; i < W; ++i)
    for (int r = 0; r < R; ++r) acc[i][r] = v8{};
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    v8 xv[R];
    for (int r = 0; r < R; ++r) xv[r] = *reinterpret_cast<const v8*>(x + r * K + k);
    for (int i = 0; i < W; ++i) {
      const v8 wv = *reinterpret_cast<const v8*>(w + (n + i) * K + k);
      for (int r = 0; r < R; ++r) acc[i][r] += wv * xv[r];
    }
  }
  for (int i = 0; i < W; ++i)
    for (int r = 0; r < R; ++r) {
      float t = pairwise_sum(acc[i][r]);
      for (int64_t kk = k; kk < K; ++kk) t += w[(n + i) * K + kk] * x[r * K + kk];
      y[r * N + n + i] = t;
    }
}

// Weight rows [n0, n1) times M rows of x, four weight rows at a time: rows of x beyond the
// fourth take a second pass over the same four weight rows, which are then in L1.
template <int M>
__attribute__((target_clones("avx512f", "avx2", "default"))) void rows_times_weights(const float* x, const float* w, float* y,
                                                                                      int64_t K, int64_t N, int64_t n0, int64_t n1) {
  constexpr int R0 = M < 4 ? M : 4;
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    block<4, R0>(x, w, y, K, N, n);
    if constexpr (M > 4) block<4, M - 4>(x + 4 * K, w, y + 4 * N, K, N, n);
  }
  for (; n < n1; ++n) {
    block<1, R0>(x, w, y, K, N, n);
    if constexpr (M > 4) block<1, M - 4>(x + 4 * K, w, y + 4 * N, K, N, n);
  }
}

using Kernel = void (*)(const float*, const float*, float*, int64_t, int64_t, int64_t, int64_t);
constexpr Kernel kKernels[kFewRowsMax] = {rows_times_weights<1>, rows_times_weights<2>, rows_times_weights<3>, rows_times_weights<4>,
                                          rows_times_weights<5>, rows_times_weights<6>, rows_times_weights<7>, rows_times_weights<8>};

}  // namespace

bool few_rows_linear_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat32 || weight.scalar_type() != torch::kFloat32) return false;
  if (torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())) return false;
  return x.dim() >= 1 && x.numel() / std::max<int64_t>(1, x.size(-1)) <= kFewRowsMax && x.numel() > 0 && weight.dim() == 2 &&
         weight.is_contiguous();
}

torch::Tensor few_rows_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  UNIGAP_ASSERT(few_rows_linear_applies(x, weight) && x.size(-1) == weight.size(1), "few_rows_linear: shapes or types");
  const int64_t K = weight.size(1), N = weight.size(0), M = x.numel() / K;
  if (M == 1) {  // one row: OpenBLAS's sgemv streams the weights at the machine's rate (bench_janus kernels)
    auto y = torch::mv(weight, x.reshape({K}));
    if (bias.defined()) y += bias;
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    return y.view(sizes);
  }
  auto xc = x.reshape({M, K}).contiguous();
  torch::Tensor b = bias.defined() ? bias.contiguous() : bias;
  auto sizes = x.sizes().vec();
  sizes.back() = N;
  auto y = torch::empty({M, N}, x.options());
  const float *xp = xc.data_ptr<float>(), *wp = weight.data_ptr<float>(), *bp = b.defined() ? b.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  // Threads split the weight rows (in multiples of 4); 64 rows (512 KB at K = 2048) per task at least.
  const Kernel kernel = kKernels[M - 1];
  at::parallel_for(0, (N + 3) / 4, 16, [&](int64_t b0, int64_t b1) { kernel(xp, wp, yp, K, N, 4 * b0, std::min(N, 4 * b1)); });
  if (bp) y += b;
  return y.view(sizes);
}

}  // namespace unigap
