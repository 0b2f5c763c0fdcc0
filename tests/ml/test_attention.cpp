// The causal attention kernel (model/attention.h) against libtorch's matmul + softmax in
// float64, forward and all three input gradients, over awkward sizes: one token, odd head
// dims, more keys than queries (prefill after a cached prefix), non-contiguous inputs.
// Tolerance 2e-5 absolute on O(1) values: float32 with another summation order.
#include <gtest/gtest.h>

#include <tuple>

#include "model/attention.h"

using namespace unigap;

namespace {

struct Case {
  int64_t B, H, T, L, D;
};

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace

TEST(CausalAttention, MatchesMatmulSoftmaxForwardAndBackward) {
  const std::vector<Case> cases = {{1, 1, 1, 1, 1}, {2, 3, 5, 5, 7}, {3, 2, 4, 9, 16}, {1, 4, 1, 13, 48}, {2, 4, 77, 77, 48}};
  for (const auto& c : cases) {
    SCOPED_TRACE("B " + std::to_string(c.B) + " H " + std::to_string(c.H) + " T " + std::to_string(c.T) + " L " +
                 std::to_string(c.L) + " D " + std::to_string(c.D));
    torch::manual_seed(c.T * 31 + c.D);
    // q, k, v as the model makes them: views of a permuted projection (not contiguous).
    auto q64 = torch::randn({c.B, c.T, c.H, c.D}, torch::kFloat64).permute({0, 2, 1, 3});
    auto k64 = torch::randn({c.B, c.L, c.H, c.D}, torch::kFloat64).permute({0, 2, 1, 3});
    auto v64 = torch::randn({c.B, c.L, c.H, c.D}, torch::kFloat64).permute({0, 2, 1, 3});
    auto gy = torch::randn({c.B, c.H, c.T, c.D}, torch::kFloat64);
    const double scale = 1.0 / std::sqrt(double(c.D));

    auto grads = [&](bool kernel, torch::ScalarType t) {
      auto q = q64.to(t).detach().requires_grad_(true), k = k64.to(t).detach().requires_grad_(true),
           v = v64.to(t).detach().requires_grad_(true);
      auto y = kernel ? causal_attention(q, k, v, scale) : causal_attention_reference(q, k, v, scale);
      (y * gy.to(t)).sum().backward();
      return std::make_tuple(y.detach(), q.grad(), k.grad(), v.grad());
    };
    auto [y_ref, gq_ref, gk_ref, gv_ref] = grads(false, torch::kFloat64);
    auto [y, gq, gk, gv] = grads(true, torch::kFloat32);
    EXPECT_LT(max_abs_diff(y, y_ref), 2e-5);
    EXPECT_LT(max_abs_diff(gq, gq_ref), 2e-5);
    EXPECT_LT(max_abs_diff(gk, gk_ref), 2e-5);
    EXPECT_LT(max_abs_diff(gv, gv_ref), 2e-5);
  }
}

TEST(CausalAttention, QueryOnlySeesKeysUpToItsPosition) {
  // Changing key/value j must not move the output of a query before position j.
  const int64_t B = 1, H = 2, T = 6, L = 10, D = 8;
  auto q = torch::randn({B, H, T, D}), k = torch::randn({B, H, L, D}), v = torch::randn({B, H, L, D});
  auto y = causal_attention(q, k, v, 0.3);
  auto k2 = k.clone(), v2 = v.clone();
  k2.select(2, L - 1).add_(5.0);  // the last key, seen only by the last query
  v2.select(2, L - 1).add_(5.0);
  auto y2 = causal_attention(q, k2, v2, 0.3);
  EXPECT_TRUE(torch::equal(y.narrow(2, 0, T - 1), y2.narrow(2, 0, T - 1)));
  EXPECT_GT((y.select(2, T - 1) - y2.select(2, T - 1)).abs().max().item<double>(), 1e-3);
}
