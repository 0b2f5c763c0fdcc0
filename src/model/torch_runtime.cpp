#include "model/torch_runtime.h"

#include <ATen/Context.h>

namespace unigap {

void configure_torch_runtime() { at::globalContext().setUserEnabledMkldnn(false); }

OneDnnConvolutions::OneDnnConvolutions(bool on) : before_(at::globalContext().userEnabledMkldnn()) {
  at::globalContext().setUserEnabledMkldnn(on);
}

OneDnnConvolutions::~OneDnnConvolutions() { at::globalContext().setUserEnabledMkldnn(before_); }

}  // namespace unigap
