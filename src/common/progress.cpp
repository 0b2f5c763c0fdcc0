#include "common/progress.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>

namespace unigap {

namespace {
std::atomic<bool> g_enabled{true};
std::atomic<bool> g_silenced{false};

std::string fmt_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  long t = static_cast<long>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

void log_line(const char* level, const std::string& msg) {
  std::time_t now = std::time(nullptr);
  char ts[32];
  std::strftime(ts, sizeof ts, "%H:%M:%S", std::localtime(&now));
  std::fprintf(stderr, "[%s %s] %s\n", ts, level, msg.c_str());
}
// "12.3 img/s", or for a loop slower than one step a second "36.4 s/step", which keeps its
// digits where the former would print 0.0.
std::string rate_text(double per_second, const std::string& unit) {
  char buf[64];
  if (per_second > 0 && per_second < 1)
    std::snprintf(buf, sizeof buf, "%.1f s/%s", 1 / per_second, unit.c_str());
  else
    std::snprintf(buf, sizeof buf, "%.1f %s/s", per_second, unit.c_str());
  return buf;
}
}  // namespace

void Progress::set_enabled(bool on) { g_enabled = on && !g_silenced; }
void Progress::silence() {
  g_silenced = true;
  g_enabled = false;
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total),
      start_(std::chrono::steady_clock::now()), last_draw_(start_), tty_(isatty(STDERR_FILENO)) {}

Progress::~Progress() {
  if (!finished_ && done_ > 0) finish();
}

double Progress::rate() const {
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return el > 0 ? done_ / el : 0.0;
}

void Progress::update(int64_t n, const std::string& extra) {
  done_ += n;
  if (!extra.empty()) extra_ = extra;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (tty_ ? 0.2 : 5.0)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  if (!extra.empty()) extra_ = extra;
  draw(true);
}

void Progress::draw(bool final_line) {
  if (!g_enabled) return;
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double r = el > 0 ? done_ / el : 0.0;
  char buf[512];
  if (total_ > 0) {
    double eta = r > 0 ? (total_ - done_) / r : NAN;
    std::snprintf(buf, sizeof buf, "%s %lld/%lld %s (%.0f%%) %s elapsed %s eta %s", label_.c_str(), (long long)done_,
                  (long long)total_, unit_.c_str(), 100.0 * done_ / total_, rate_text(r, unit_).c_str(),
                  fmt_duration(el).c_str(), final_line ? "0s" : fmt_duration(eta).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%s %lld %s %s elapsed %s", label_.c_str(), (long long)done_, unit_.c_str(),
                  rate_text(r, unit_).c_str(), fmt_duration(el).c_str());
  }
  std::string line = buf;
  if (!extra_.empty()) line += "  " + extra_;
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

void log_info(const std::string& msg) {
  if (g_enabled) log_line("info", msg);
}
void log_warn(const std::string& msg) { log_line("warn", msg); }

}  // namespace unigap
