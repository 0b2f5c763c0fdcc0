// libFuzzer target: prompt-metadata JSON Lines (GenEval schema) parsed and validated
// against the default world; bad lines are UserErrors, never crashes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "io/jsonl.h"
#include "world/metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const unigap::WorldSpec spec = unigap::WorldSpec::defaults();
  std::vector<unigap::JsonlError> errors;
  try {
    for (auto& line : unigap::parse_jsonl(std::string(reinterpret_cast<const char*>(data), size), "fuzz", &errors)) {
      try {
        auto m = unigap::Metadata::from_json(line.value, spec, "fuzz");
        (void)m.to_json();
      } catch (const unigap::UserError&) {
      }
    }
  } catch (const unigap::UserError&) {
  }
  return 0;
}
