// Atomic file writes: write to a temp file in the same directory, fsync, rename
// over the target, fsync the directory. A reader sees the old file or the new
// one, never a half-written one; on failure (e.g. disk full) the old file is intact
// and a UserError names the path and the OS error.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace unigap {

void write_file_atomic(const std::string& path, std::string_view content);
// Streams content through `writer`, which calls `sink(data, size)` any number of times.
void write_file_atomic_stream(const std::string& path,
                              const std::function<void(const std::function<void(const void*, size_t)>& sink)>& writer);
// Reads a whole file; UserError naming the path if missing or unreadable.
std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
bool dir_exists(const std::string& path);
// mkdir -p; UserError on failure.
void make_dirs(const std::string& path);

// Fault injection for reliability tests: when set >= 0, an atomic write fails with
// ENOSPC after writing this many bytes in total (process-wide). -1 disables.
// Processes read the same from UNIGAP_FAIL_WRITES_AFTER_BYTES; UNIGAP_KILL_AFTER_BYTES
// makes the process SIGKILL itself in the middle of the write that crosses that count.
void set_write_fault_after_bytes(int64_t n);

// Data-parallel runs (dist/dist.h): every rank runs the same program and rank 0
// alone writes. On the other ranks writes are switched off and every write, append,
// mkdir and delete of the io layer (and of the checkpointer) is skipped: rank 0 makes
// the same one. Reads are unaffected, so a resume reads what rank 0 wrote.
void set_writes_enabled(bool on);
bool writes_enabled();

}  // namespace unigap
