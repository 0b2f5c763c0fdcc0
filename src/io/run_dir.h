// A run directory: where every command writes its results.
//   config.json   the resolved config (+ seed, commit, command line, machine)
//   metrics.jsonl one JSON object per step/epoch (append-only)
//   summary.json  final figures
// All writes are atomic; a run can be resumed by reopening the same directory.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "io/jsonl.h"

namespace unigap {

// How a command starts in its run directory (RunDir::start): from the beginning, or
// continuing the run already there.
enum class RunStart { Fresh, Resumed };

struct StartOptions {
  bool resume = false;                 // --resume
  std::vector<std::string> free_keys;  // config keys that may differ on resume (kept for the record, not compared)
  // In a data-parallel run, rank 0's answer to a question every rank must answer alike
  // (Dist::main_value: does this folder hold a run?); the identity by default.
  std::function<bool(bool)> agree;
};

class RunDir {
 public:
  // Creates the directory (and parents) if needed.
  explicit RunDir(std::string path);
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const;  // path_/name
  bool has(const std::string& name) const;

  void write_config(const json& config) const;  // adds "provenance" (commit, version, time, host, machine)
  void append_metric(const json& record) const;
  void write_summary(const json& summary) const;

  // Resuming after a crash: rewrites metrics.jsonl (atomically) with only the records
  // `keep` accepts, i.e. those made before the checkpoint the run resumes from, so
  // replayed steps are not logged twice. A torn last line (the process died while
  // appending it) is dropped; a malformed line elsewhere is an error naming it.
  // Returns the number of records dropped.
  int rewind_metrics(const std::function<bool(const json&)>& keep) const;
  // Removes temp files of interrupted atomic writes (".<name>.tmp.<tag>")
  // anywhere under the run directory; returns how many.
  int remove_stray_temps() const;
  // True when the directory was there before this object was made but holds no file
  // except temp files of interrupted writes: a run killed before it wrote its config.
  // Such a run is resumed by starting it again; a directory that did not exist (a
  // mistyped --out) is still "nothing to resume".
  bool interrupted_before_start() const;
  // The one resume rule of every command, given the command's resolved `config` (its
  // "command" names the run in messages):
  //  - no run here: writes config.json (with provenance) and returns Fresh; with --resume,
  //    a folder killed before it wrote config.json starts from the beginning (Fresh), any
  //    other is "nothing to resume" (UserError);
  //  - a run here without --resume: UserError, nothing is touched;
  //  - a run here with --resume: its config.json must equal `config` but for provenance and
  //    the free keys, else a UserError naming the first key that differs; temp files of
  //    interrupted writes are removed; returns Resumed. What else a resumed run drops
  //    (checkpoints, metrics after the last checkpoint) is the trainer's.
  RunStart start(const json& config, const StartOptions& opt);

 private:
  std::string path_;
  bool existed_ = false;
};

// The same checkpoint: the same folder, or two folders (a copy, another path to the same
// files) whose config.json and model.safetensors are byte-identical.
bool same_checkpoint(const std::string& a, const std::string& b);

// Provenance block stamped on every result: version, commit, time (UTC ISO-8601), hostname,
// and "machine" once set_provenance_machine() was called.
json provenance();

// The compute facts provenance() adds as "machine" (main sets them: CPU, BLAS kernels,
// threads). A result depends on them: floating-point sums run in another order elsewhere.
void set_provenance_machine(json facts);

// One line for a provenance block's machine ("CPU; BLAS kernels K; N thread(s)"), or
// "not recorded" for a block written before the machine was recorded.
std::string machine_text(const json& provenance);

}  // namespace unigap
