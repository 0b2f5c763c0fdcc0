// Run directories: config.json, metrics.jsonl and summary.json, each stamped with
// provenance so a result can always be traced to the build and machine that made it.
#include "io/run_dir.h"

#include <unistd.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <utility>

#include "common/build_info.h"
#include "common/error.h"
#include "common/progress.h"
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

// A config value for a message: its JSON text, cut short.
std::string short_dump(const json& v) {
  std::string s = v.dump();
  return s.size() > 120 ? s.substr(0, 117) + "..." : s;
}

// Temp files of atomic writes are named ".<name>.tmp.<tag>" (io/atomic_file.cpp).
bool is_stray_temp(const std::string& name) {
  return name.size() > 1 && name[0] == '.' && name.find(".tmp.") != std::string::npos;
}

}  // namespace

RunDir::RunDir(std::string path) : path_(std::move(path)) {
  // Trailing slashes would double up in file(); "/" itself must stay as it is.
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  std::error_code ec;
  existed_ = std::filesystem::is_directory(path_, ec);
  make_dirs(path_);
}

std::string RunDir::file(const std::string& name) const { return path_ == "/" ? "/" + name : path_ + "/" + name; }

bool RunDir::has(const std::string& name) const { return file_exists(file(name)); }

void RunDir::write_config(const json& config) const { write_json(file("config.json"), with_provenance(config)); }

void RunDir::append_metric(const json& record) const { append_jsonl(file("metrics.jsonl"), record); }

void RunDir::write_summary(const json& summary) const { write_json(file("summary.json"), with_provenance(summary)); }

int RunDir::rewind_metrics(const std::function<bool(const json&)>& keep) const {
  const std::string path = file("metrics.jsonl");
  if (!file_exists(path)) return 0;
  const std::string text = read_file(path);
  std::vector<JsonlError> errors;
  auto lines = parse_jsonl(text, path, &errors);
  // Only the last line can be torn by a crash (appends are single writes + fsync).
  size_t last_line = 0;
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n' && i + 1 < text.size()) ++last_line;
  ++last_line;
  for (auto& e : errors)
    if (e.line != last_line)
      throw UserError("malformed metrics record at line " + std::to_string(e.line) + ": " + e.message, path,
                      "the file was edited or corrupted; move it away to resume");
  std::vector<json> kept;
  int dropped = int(errors.size());
  for (auto& l : lines) {
    bool k = false;
    try {
      if (!l.value.is_object()) throw UserError("not a JSON object");
      k = keep(l.value);
    } catch (const std::exception& e) {  // a record of the wrong shape (a field of another type)
      throw UserError("metrics record " + l.value.dump().substr(0, 80) + " is not what this run writes: " + e.what(),
                      path + ":" + std::to_string(l.line), "the file was edited or corrupted; move it away to resume");
    }
    if (k) kept.push_back(l.value);
    else ++dropped;
  }
  if (dropped > 0) write_jsonl(path, kept);
  return dropped;
}

int RunDir::remove_stray_temps() const {
  namespace fs = std::filesystem;
  int n = 0;
  std::error_code ec;
  if (!writes_enabled()) return 0;
  std::vector<fs::path> stray;
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    if (is_stray_temp(name)) stray.push_back(it->path());
  }
  for (auto& p : stray)
    if (fs::remove(p, ec)) ++n;
  return n;
}

bool RunDir::interrupted_before_start() const {
  namespace fs = std::filesystem;
  if (!existed_) return false;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    if (!is_stray_temp(it->path().filename().string())) return false;
  }
  return !ec;
}

RunStart RunDir::start(const json& config, const StartOptions& opt) {
  const auto agree = [&](bool mine) { return opt.agree ? opt.agree(mine) : mine; };
  const std::string command = config.value("command", std::string("unigap"));
  const std::string cfg_path = file("config.json");
  if (agree(has("config.json"))) {
    if (!opt.resume)
      throw UserError("the run directory already holds " + std::string(command == "eval" || command == "improve" ? "an " : "a ") +
                          command + " run",
                      path_, "pass --resume to continue it, or use a new --out");
    json saved = read_json(cfg_path), mine = config;
    if (!saved.is_object()) throw UserError("config.json is not a JSON object", cfg_path, "move the folder away and start again");
    saved.erase("provenance");
    for (auto& k : opt.free_keys) saved.erase(k), mine.erase(k);
    for (auto& [k, v] : mine.items())
      if (!saved.contains(k) || saved[k] != v)
        throw UserError("the run was started with another config: '" + k + "' was " +
                            (saved.contains(k) ? short_dump(saved[k]) : std::string("absent")) + ", now " + short_dump(v),
                        cfg_path, "resume with the same options, or use a new --out");
    for (auto& [k, v] : saved.items())
      if (!mine.contains(k))
        throw UserError("the run was started with another config: it has '" + k + "', this command does not", cfg_path,
                        "resume with the same options, or use a new --out");
    remove_stray_temps();
    return RunStart::Resumed;
  }
  if (opt.resume) {
    if (!agree(interrupted_before_start()))
      throw UserError("nothing to resume: no " + command + " run here", path_, "run without --resume");
    log_info("resume: the run was stopped before it wrote its config; starting it from the beginning");
    remove_stray_temps();
  }
  write_config(config);
  return RunStart::Fresh;
}

bool same_checkpoint(const std::string& a, const std::string& b) {
  if (a == b) return true;
  for (const char* f : {"/config.json", "/model.safetensors"})
    if (!file_exists(a + f) || !file_exists(b + f) || read_file(a + f) != read_file(b + f)) return false;
  return true;
}

namespace {
json& provenance_machine() {
  static json machine;
  return machine;
}
}  // namespace

void set_provenance_machine(json facts) { provenance_machine() = std::move(facts); }

std::string machine_text(const json& provenance) {
  if (!provenance.contains("machine")) return "not recorded";
  const json& m = provenance["machine"];
  const std::string kernels = m.value("blas_kernels", "");
  return m.value("cpu", "unknown CPU") + "; BLAS kernels " + (kernels.empty() ? "not OpenBLAS's" : kernels) + "; " +
         std::to_string(m.value("threads", 0)) + " thread(s)";
}

json provenance() {
  char time_buf[32] = "unknown";
  const std::time_t now = std::time(nullptr);
  std::tm tm {};
  if (gmtime_r(&now, &tm)) std::strftime(time_buf, sizeof time_buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  char host[256] = {};
  // gethostname may truncate without a terminator; the buffer keeps its last byte 0.
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "unknown");
  json p{{"version", build_info::version()}, {"commit", build_info::commit()}, {"time_utc", time_buf}, {"host", host}};
  if (!provenance_machine().is_null()) p["machine"] = provenance_machine();
  return p;
}

}  // namespace unigap
