// libFuzzer target: the model config reader (config.json of every checkpoint, the
// "model" overrides of `pretrain --config`). Bad values must be UserErrors naming the
// field, never a crash or an uncaught exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = unigap::json::parse(std::string(reinterpret_cast<const char*>(data), size), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    auto c = unigap::ModelConfig::from_json(j, "fuzz");
    c.validate();
    (void)c.to_json();
  } catch (const unigap::UserError&) {
  }
  return 0;
}
