// Positioned-read file: open, move, close, and reads of exact ranges that fail
// with a UserError (naming the file) instead of returning short.
#include "io/random_access_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace unigap {

RandomAccessFile RandomAccessFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UserError(std::string("cannot open for reading: ") + std::strerror(errno), path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw UserError("expected a regular file, found something else (a directory?)", path);
  }
  return RandomAccessFile(fd, path, uint64_t(st.st_size));
}

RandomAccessFile::RandomAccessFile(RandomAccessFile&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), size_(other.size_) {
  other.fd_ = -1;
}

RandomAccessFile& RandomAccessFile::operator=(RandomAccessFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    size_ = other.size_;
    other.fd_ = -1;
  }
  return *this;
}

RandomAccessFile::~RandomAccessFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RandomAccessFile::read(uint64_t offset, void* out, size_t n, const std::string& what) const {
  const std::string label = what.empty() ? "" : what + ": ";
  if (offset > size_ || n > size_ - offset) {
    throw UserError(label + "expected " + std::to_string(n) + " bytes at offset " + std::to_string(offset) +
                        ", but the file has " + std::to_string(size_) + " bytes (truncated file?)",
                    path_);
  }
  auto* p = static_cast<char*>(out);
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, p + done, n - done, off_t(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw UserError(label + "read failed: " + std::strerror(errno), path_);
    if (got == 0) {
      throw UserError(label + "unexpected end of file at offset " + std::to_string(offset + done) +
                          ": the file shrank since it was opened",
                      path_);
    }
    done += size_t(got);
  }
}

}  // namespace unigap
