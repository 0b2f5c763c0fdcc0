// OpenBLAS kernel selection. Debian's OpenBLAS is built with DYNAMIC_ARCH: at load
// time it picks its kernels from the CPU's model number. A model it does not know
// (a newer Xeon, or a VM that reports a generic "Intel Xeon Processor") falls back to
// the Prescott kernels (SSE3, 2004). On the 2-core development VM that made sgemm
// 4.6x slower than the AVX-512 kernels the CPU supports (15.5 vs 71 GFLOPS, one thread).
//
// OpenBLAS reads OPENBLAS_CORETYPE only when it is loaded, so the fix must happen
// before the process starts: ensure_fast_blas_kernels() checks the kernels in use
// and, if the CPU can do better, sets OPENBLAS_CORETYPE and re-executes the program
// (once; an OPENBLAS_CORETYPE already set, by the user or by us, is never changed).
#pragma once

#include <string>

namespace unigap {

// Call first thing in main(). Returns normally if nothing needs changing (or if
// the BLAS is not OpenBLAS); otherwise does not return.
void ensure_fast_blas_kernels(char** argv);

// "SkylakeX" etc., or "" when the BLAS is not OpenBLAS; plus how it was chosen.
std::string blas_kernel_note();

}  // namespace unigap
