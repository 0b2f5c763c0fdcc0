// Reading a ZIP archive in place, as torch.save writes one: the central directory
// (ZIP64 included), then for a stored (uncompressed) entry the position of its
// bytes behind its local header, and those bytes checked against their CRC-32.
// Compressed, encrypted and multi-disk archives are refused. The file is untrusted:
// every malformed input is a UserError naming it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/random_access_file.h"

namespace unigap {

// One entry as the central directory describes it (ZIP64 sizes already applied).
struct ZipEntry {
  std::string name;
  uint64_t local_offset = 0;  // position of the entry's local header in the file
  uint64_t size = 0, compressed_size = 0;
  uint32_t crc32 = 0;
  uint16_t method = 0;  // 0: stored
  uint16_t flags = 0;   // bit 0: encrypted
};

class ZipDirectory {
 public:
  // Finds the end record (or its ZIP64 form) and reads every central header; no
  // entry's data is read. UserError if the file is no ZIP archive, the directory is
  // malformed or larger than 64 MB, or a name appears twice.
  static ZipDirectory read(const RandomAccessFile& f);

  // By name, in no particular order.
  const std::unordered_map<std::string, ZipEntry>& entries() const { return entries_; }
  // nullptr if the archive has no entry of that name.
  const ZipEntry* find(const std::string& name) const;

 private:
  std::unordered_map<std::string, ZipEntry> entries_;
};

// Where a stored entry's bytes begin in the file, read from its local header.
// UserError if the entry is encrypted or compressed, its local header is missing or
// names another entry, or its bytes pass the end of the file.
uint64_t zip_entry_data_offset(const RandomAccessFile& f, const ZipEntry& e);

// Reads n bytes at `offset` and checks them against `crc` (a CRC-32 from the ZIP
// directory). UserError naming `what` on a short read or a mismatch.
std::vector<uint8_t> read_crc_checked(const RandomAccessFile& f, uint64_t offset, uint64_t n, uint32_t crc,
                                      const std::string& what);

}  // namespace unigap
