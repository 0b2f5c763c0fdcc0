// libFuzzer target: the torch.save reader (ZIP directory, restricted pickle machine,
// tensor reads) must reject any bad input with a UserError. An input that starts
// like a ZIP archive is the checkpoint file itself. Any other input is a pickle: it is
// wrapped as `archive/data.pkl` next to storage records "0".."15" of 256 bytes each,
// because the CRC-32 of a ZIP entry would otherwise stop nearly every mutation of
// the pickle before the machine sees it. The reader reads by path, so the file lives
// in memory (memfd) and is opened through /proc/self/fd.
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "io/torch_checkpoint.h"

namespace {

void put(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i, v >>= 8) s += char(v & 0xff);
}

// Stored entries, no ZIP64: the smallest archive the reader accepts.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, cd;
  for (const auto& [name, data] : entries) {
    const uint64_t crc = crc32(0, reinterpret_cast<const Bytef*>(data.data()), uInt(data.size())), at = out.size();
    put(out, 0x04034b50, 4), put(out, 20, 2), put(out, 0, 6), put(out, 0, 4), put(out, crc, 4);
    put(out, data.size(), 4), put(out, data.size(), 4), put(out, name.size(), 2), put(out, 0, 2);
    out += name + data;
    put(cd, 0x02014b50, 4), put(cd, 20, 2), put(cd, 20, 2), put(cd, 0, 6), put(cd, 0, 4), put(cd, crc, 4);
    put(cd, data.size(), 4), put(cd, data.size(), 4), put(cd, name.size(), 2), put(cd, 0, 12), put(cd, at, 4);
    cd += name;
  }
  const uint64_t cd_offset = out.size();
  out += cd;
  put(out, 0x06054b50, 4), put(out, 0, 4), put(out, entries.size(), 2), put(out, entries.size(), 2);
  put(out, cd.size(), 4), put(out, cd_offset, 4), put(out, 0, 2);
  return out;
}

std::string wrap_pickle(const uint8_t* data, size_t size) {
  std::vector<std::pair<std::string, std::string>> entries = {
      {"archive/data.pkl", std::string(reinterpret_cast<const char*>(data), size)}};
  std::string storage(256, '\0');
  for (size_t i = 0; i < storage.size(); ++i) storage[i] = char(i * 7 + 1);
  for (int key = 0; key < 16; ++key) entries.emplace_back("archive/data/" + std::to_string(key), storage);
  return make_zip(entries);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("fuzz_torch_checkpoint", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const bool is_zip = size >= 4 && data[0] == 'P' && data[1] == 'K';
  const std::string wrapped = is_zip ? std::string() : wrap_pickle(data, size);
  const void* bytes = is_zip ? static_cast<const void*>(data) : wrapped.data();
  const size_t n = is_zip ? size : wrapped.size();
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, bytes, n, 0) != ssize_t(n)) std::abort();
  try {
    const unigap::TorchCheckpoint c = unigap::TorchCheckpoint::open(path);
    for (const auto& t : c.tensors()) c.read(t.first);
  } catch (const unigap::UserError&) {
  }
  return 0;
}
