// ZIP directory and stored-entry reading for io/torch_checkpoint. The file is
// untrusted: every length is checked against the bytes that remain before it is used.
#include "io/zip_reader.h"

#include <zlib.h>

#include <algorithm>

#include "common/error.h"
#include "io/little_endian.h"

namespace unigap {
namespace {

// A central directory takes ~80 bytes per entry.
constexpr uint64_t kMaxDirectoryBytes = 64ull << 20;

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kSaturated32 = 0xFFFFFFFF;
const char* const kNotZipHint =
    "torch.save has written ZIP archives since torch 1.6; re-save older files with a recent torch";

// Replaces the saturated 32-bit fields of a central header by the 64-bit values of
// its ZIP64 extra field (id 1), which lists only those, in this order.
void apply_zip64_extra(const uint8_t* extra, size_t len, ZipEntry& e, const std::string& name,
                       const std::string& path) {
  for (size_t pos = 0; pos + 4 <= len;) {
    const size_t id = le16(extra + pos), n = le16(extra + pos + 2);
    if (n > len - pos - 4) break;
    if (id == 1) {
      const uint8_t* p = extra + pos + 4;
      size_t left = n;
      for (uint64_t* field : {&e.size, &e.compressed_size, &e.local_offset}) {
        if (*field != kSaturated32) continue;
        if (left < 8) break;
        *field = le64(p);
        p += 8;
        left -= 8;
      }
      break;
    }
    pos += 4 + n;
  }
  if (e.size == kSaturated32 || e.compressed_size == kSaturated32 || e.local_offset == kSaturated32) {
    throw UserError("ZIP entry '" + name + "': expected a ZIP64 extra field with its 64-bit sizes, found none", path);
  }
}

}  // namespace

ZipDirectory ZipDirectory::read(const RandomAccessFile& f) {
  const std::string& path = f.path();
  const uint64_t size = f.size();
  if (size < 22) {
    throw UserError("not a ZIP archive: " + std::to_string(size) +
                        " bytes, fewer than an end-of-central-directory record (22 bytes)",
                    path, kNotZipHint);
  }
  // The end record is followed only by its comment (at most 65535 bytes): search back from the end.
  const uint64_t tail_len = std::min<uint64_t>(size, 22 + 0xFFFF);
  std::vector<uint8_t> tail(tail_len);
  f.read(size - tail_len, tail.data(), tail.size());
  int64_t at = int64_t(tail_len) - 22;
  while (at >= 0 && !(le32(&tail[at]) == kEndSig && at + 22 + le16(&tail[at + 20]) <= int64_t(tail_len))) --at;
  if (at < 0) {
    throw UserError("not a ZIP archive: no end-of-central-directory record (truncated file, or the legacy format?)",
                    path, kNotZipHint);
  }
  const uint8_t* end = &tail[at];
  const uint64_t end_pos = size - tail_len + uint64_t(at);
  bool multi_disk = le16(end + 4) != 0 || le16(end + 6) != 0;
  uint64_t count = le16(end + 10), cd_size = le32(end + 12), cd_offset = le32(end + 16);
  if ((count == 0xFFFF || cd_size == kSaturated32 || cd_offset == kSaturated32) && end_pos >= 20) {
    uint8_t loc[20];
    f.read(end_pos - 20, loc, sizeof loc, "ZIP64 locator");
    if (le32(loc) != kZip64LocatorSig) {
      throw UserError("the ZIP end record's fields are saturated, but no ZIP64 locator precedes it", path);
    }
    uint8_t rec[56];
    f.read(le64(loc + 8), rec, sizeof rec, "ZIP64 end-of-central-directory record");
    if (le32(rec) != kZip64EndSig) {
      throw UserError("no ZIP64 end-of-central-directory record where its locator points", path);
    }
    multi_disk = multi_disk || le32(rec + 16) != 0 || le32(rec + 20) != 0;
    count = le64(rec + 32);
    cd_size = le64(rec + 40);
    cd_offset = le64(rec + 48);
  }
  if (multi_disk) throw UserError("multi-disk ZIP archives are not supported", path);
  if (cd_offset > size || cd_size > size - cd_offset || cd_size > kMaxDirectoryBytes || count > cd_size / 46) {
    throw UserError("bad ZIP central directory: " + std::to_string(count) + " entries in " + std::to_string(cd_size) +
                        " bytes at offset " + std::to_string(cd_offset) + ", expected them within the " +
                        std::to_string(size) + "-byte file at 46 bytes or more each (truncated file?)",
                    path);
  }
  std::vector<uint8_t> cd(cd_size);
  f.read(cd_offset, cd.data(), cd.size(), "ZIP central directory");
  ZipDirectory dir;
  size_t pos = 0;
  for (uint64_t k = 0; k < count; ++k) {
    const uint8_t* h = cd.data() + pos;
    if (cd.size() - pos < 46 || le32(h) != kCentralSig) {
      throw UserError("bad ZIP central directory: expected entry " + std::to_string(k) + " of " +
                          std::to_string(count) + " at directory offset " + std::to_string(pos),
                      path);
    }
    const size_t name_len = le16(h + 28), extra_len = le16(h + 30), comment_len = le16(h + 32);
    if (cd.size() - pos - 46 < name_len + extra_len + comment_len) {
      throw UserError("bad ZIP central directory: entry " + std::to_string(k) + " runs past its end", path);
    }
    const std::string name(reinterpret_cast<const char*>(h + 46), name_len);
    ZipEntry e;
    e.name = name;
    e.flags = le16(h + 8);
    e.method = le16(h + 10);
    e.crc32 = le32(h + 16);
    e.compressed_size = le32(h + 20);
    e.size = le32(h + 24);
    e.local_offset = le32(h + 42);
    apply_zip64_extra(h + 46 + name_len, extra_len, e, name, path);
    if (!dir.entries_.emplace(name, e).second) throw UserError("ZIP entry '" + name + "' appears twice in the directory", path);
    pos += 46 + name_len + extra_len + comment_len;
  }
  return dir;
}

const ZipEntry* ZipDirectory::find(const std::string& name) const {
  const auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

// Where the entry's bytes begin. The local header's extra field may differ from the
// directory's: torch pads it so that storage records start 64-byte aligned.
uint64_t zip_entry_data_offset(const RandomAccessFile& f, const ZipEntry& e) {
  const std::string& name = e.name;
  const std::string what = "ZIP entry '" + name + "'";
  if (e.flags & 1) throw UserError(what + " is encrypted", f.path());
  if (e.method != 0 || e.compressed_size != e.size) {
    throw UserError(what + " is compressed (method " + std::to_string(e.method) +
                        "): expected a stored entry (method 0), as torch.save writes",
                    f.path(), "re-save the checkpoint with torch.save instead of re-zipping it");
  }
  uint8_t h[30];
  f.read(e.local_offset, h, sizeof h, what);
  if (le32(h) != kLocalSig) {
    throw UserError(what + ": no local header at offset " + std::to_string(e.local_offset), f.path());
  }
  std::string local_name(le16(h + 26), '\0');
  f.read(e.local_offset + 30, local_name.data(), local_name.size(), what);
  if (local_name != name) throw UserError(what + ": its local header names '" + local_name + "' instead", f.path());
  const uint64_t begin = e.local_offset + 30 + local_name.size() + le16(h + 28);
  if (begin > f.size() || e.size > f.size() - begin) {
    throw UserError(what + ": its " + std::to_string(e.size) + " bytes at offset " + std::to_string(begin) +
                        " pass the end of the " + std::to_string(f.size()) + "-byte file (truncated file?)",
                    f.path());
  }
  return begin;
}

std::vector<uint8_t> read_crc_checked(const RandomAccessFile& f, uint64_t offset, uint64_t n, uint32_t crc,
                                      const std::string& what) {
  std::vector<uint8_t> out(n);
  f.read(offset, out.data(), out.size(), what);
  uLong c = crc32(0L, Z_NULL, 0);
  for (uint64_t done = 0; done < n;) {  // zlib takes 32-bit lengths
    const uInt chunk = uInt(std::min<uint64_t>(n - done, 1u << 30));
    c = crc32(c, out.data() + done, chunk);
    done += chunk;
  }
  if (uint32_t(c) != crc) {
    throw UserError(what + ": CRC-32 mismatch (the ZIP directory says " + std::to_string(crc) + ", the bytes give " +
                        std::to_string(uint32_t(c)) + "): the file is corrupt",
                    f.path());
  }
  return out;
}

}  // namespace unigap
