// libFuzzer target: world spec JSON (the config reader of the world) must be refused
// with a UserError naming the field, never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "world/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = unigap::json::parse(std::string(reinterpret_cast<const char*>(data), size), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    unigap::WorldSpec::from_json(j, "fuzz");
  } catch (const unigap::UserError&) {
  }
  return 0;
}
