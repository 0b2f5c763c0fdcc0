// `unigap report --run DIR`: one self-contained HTML page (no network, no external
// assets) from a demo run directory: setup, per-tag tables with intervals before and
// after each method, training curves (co-improvement next to co-degradation),
// confusion matrices, the audit, the dynamics plots, image grids with both verdicts,
// and the claims of method.md section 7 with whether each reproduced in this run.
#pragma once

#include <string>
#include <vector>

namespace unigap {

// The arms of a demo run, in the order the report shows them; `unigap demo` runs them.
struct DemoArm {
  const char* name;         // run folder; its evaluation against the base is eval-<name>
  const char* title;
  const char* method;       // sft | dpo
  const char* supervision;  // self | inverted | ...
  bool replay;              // curriculum replay of the discard pool at the plan's replay epoch
  const char* pool_from;    // train on this arm's round-0 pool ("" = sample one)
};
const std::vector<DemoArm>& demo_arms();

// Writes DIR/report.html and returns its path. Missing stages are reported as such.
std::string write_report(const std::string& run_dir);

}  // namespace unigap
