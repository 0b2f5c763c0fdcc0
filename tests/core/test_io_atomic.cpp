// Tests for io/atomic_file: overwrite semantics, the ENOSPC fault injection that
// the reliability tests rely on (old file intact, no temp files left), read_file
// errors and make_dirs.
#include "io/atomic_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/error.h"
#include "io/safetensors.h"
#include "core_test_util.h"

namespace unigap {
namespace {

// Fault injection is process-wide; make sure a failing test cannot leak it into others.
struct FaultGuard {
  explicit FaultGuard(int64_t n) { set_write_fault_after_bytes(n); }
  ~FaultGuard() { set_write_fault_after_bytes(-1); }
};

TEST(IoAtomic, WriteThenOverwrite) {
  TempDir dir;
  const std::string path = dir.file("f.txt");
  write_file_atomic(path, "first version");
  EXPECT_EQ(read_file(path), "first version");
  write_file_atomic(path, "second");
  EXPECT_EQ(read_file(path), "second");
  write_file_atomic(path, "");
  EXPECT_EQ(read_file(path), "");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"f.txt"});
}

TEST(IoAtomic, BinaryContentAndStreaming) {
  TempDir dir;
  const std::string bin("a\0b\xff", 4);
  write_file_atomic(dir.file("b"), bin);
  EXPECT_EQ(read_file(dir.file("b")), bin);
  write_file_atomic_stream(dir.file("s"), [](const std::function<void(const void*, size_t)>& sink) {
    sink("abc", 3);
    sink("", 0);
    sink("def", 3);
  });
  EXPECT_EQ(read_file(dir.file("s")), "abcdef");
}

TEST(IoAtomic, NewFileHonoursUmask) {
  // The temp file is created with 0666 & ~umask like any new file, not mkstemp's 0600.
  TempDir dir;
  const mode_t old = umask(022);
  write_file_atomic(dir.file("m"), "x");
  umask(old);
  struct stat st {};
  ASSERT_EQ(stat(dir.file("m").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(IoAtomic, FaultInjectionKeepsOldFileAndLeavesNoTemp) {
  TempDir dir;
  const std::string path = dir.file("model.bin");
  write_file_atomic(path, "old content");
  {
    FaultGuard fault(10);
    try {
      write_file_atomic(path, std::string(100, 'n'));
      FAIL() << "expected a UserError";
    } catch (const UserError& e) {
      EXPECT_CONTAINS(e.what(), "No space left on device");
      EXPECT_CONTAINS(e.what(), path);
    }
  }
  EXPECT_EQ(read_file(path), "old content");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"model.bin"});
  write_file_atomic(path, "after the fault");
  EXPECT_EQ(read_file(path), "after the fault");
}

TEST(IoAtomic, FaultCounterIsCumulative) {
  TempDir dir;
  FaultGuard fault(10);
  write_file_atomic(dir.file("a"), "123456");  // 6 of 10 bytes
  EXPECT_THROW(write_file_atomic(dir.file("b"), "123456"), UserError);
  EXPECT_TRUE(file_exists(dir.file("a")));
  EXPECT_FALSE(file_exists(dir.file("b")));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a"});
}

TEST(IoAtomic, FaultDuringStreamedSafetensorsWrite) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  SafetensorsFile f;
  f.tensors["w"].dtype = DType::U8;
  f.tensors["w"].shape = {1000};
  f.tensors["w"].bytes.assign(1000, 7);
  write_safetensors(path, f);
  const std::string before = read_file(path);
  f.tensors["w"].bytes.assign(1000, 9);
  {
    FaultGuard fault(500);
    EXPECT_THROW(write_safetensors(path, f), UserError);
  }
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"w.safetensors"});
}

TEST(IoAtomic, WriterExceptionLeavesNoTemp) {
  TempDir dir;
  write_file_atomic(dir.file("t"), "keep");
  EXPECT_THROW(write_file_atomic_stream(dir.file("t"),
                                        [](const std::function<void(const void*, size_t)>& sink) {
                                          sink("partial", 7);
                                          throw std::runtime_error("producer failed");
                                        }),
               std::runtime_error);
  EXPECT_EQ(read_file(dir.file("t")), "keep");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"t"});
}

TEST(IoAtomic, WriteIntoMissingDirectoryFails) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/f");
  try {
    write_file_atomic(path, "x");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), path);
  }
}

TEST(IoAtomic, ReadMissingFileNamesPath) {
  TempDir dir;
  const std::string path = dir.file("missing.txt");
  try {
    read_file(path);
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), path);
    EXPECT_CONTAINS(e.what(), "not found");
  }
  EXPECT_THROW(read_file(dir.path()), UserError);  // a directory is not a file
}

TEST(IoAtomic, MakeDirsNested) {
  TempDir dir;
  const std::string nested = dir.file("a/b/c");
  EXPECT_FALSE(dir_exists(nested));
  make_dirs(nested);
  EXPECT_TRUE(dir_exists(nested));
  make_dirs(nested);  // idempotent
  make_dirs(nested + "/");
  EXPECT_FALSE(file_exists(nested));
  write_file_atomic(dir.file("a/file"), "x");
  EXPECT_TRUE(file_exists(dir.file("a/file")));
  EXPECT_FALSE(dir_exists(dir.file("a/file")));
  EXPECT_THROW(make_dirs(dir.file("a/file")), UserError);
  EXPECT_THROW(make_dirs(dir.file("a/file/sub")), UserError);
}

}  // namespace
}  // namespace unigap
