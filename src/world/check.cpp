#include "world/check.h"

#include <cstdio>
#include <set>

#include "common/error.h"
#include "common/progress.h"
#include "io/png.h"

namespace unigap {

json CheckResult::to_json(const WorldSpec& spec) const {
  return {{"filename", filename},
          {"tag", metadata.tag},
          {"level", metadata.level},
          {"prompt", metadata.prompt},
          {"correct", correct},
          {"reason", reason},
          {"metadata", metadata.to_json().dump()},
          {"details", parsed.to_json(spec)}};
}

double CheckSummary::overall() const {
  if (by_tag.empty()) return 0.0;
  double s = 0;
  for (auto& [t, v] : by_tag) s += v.accuracy();
  return s / by_tag.size();
}

json CheckSummary::to_json() const {
  json tags = json::object(), levels = json::object();
  for (auto& [t, v] : by_tag) tags[t] = {{"images", v.images}, {"correct", v.correct}, {"accuracy", v.accuracy()}};
  for (auto& [t, v] : by_level) levels[t] = {{"images", v.images}, {"correct", v.correct}, {"accuracy", v.accuracy()}};
  return {{"images", images},
          {"correct", correct},
          {"overall", overall()},
          {"image_accuracy", images ? double(correct) / images : 0.0},
          {"prompts", prompts},
          {"prompts_any_correct", prompts_any_correct},
          {"by_tag", tags},
          {"by_level", levels}};
}

std::string CheckSummary::table() const {
  std::string s;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-14s %8s %8s %9s\n", "tag", "images", "correct", "accuracy");
  s += buf;
  for (auto& [t, v] : by_tag) {
    std::snprintf(buf, sizeof buf, "%-14s %8d %8d %8.2f%%\n", t.c_str(), v.images, v.correct, 100 * v.accuracy());
    s += buf;
  }
  for (auto& [t, v] : by_level) {
    std::snprintf(buf, sizeof buf, "level:%-8s %8d %8d %8.2f%%\n", t.c_str(), v.images, v.correct, 100 * v.accuracy());
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "%-14s %8d %8d %8.2f%%  (GenEval overall = mean of tags)\n", "overall", images, correct,
                100 * overall());
  s += buf;
  return s;
}

CheckSummary summarize(const std::vector<CheckResult>& results) {
  CheckSummary s;
  std::map<int, bool> any;
  for (auto& r : results) {
    auto& t = s.by_tag[r.metadata.tag];
    auto& l = s.by_level[r.metadata.level];
    t.images++, l.images++, s.images++;
    t.correct += r.correct, l.correct += r.correct, s.correct += r.correct;
    any[r.index] = any[r.index] || r.correct;
  }
  s.prompts = int(any.size());
  for (auto& [i, a] : any) s.prompts_any_correct += a;
  return s;
}

CheckOutput check_sample_root(const std::string& root, const WorldSpec& spec, const OracleOptions& opt) {
  CheckOutput out;
  auto folders = scan_sample_root(root, spec, out.problems);
  size_t total = 0;
  for (auto& f : folders) total += f.images.size();
  Progress progress("check", int64_t(total), "img");
  for (auto& f : folders) {
    for (auto& path : f.images) {
      try {
        Image img = read_png(path);
        CheckResult r;
        r.filename = path;
        r.index = f.index;
        r.metadata = f.metadata;
        r.parsed = parse_image(img, spec, path);
        Verdict v = evaluate_metadata(f.metadata, r.parsed, spec, opt);
        r.correct = v.correct;
        r.reason = v.reason;
        out.results.push_back(std::move(r));
      } catch (const UserError& e) {
        // The message already starts with the path; keep it once.
        std::string msg = e.what();
        if (msg.rfind(path + ": ", 0) == 0) msg = msg.substr(path.size() + 2);
        out.problems.push_back({path, msg});
      }
      progress.update();
    }
  }
  progress.finish();
  out.summary = summarize(out.results);
  return out;
}

}  // namespace unigap
