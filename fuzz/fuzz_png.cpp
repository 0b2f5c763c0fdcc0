// libFuzzer target: the PNG reader must reject any bad input with a UserError.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "io/png.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    unigap::decode_png(data, size, "fuzz");
  } catch (const unigap::UserError&) {
  }
  return 0;
}
