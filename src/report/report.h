// `unigap report --run DIR`: one self-contained HTML page (no network, no external
// assets) from a demo run directory: setup, per-tag tables with intervals before and
// after each method, training curves (co-improvement next to co-degradation),
// confusion matrices, the audit, the dynamics plots, image grids with both verdicts,
// and the claims of docs/method.md section 7 with whether each reproduced in this run
// (report/claims.h: the rules of `unigap results`). Arms are found by their config.
#pragma once

#include <string>

namespace unigap {

// Writes DIR/report.html and returns its path. Missing stages are reported as such.
std::string write_report(const std::string& run_dir);

}  // namespace unigap
