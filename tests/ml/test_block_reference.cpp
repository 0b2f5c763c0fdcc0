// RMSNorm, RoPE and a whole decoder block against an independent python3-torch
// mirror (tests/ml/reference_block.py) that follows the formulas, not our code.
// Tolerance 1e-5 absolute: float32 with a different summation order.
#include <gtest/gtest.h>

#include <sstream>

#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/transformer.h"
#include "test_util.h"

using namespace unigap;

TEST(BlockReference, MatchesPythonTorchMirror) {
  ModelConfig c = ModelConfig::preset_named("tiny");
  torch::manual_seed(5);
  Block block(c);
  {
    torch::NoGradGuard ng;
    for (auto& p : block->parameters()) p.normal_(0, 0.2);
  }
  const int64_t B = 2, T = 9, pos0 = 5;
  auto x = torch::randn({B, T, c.d_model});
  auto q = torch::randn({B, c.n_heads, T, c.head_dim()});
  Rope rope(64, c.head_dim(), c.rope_theta);
  torch::NoGradGuard ng;
  SafetensorsFile f = module_to_safetensors(*block, "block.");
  f.tensors["x"] = to_tensor_data(x);
  f.tensors["q"] = to_tensor_data(q);
  f.tensors["out_rmsnorm"] = to_tensor_data(block->attn_norm->forward(x));
  f.tensors["out_rope"] = to_tensor_data(apply_rope(q, rope, pos0));
  f.tensors["out_block"] = to_tensor_data(block->forward(x, rope, 0, nullptr, 0));
  f.metadata = {{"heads", std::to_string(c.n_heads)}, {"eps", std::to_string(c.norm_eps)},
                {"theta", std::to_string(c.rope_theta)}, {"pos0", std::to_string(pos0)}};
  TempDir dir;
  write_safetensors(dir.path + "/block.safetensors", f);
  int status = 0;
  std::string out = run_command("/usr/bin/python3 " + std::string(UNIGAP_SOURCE_DIR) + "/tests/ml/reference_block.py " +
                                    dir.path + "/block.safetensors 2>&1",
                                &status);
  ASSERT_EQ(status, 0) << out;
  std::istringstream in(out);
  std::string name;
  double diff;
  int seen = 0;
  while (in >> name >> diff) {
    EXPECT_LT(diff, 1e-5) << name;
    ++seen;
  }
  EXPECT_EQ(seen, 3) << out;
}
