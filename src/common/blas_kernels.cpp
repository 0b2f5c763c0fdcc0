#include "common/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace unigap {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string openblas_core() {
  using fn = char* (*)();
  auto get = reinterpret_cast<fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return get ? std::string(get()) : std::string();
}

// The best OpenBLAS core type for this CPU, if the one in use is worse; "" otherwise.
std::string better_core(const std::string& in_use) {
  const std::string cur = lower(in_use);
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool has_512_core = cur == "skylakex" || cur == "cooperlake" || cur == "sapphirerapids";
  const bool has_256_core = has_512_core || cur == "haswell" || cur == "zen" || cur == "excavator";
  if (avx512 && !has_512_core) return "SkylakeX";
  if (avx2 && !has_256_core) return "Haswell";
  return "";
}

}  // namespace

void ensure_fast_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice, or our own re-exec
  const std::string core = openblas_core();
  if (core.empty()) return;  // not OpenBLAS
  const std::string want = better_core(core);
  if (want.empty()) return;
  setenv("OPENBLAS_CORETYPE", want.c_str(), 1);
  setenv("UNIGAP_BLAS_DETECTED_CORE", core.c_str(), 1);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc?): run on, slower, and say so.
  std::fprintf(stderr, "unigap: warning: OpenBLAS uses its %s kernels; could not restart with OPENBLAS_CORETYPE=%s\n",
               core.c_str(), want.c_str());
}

std::string blas_kernel_note() {
  const std::string core = openblas_core();
  if (core.empty()) return "";
  std::string note = core;
  if (const char* detected = std::getenv("UNIGAP_BLAS_DETECTED_CORE"))
    note += std::string(" (OpenBLAS detected ") + detected + "; unigap set OPENBLAS_CORETYPE)";
  else if (std::getenv("OPENBLAS_CORETYPE"))
    note += " (from OPENBLAS_CORETYPE)";
  else
    note += " (OpenBLAS's own choice)";
  return note;
}

}  // namespace unigap
