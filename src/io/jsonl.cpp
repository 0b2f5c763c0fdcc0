// JSON Lines and JSON file I/O. Readers point at the exact file:line of a bad
// record; metrics are appended one fsync'd line at a time so a crash loses at
// most the line being written, and a torn last line cannot swallow the next one.
#include "io/jsonl.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "io/atomic_file.h"

namespace unigap {

namespace {

// nlohmann's what() starts with "[json.exception.parse_error.101] "; the id helps nobody.
std::string strip_json_prefix(const std::string& what) {
  const auto close = what.find("] ");
  return (what.rfind("[json.exception.", 0) == 0 && close != std::string::npos) ? what.substr(close + 2) : what;
}

bool is_blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\v' && c != '\f') return false;
  }
  return true;
}

// Serialises without letting nlohmann's type_error (invalid UTF-8 in a string) escape
// as a non-UserError.
std::string dump_or_throw(const json& v, int indent, const std::string& where) {
  try {
    return v.dump(indent);
  } catch (const json::exception& e) {
    throw UserError("cannot serialise JSON: " + strip_json_prefix(e.what()), where, "strings must be valid UTF-8");
  }
}

void write_all_fd(int fd, const std::string& s, const std::string& path) {
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw UserError(std::string("append failed: ") + std::strerror(errno), path);
    }
    p += n;
    left -= size_t(n);
  }
}

}  // namespace

std::vector<JsonlLine> parse_jsonl(const std::string& text, const std::string& origin, std::vector<JsonlError>* errors) {
  std::vector<JsonlLine> out;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    // Files edited on Windows end lines with CRLF; the CR is not part of the value.
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (is_blank(line)) continue;
    try {
      out.push_back({line_no, json::parse(line.begin(), line.end())});
    } catch (const json::exception& e) {
      // Each line is parsed on its own, so nlohmann's "line 1" is noise next to our
      // file line number; keep only the column.
      std::string detail = strip_json_prefix(e.what());
      const std::string line_one = "at line 1, column";
      if (const auto at = detail.find(line_one); at != std::string::npos) detail.replace(at, line_one.size(), "at column");
      const std::string msg = "malformed JSON: " + detail;
      if (!errors) throw UserError(msg, origin + ":" + std::to_string(line_no));
      errors->push_back({line_no, msg});
    }
  }
  return out;
}

std::vector<JsonlLine> read_jsonl(const std::string& path) { return parse_jsonl(read_file(path), path, nullptr); }

std::vector<JsonlLine> read_jsonl_tolerant(const std::string& path, std::vector<JsonlError>& errors) {
  return parse_jsonl(read_file(path), path, &errors);
}

void write_jsonl(const std::string& path, const std::vector<json>& values) {
  std::string text;
  for (const auto& v : values) text += dump_or_throw(v, -1, path) + '\n';
  write_file_atomic(path, text);
}

void append_jsonl(const std::string& path, const json& value) {
  std::string line = dump_or_throw(value, -1, path) + '\n';
  if (!writes_enabled()) return;
  // O_APPEND: every write lands at the current end even if another process appends too.
  // O_RDWR (not O_WRONLY) so we can look at the last byte below.
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) throw UserError(std::string("cannot open for appending: ") + std::strerror(errno), path);
  try {
    // If an earlier writer died mid-line, start on a fresh line: the torn line stays
    // one malformed record instead of corrupting this one as well.
    struct stat st {};
    char last = '\n';
    if (::fstat(fd, &st) == 0 && st.st_size > 0 && ::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
      line.insert(line.begin(), '\n');
    }
    // One write() call for the whole line, so concurrent appenders do not interleave.
    write_all_fd(fd, line, path);
    if (::fsync(fd) != 0) throw UserError(std::string("fsync failed: ") + std::strerror(errno), path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw UserError(std::string("close failed: ") + std::strerror(errno), path);
}

void throw_bad_field(const std::string& label, const char* key, const json& value, const std::string& origin) {
  throw UserError(label + "'" + key + "' has the wrong type or is out of range: " + value.dump(), origin);
}

void throw_missing_field(const char* key, const std::string& origin) {
  throw UserError(std::string("missing field '") + key + "'", origin);
}

json read_json(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw UserError("malformed JSON: " + strip_json_prefix(e.what()), path);
  }
}

void write_json(const std::string& path, const json& value) {
  write_file_atomic(path, dump_or_throw(value, 2, path) + '\n');
}

}  // namespace unigap
