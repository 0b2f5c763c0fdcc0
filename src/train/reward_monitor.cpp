#include "train/reward_monitor.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <type_traits>

#include "common/error.h"

namespace unigap {

MonitorSums MonitorSums::of(const std::vector<Rollout>& rollouts) {
  MonitorSums s;
  std::map<int, std::pair<double, double>> by_prompt;  // prompt -> (sum reward - oracle, count)
  for (const Rollout& r : rollouts) {
    s.samples += 1, s.reward += r.reward, s.oracle += r.oracle ? 1 : 0;
    if (r.advantage > 0) s.favoured += 1, s.favoured_right += r.oracle ? 1 : 0;
    auto& p = by_prompt[r.prompt];
    p.first += r.reward - (r.oracle ? 1.0 : 0.0), p.second += 1;
  }
  for (auto& [prompt, p] : by_prompt) {
    const double d = p.first / p.second;
    s.prompts += 1, s.div += d, s.div_sq += d * d;
  }
  return s;
}

MonitorSums& MonitorSums::operator+=(const MonitorSums& o) {
  samples += o.samples, reward += o.reward, oracle += o.oracle, favoured += o.favoured, favoured_right += o.favoured_right;
  prompts += o.prompts, div += o.div, div_sq += o.div_sq;
  return *this;
}

json MonitorPoint::to_json() const {
  return {{"step", step},
          {"samples", samples},
          {"prompts", prompts},
          {"self_reward", self_reward},
          {"oracle_accuracy", oracle_accuracy},
          {"favoured_precision", favoured_precision ? json(*favoured_precision) : json()},
          {"divergence", divergence},
          {"divergence_ci95", interval_json(divergence_ci)},
          {"divergence_baseline", baseline ? json(*baseline) : json()},
          {"alarm", alarm}};
}

MonitorPoint MonitorPoint::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw UserError("a grpo record without its monitor", where);
  MonitorPoint p;
  auto need = [&](const char* key, auto& out) {
    const auto v = json_as<std::decay_t<decltype(out)>>(j.value(key, json()));
    if (!v) throw UserError("the monitor's '" + std::string(key) + "' is missing or out of range: " + j.value(key, json()).dump(), where);
    out = *v;
  };
  need("step", p.step), need("samples", p.samples), need("prompts", p.prompts);
  need("self_reward", p.self_reward), need("oracle_accuracy", p.oracle_accuracy), need("divergence", p.divergence);
  need("alarm", p.alarm);
  p.favoured_precision = json_as<double>(j.value("favoured_precision", json()));  // null: no favoured sample
  p.baseline = json_as<double>(j.value("divergence_baseline", json()));
  const json ci = j.value("divergence_ci95", json());  // null: undefined (one prompt)
  p.divergence_ci = ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number()
                        ? Interval{ci[0].get<double>(), ci[1].get<double>()}
                        : Interval{NAN, NAN};
  return p;
}

std::vector<MonitorPoint> monitor_points(const std::vector<JsonlLine>& lines, const std::string& metrics_path) {
  std::vector<MonitorPoint> points;
  for (auto& l : lines)
    if (l.value.is_object() && l.value.value("kind", json()) == "grpo")
      points.push_back(MonitorPoint::from_json(l.value.value("monitor", json()), metrics_path + ":" + std::to_string(l.line)));
  return points;
}

std::vector<MonitorPoint> read_monitor(const std::string& metrics_path) { return monitor_points(read_jsonl(metrics_path), metrics_path); }

MonitorPoint RewardMonitor::observe(int64_t step, const MonitorSums& s) {
  MonitorPoint p;
  p.step = step;
  p.samples = int(s.samples), p.prompts = int(s.prompts);
  if (s.samples > 0) p.self_reward = s.reward / s.samples, p.oracle_accuracy = s.oracle / s.samples;
  if (s.favoured > 0) p.favoured_precision = s.favoured_right / s.favoured;
  p.divergence = p.self_reward - p.oracle_accuracy;
  // Over prompts: the mean of the per-prompt differences and their sample sd.
  MeanStd m;
  m.n = int(s.prompts);
  if (m.n > 0) m.mean = s.div / s.prompts;
  if (m.n > 1) m.std = std::sqrt(std::max(0.0, (s.div_sq - s.prompts * m.mean * m.mean) / (s.prompts - 1)));
  p.divergence_ci = mean_ci95(m);
  if (!baseline_) baseline_ = p.divergence;
  p.baseline = baseline_;
  p.alarm = std::isfinite(p.divergence_ci.lo) && p.divergence_ci.lo > *baseline_;
  return p;
}

}  // namespace unigap
