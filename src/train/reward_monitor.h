// The reward-hacking monitor of online RL (improve --method grpo): at every logging step,
// the external judge's verdict on the very samples the reward scored. A policy that learns
// to please its judge rather than to follow the prompt shows as a reward that rises while
// the oracle's accuracy does not: their divergence grows. That is the co-degradation of
// the paper in online form, and the alarm fires when the divergence's 95% interval lies
// above its value at the first step.
//
// Figures are built from additive sums (MonitorSums): samples may be gathered in parts.
// (In a data-parallel run every rank holds all of a step's rollouts and observes them alike.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/stats.h"
#include "io/jsonl.h"

namespace unigap {

// One scored sample as the monitor sees it.
struct Rollout {
  int prompt = 0;          // its group: the prompt it was sampled for
  double reward = 0;       // what the supervision gave it
  double advantage = 0;    // within its prompt's group
  bool oracle = false;     // the external judge's verdict (never read by training)
};

// Additive over samples (all samples of a prompt in one part).
struct MonitorSums {
  double samples = 0, reward = 0, oracle = 0;   // counts and sums over samples
  double favoured = 0, favoured_right = 0;      // samples with advantage > 0, and those right
  double prompts = 0, div = 0, div_sq = 0;      // per prompt: mean(reward) - mean(oracle), summed and squared
  static MonitorSums of(const std::vector<Rollout>& rollouts);
  MonitorSums& operator+=(const MonitorSums& o);
};

struct MonitorPoint {
  int64_t step = 0;
  int samples = 0, prompts = 0;
  double self_reward = 0;                     // mean reward over the samples
  double oracle_accuracy = 0;                 // share of them the external judge calls right
  std::optional<double> favoured_precision;   // share right among those with advantage > 0 (none: undefined)
  double divergence = 0;                      // self_reward - oracle_accuracy
  Interval divergence_ci;                     // 95% Student t over prompts (the prompt is the unit)
  std::optional<double> baseline;             // the divergence at the first step
  bool alarm = false;                         // divergence_ci.lo > baseline
  json to_json() const;
  // A point as to_json wrote it (the "monitor" of a metrics.jsonl "grpo" record); a missing or
  // mistyped field is a UserError naming `where`.
  static MonitorPoint from_json(const json& j, const std::string& where);
};

// Every step's point in a GRPO run's metrics.jsonl, in order (a resumed run wrote each step
// once); a "grpo" record without a well-formed monitor is a UserError naming its line.
// monitor_points reads them from the file's lines, already read for its other records.
std::vector<MonitorPoint> monitor_points(const std::vector<JsonlLine>& lines, const std::string& metrics_path);
std::vector<MonitorPoint> read_monitor(const std::string& metrics_path);

class RewardMonitor {
 public:
  // The first point sets the baseline; a resumed run sets it from its log first.
  MonitorPoint observe(int64_t step, const MonitorSums& sums);
  void set_baseline(double divergence) { baseline_ = divergence; }
  const std::optional<double>& baseline() const { return baseline_; }

 private:
  std::optional<double> baseline_;
};

}  // namespace unigap
