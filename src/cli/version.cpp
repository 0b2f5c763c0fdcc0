// `unigap --version`: version, commit, CPU, libtorch version, the BLAS actually loaded
// (resolved through the dynamic linker, so update-alternatives is respected) and
// the thread count; the same facts go into every run directory's provenance.
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <fstream>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "common/blas_kernels.h"
#include "common/build_info.h"
#include "io/run_dir.h"

namespace unigap::cli {

int& exit_code() {
  static int code = kExitOk;
  return code;
}

namespace {
std::string blas_in_use() {
  // The library that provides sgemm_ in this process, with symlinks resolved.
  void* sym = dlsym(RTLD_DEFAULT, "sgemm_");
  std::string path = "not loaded";
  if (sym) {
    Dl_info info;
    if (dladdr(sym, &info) && info.dli_fname) {
      char real[PATH_MAX];
      path = realpath(info.dli_fname, real) ? real : info.dli_fname;
    }
  }
  using config_fn = char* (*)();
  if (auto cfg = reinterpret_cast<config_fn>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
    path += " (" + std::string(cfg()) + ")";
  return path;
}

// "model name" of /proc/cpuinfo, e.g. "Intel Xeon Processor (Cooperlake)".
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0)
      if (const auto colon = line.find(':'); colon != std::string::npos && colon + 2 <= line.size())
        return line.substr(colon + 2);
  return "unknown";
}
}  // namespace

std::string torch_version_text();  // version_torch.cpp
int torch_threads();

std::string version_text() {
  std::string s = std::string("unigap ") + build_info::version() + "\n";
  s += std::string("commit:   ") + build_info::commit() + "\n";
  s += "cpu:      " + cpu_model() + "\n";
  s += "libtorch: " + torch_version_text() + "\n";
  s += "BLAS:     " + blas_in_use() + "\n";
  if (const std::string k = blas_kernel_note(); !k.empty()) s += "kernels:  " + k + "\n";
  s += "threads:  " + std::to_string(torch_threads()) + " torch intra-op (of " +
       std::to_string(std::thread::hardware_concurrency()) + " cores)";
  return s;
}

void stamp_machine_in_provenance() {
  set_provenance_machine({{"cpu", cpu_model()},
                          {"cores", int(std::thread::hardware_concurrency())},
                          {"blas", blas_in_use()},
                          {"blas_kernels", blas_kernel_note()},
                          {"threads", torch_threads()}});
}

}  // namespace unigap::cli
