// Scoring a GenEval-layout folder with the oracle: one result per image
// (GenEval's results.jsonl fields plus the detected objects) and a summary per
// tag and level. Bad images (unreadable, wrong size) are listed, not fatal.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "world/geneval_folder.h"
#include "world/oracle.h"

namespace unigap {

struct CheckResult {
  std::string filename;
  int index = 0;
  Metadata metadata;
  bool correct = false;
  std::string reason;
  ParsedImage parsed;
  json to_json(const WorldSpec& spec) const;
};

struct TagScore {
  int images = 0, correct = 0;
  double accuracy() const { return images ? double(correct) / images : 0.0; }
};

struct CheckSummary {
  std::map<std::string, TagScore> by_tag, by_level;
  int images = 0, correct = 0, prompts = 0, prompts_any_correct = 0;
  // GenEval's overall score: the mean of the task (tag) scores.
  double overall() const;
  json to_json() const;
  std::string table() const;  // readable table for stdout
};

struct CheckOutput {
  std::vector<CheckResult> results;
  std::vector<ScanProblem> problems;
  CheckSummary summary;
};

CheckOutput check_sample_root(const std::string& root, const WorldSpec& spec, const OracleOptions& opt);
CheckSummary summarize(const std::vector<CheckResult>& results);

}  // namespace unigap
