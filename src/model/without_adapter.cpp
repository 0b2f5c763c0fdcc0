#include "model/without_adapter.h"

#include "common/error.h"

namespace unigap {

void WithoutAdapter::refuse(const char* what) const {
  UNIGAP_ASSERT(false, "the base view of " + m_.name() + " " + what + ": nothing trains, saves or loads through it");
  throw std::logic_error("unreachable");
}

}  // namespace unigap
