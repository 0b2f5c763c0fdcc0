// Atomic file writes and small file-system helpers. Every result file unigap
// writes goes through write_file_atomic_stream, so a crash or a full disk leaves
// either the old file or the new one, never a torn one, and no stray temp files.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include "common/error.h"

namespace unigap {

namespace {

// Fault injection state. The counter is process-wide (not per file) so a test can
// say "the disk fills up after N bytes" across a sequence of writes.
std::atomic<bool> g_writes_enabled{true};
std::atomic<int64_t> g_fault_limit{-1};
std::atomic<int64_t> g_fault_written{0};

// The same faults for whole processes (the CLI in reliability tests), from the environment:
//   UNIGAP_FAIL_WRITES_AFTER_BYTES=N  atomic writes fail with ENOSPC once N bytes are written;
//   UNIGAP_KILL_AFTER_BYTES=N         the process SIGKILLs itself in the middle of the write
//                                     that crosses N bytes (a crash with a half-written temp file).
int64_t env_bytes(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (*end != '\0' || n < 0) throw UserError(std::string("invalid value '") + v + "'", std::string("environment variable ") + name,
                                           "a byte count >= 0");
  return n;
}
std::atomic<int64_t> g_kill_limit{-2};  // -2: environment not read yet
std::atomic<int64_t> g_kill_written{0};
void read_fault_env() {
  if (g_kill_limit.load() != -2) return;
  g_kill_limit.store(env_bytes("UNIGAP_KILL_AFTER_BYTES"));
  const int64_t fail = env_bytes("UNIGAP_FAIL_WRITES_AFTER_BYTES");
  if (fail >= 0 && g_fault_limit.load() < 0) g_fault_limit.store(fail);
}

std::string os_error(int err) { return std::strerror(err); }

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The temp file lives next to the target so rename() stays within one file system
// (rename across file systems is not atomic; it fails with EXDEV). Created with
// O_EXCL and mode 0666 so the umask applies as for any ordinary new file
// (mkstemp would force 0600).
int create_temp(const std::string& path, std::string& temp_path) {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  const std::string dir = parent_dir(path);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint64_t tag = (uint64_t(rd()) << 32) ^ counter.fetch_add(1) ^ uint64_t(getpid());
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".tmp.%016llx", static_cast<unsigned long long>(tag));
    temp_path = dir + "/." + base_name(path) + suffix;
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST) {
      throw UserError("cannot create temporary file " + temp_path + ": " + os_error(errno), path,
                      "check that the directory exists and is writable");
    }
  }
  throw UserError("cannot create a unique temporary file in " + dir, path);
}

// Writes all bytes, retrying on EINTR and short writes, and applies fault injection.
void write_all(int fd, const void* data, size_t size, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  read_fault_env();
  if (const int64_t kill_at = g_kill_limit.load(); kill_at >= 0) {
    const int64_t before = g_kill_written.fetch_add(int64_t(size));
    if (before + int64_t(size) > kill_at) {
      const size_t part = size_t(std::max<int64_t>(0, kill_at - before));
      if (part > 0) {  // best effort: the point is a torn temp file
        [[maybe_unused]] const ssize_t w = ::write(fd, p, part);
      }
      ::raise(SIGKILL);
    }
  }
  bool fault = false;
  const int64_t limit = g_fault_limit.load();
  if (limit >= 0) {
    const int64_t before = g_fault_written.fetch_add(int64_t(size));
    const int64_t allowed = std::max<int64_t>(0, limit - before);
    if (int64_t(size) > allowed) {
      size = size_t(allowed);  // write what "fits on the disk", then fail as the OS would
      fault = true;
    }
  }
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw UserError("write failed: " + os_error(errno), path);
    }
    p += n;
    size -= size_t(n);
  }
  if (fault) throw UserError("write failed: " + os_error(ENOSPC) + " (injected fault)", path);
}

// fsync of the directory makes the rename itself durable, not just the file data.
void fsync_dir(const std::string& dir, const std::string& path) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw UserError("cannot open directory " + dir + " to sync it: " + os_error(errno), path);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems do not support fsync on directories; the rename has happened
  // already, so only report real I/O errors.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) {
    throw UserError("cannot sync directory " + dir + ": " + os_error(err), path);
  }
}

}  // namespace

void set_writes_enabled(bool on) { g_writes_enabled = on; }
bool writes_enabled() { return g_writes_enabled; }

void set_write_fault_after_bytes(int64_t n) {
  read_fault_env();  // so that a later first write does not override the test's setting
  // Resetting the counter makes the limit relative to now, which is what a test means.
  g_fault_written.store(0);
  g_fault_limit.store(n < 0 ? -1 : n);
}

void write_file_atomic(const std::string& path, std::string_view content) {
  write_file_atomic_stream(path, [&](const std::function<void(const void*, size_t)>& sink) {
    sink(content.data(), content.size());
  });
}

void write_file_atomic_stream(const std::string& path,
                              const std::function<void(const std::function<void(const void*, size_t)>& sink)>& writer) {
  if (path.empty()) throw UserError("empty output path");
  if (!g_writes_enabled) return;
  std::string temp_path;
  int fd = create_temp(path, temp_path);
  // Any failure (ours, the OS's or the writer's own exception) must remove the temp
  // file and leave the target untouched.
  try {
    writer([&](const void* data, size_t size) { write_all(fd, data, size, path); });
    if (::fsync(fd) != 0) throw UserError("fsync failed: " + os_error(errno), path);
    const int rc = ::close(fd);
    fd = -1;
    // close() can report a deferred write error (e.g. on NFS).
    if (rc != 0) throw UserError("close failed: " + os_error(errno), path);
    if (::rename(temp_path.c_str(), path.c_str()) != 0) {
      throw UserError("cannot rename " + temp_path + " over the target: " + os_error(errno), path);
    }
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp_path.c_str());
    throw;
  }
  fsync_dir(parent_dir(path), path);
}

std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw UserError("file not found", path, "check the path");
    throw UserError("cannot open file: " + os_error(err), path);
  }
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      throw UserError("expected a file, found a directory", path);
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(size_t(st.st_size));
  }
  // Read until EOF rather than trusting st_size: the file may be a pipe or still growing.
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw UserError("read failed: " + os_error(err), path);
    }
    out.append(buf, size_t(n));
  }
  ::close(fd);
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
}

bool dir_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const std::string& path) {
  if (path.empty()) throw UserError("empty directory path");
  if (!g_writes_enabled) return;
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw UserError("cannot create directory: " + ec.message(), path);
  // create_directories reports success when the path already exists, even as a file.
  if (!dir_exists(path)) throw UserError("cannot create directory: a file with that name exists", path);
}

}  // namespace unigap
