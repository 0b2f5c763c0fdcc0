// Version and commit of this build (generated at build time by cmake/build_info.cmake).
#pragma once

namespace unigap::build_info {
const char* version();
const char* commit();
}  // namespace unigap::build_info
