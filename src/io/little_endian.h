// Little-endian integers from bytes, as the binary formats unigap reads store them (ZIP,
// pickle opcodes, the safetensors header length).
#pragma once

#include <cstdint>

namespace unigap {

inline uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
inline uint32_t le32(const uint8_t* p) { return uint32_t(le16(p)) | uint32_t(le16(p + 2)) << 16; }
inline uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32; }

}  // namespace unigap
