// The tests' second backend (pixel_backend.cpp): a small random model of 24x24 images,
// registered with load_model like any backend. Writes one of its checkpoint folders.
#pragma once

#include <cstdint>
#include <string>

namespace unigap::test_backend {

void write_pixel_checkpoint(const std::string& dir, uint64_t seed);

}  // namespace unigap::test_backend
