// libtorch facts for --version and the process-wide thread setting, kept in their
// own file so only it pulls in ATen.
#include <ATen/Parallel.h>
#include <torch/version.h>

#include "model/torch_runtime.h"

#include <string>

namespace unigap::cli {
std::string torch_version_text() { return TORCH_VERSION; }
int torch_threads() { return at::get_num_threads(); }

void configure_threads(int requested) { set_torch_threads(requested); }
}  // namespace unigap::cli
