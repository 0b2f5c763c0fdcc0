// libFuzzer target: the safetensors reader must reject any bad input with a UserError.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    unigap::decode_safetensors(data, size, "fuzz");
  } catch (const unigap::UserError&) {
  }
  return 0;
}
