// The model tests' main: OpenBLAS kernels first (common/blas_kernels.h), then gtest.
#include <gtest/gtest.h>

#include "common/blas_kernels.h"

int main(int argc, char** argv) {
  unigap::ensure_fast_blas_kernels(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
