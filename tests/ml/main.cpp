// The model tests' main: OpenBLAS kernels first (common/blas_kernels.h), the torch settings
// of every unigap program (model/torch_runtime.h), then gtest.
#include <gtest/gtest.h>

#include "common/blas_kernels.h"
#include "model/torch_runtime.h"

int main(int argc, char** argv) {
  unigap::ensure_fast_blas_kernels(argv);
  unigap::configure_torch_runtime();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
