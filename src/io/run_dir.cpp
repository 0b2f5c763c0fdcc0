// Run directories: config.json, metrics.jsonl and summary.json, each stamped with
// provenance so a result can always be traced to the build and machine that made it.
#include "io/run_dir.h"

#include <unistd.h>

#include <cstring>
#include <ctime>

#include "common/build_info.h"
#include "io/atomic_file.h"

namespace unigap {

namespace {

// Objects get a "provenance" key next to their own; anything else is wrapped, so the
// provenance is never lost and the caller's value is never altered.
json with_provenance(const json& value) {
  if (value.is_object()) {
    json out = value;
    out["provenance"] = provenance();
    return out;
  }
  return json{{"value", value}, {"provenance", provenance()}};
}

}  // namespace

RunDir::RunDir(std::string path) : path_(std::move(path)) {
  // Trailing slashes would double up in file(); "/" itself must stay as it is.
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  make_dirs(path_);
}

std::string RunDir::file(const std::string& name) const { return path_ == "/" ? "/" + name : path_ + "/" + name; }

bool RunDir::has(const std::string& name) const { return file_exists(file(name)); }

void RunDir::write_config(const json& config) const { write_json(file("config.json"), with_provenance(config)); }

void RunDir::append_metric(const json& record) const { append_jsonl(file("metrics.jsonl"), record); }

void RunDir::write_summary(const json& summary) const { write_json(file("summary.json"), with_provenance(summary)); }

json provenance() {
  char time_buf[32] = "unknown";
  const std::time_t now = std::time(nullptr);
  std::tm tm {};
  if (gmtime_r(&now, &tm)) std::strftime(time_buf, sizeof time_buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  char host[256] = {};
  // gethostname may truncate without a terminator; the buffer keeps its last byte 0.
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "unknown");
  return json{{"version", build_info::version()},
              {"commit", build_info::commit()},
              {"time_utc", time_buf},
              {"host", host}};
}

}  // namespace unigap
