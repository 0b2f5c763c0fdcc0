#include "model/without_adapter.h"

#include "common/error.h"

namespace unigap {

void WithoutAdapter::refuse(const char* what) const {
  internal_error("refuse", __FILE__, __LINE__, "the base view of " + m_.name() + " " + what + ": nothing trains, saves or loads through it");
}

}  // namespace unigap
