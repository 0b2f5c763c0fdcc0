// Progress display for long loops: step, rate, ETA, on stderr (never stdout,
// which carries results). Redraws in place on a terminal; prints a line every
// few seconds otherwise (CI logs), and a final line at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace unigap {

class Progress {
 public:
  // label: what is counted ("render", "pretrain"); total: expected steps (0 if unknown);
  // unit: what a step is ("img", "step").
  Progress(std::string label, int64_t total, std::string unit = "it");
  ~Progress();
  // Advance by n steps; `extra` is appended (e.g. "loss 1.23").
  void update(int64_t n = 1, const std::string& extra = "");
  void finish(const std::string& extra = "");
  double rate() const;  // steps per second so far
  int64_t done() const { return done_; }
  // Globally silence progress (tests, --quiet).
  static void set_enabled(bool on);
  // Ranks > 0 of a data-parallel run: off for good, whatever set_enabled says later.
  static void silence();

 private:
  void draw(bool final_line);
  std::string label_, unit_, extra_;
  int64_t total_, done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool finished_ = false, tty_;
};

// Leveled log to stderr with a timestamp. The library never writes to stdout.
void log_info(const std::string& msg);
void log_warn(const std::string& msg);

}  // namespace unigap
