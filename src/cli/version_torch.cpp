// libtorch facts for --version and the process-wide thread setting, kept in their
// own file so only it pulls in ATen.
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdlib>
#include <string>
#include <thread>

namespace unigap::cli {
std::string torch_version_text() { return TORCH_VERSION; }
int torch_threads() { return at::get_num_threads(); }

// Debian's libgomp reports omp_get_max_threads() == 1 on this machine even with two
// cores, so unless the user chose (OMP_NUM_THREADS or --threads), use every core.
void configure_threads(int requested) {
  int n = requested;
  if (n <= 0) {
    if (std::getenv("OMP_NUM_THREADS")) return;
    n = int(std::thread::hardware_concurrency());
  }
  if (n > 0) at::set_num_threads(n);
}
}  // namespace unigap::cli
