// PNG encode/decode through libpng's simplified API. Any PNG colour type is
// decoded to 8-bit RGB; alpha, if any, is composited onto black in linear light
// (see png.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/image.h"

namespace unigap {

std::vector<uint8_t> encode_png(const Image& img);
void write_png(const std::string& path, const Image& img);  // atomic
// UserError naming `origin` if the data is not a valid PNG.
Image decode_png(const uint8_t* data, size_t size, const std::string& origin);
Image read_png(const std::string& path);

}  // namespace unigap
