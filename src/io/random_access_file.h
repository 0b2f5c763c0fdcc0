// A read-only file read by positioned reads (pread), for readers that fetch a few
// ranges of a large weight file instead of loading it whole: io/lazy_safetensors
// and io/torch_checkpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace unigap {

// A read-only file read by pread: no shared file position, so const reads from
// several threads are safe. Move-only; closes the file on destruction.
class RandomAccessFile {
 public:
  // UserError naming the path if it is missing, not a regular file or unreadable.
  static RandomAccessFile open(const std::string& path);
  RandomAccessFile(RandomAccessFile&& other) noexcept;
  RandomAccessFile& operator=(RandomAccessFile&& other) noexcept;
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;
  ~RandomAccessFile();

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }  // in bytes, as seen at open
  // Reads exactly n bytes at `offset`. UserError naming the path (and `what`, e.g.
  // "tensor 'w'") if the range passes the end of the file or the read fails.
  void read(uint64_t offset, void* out, size_t n, const std::string& what = "") const;

 private:
  RandomAccessFile(int fd, std::string path, uint64_t size) : fd_(fd), path_(std::move(path)), size_(size) {}
  int fd_ = -1;
  std::string path_;
  uint64_t size_ = 0;
};

}  // namespace unigap
