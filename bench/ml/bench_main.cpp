// main() of the model benchmarks: OpenBLAS kernels first (common/blas_kernels.h), so
// that the numbers are the ones unigap gets, and unigap's torch settings (model/torch_runtime.h).
#include <benchmark/benchmark.h>

#include "common/blas_kernels.h"
#include "model/torch_runtime.h"

int main(int argc, char** argv) {
  unigap::ensure_fast_blas_kernels(argv);
  unigap::configure_torch_runtime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
