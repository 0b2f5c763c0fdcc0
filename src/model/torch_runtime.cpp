#include "model/torch_runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <cstdlib>
#include <thread>

namespace unigap {

void configure_torch_runtime() { at::globalContext().setUserEnabledMkldnn(false); }

void set_torch_threads(int requested) {
  int n = requested;
  if (n <= 0) {
    if (std::getenv("OMP_NUM_THREADS")) return;
    n = int(std::thread::hardware_concurrency());
  }
  if (n > 0) at::set_num_threads(n);
}

OneDnnConvolutions::OneDnnConvolutions(bool on) : before_(at::globalContext().userEnabledMkldnn()) {
  at::globalContext().setUserEnabledMkldnn(on);
}

OneDnnConvolutions::~OneDnnConvolutions() { at::globalContext().setUserEnabledMkldnn(before_); }

}  // namespace unigap
