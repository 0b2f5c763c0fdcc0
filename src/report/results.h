// `unigap results`: the multi-seed results table of self-improvement (docs/results.md),
// aggregated from the run directories that scripts/results.sh makes:
//   RUNS/s<seed>/eval-base/       the base model's gap, evaluated with that seed
//   RUNS/s<seed>/<arm>/           an `improve` run (config.json, summary.json, audit.json)
//   RUNS/s<seed>/eval-<arm>/      its model evaluated against the base (`eval --ref`)
//   RUNS/s<seed>/audit-gate.txt   what `improve --audit-min-precision` said on corrupted data
// The runs are read by report/study.h (arms recognised by their config) and the claims
// judged by report/claims.h, the same rules as the HTML report of a demo run. Every figure
// is a mean +- std over seeds; a claim's verdict comes from the 95% t-interval of the
// per-seed paired differences with the base (same eval prompts and rendered pairs), or from
// counts pooled over seeds with a Wilson interval. With one seed, a difference carries that
// seed's interval over the eval prompts instead (paired bootstrap of the two evaluations'
// results.jsonl; Newcombe for Und) and a verdict on it says "(one seed)".
#pragma once

#include <map>
#include <string>

#include "io/jsonl.h"
#include "report/study.h"

namespace unigap {

struct ResultsTable {
  std::string markdown;                        // the page (docs/results.md)
  json data;                                   // every per-seed figure and verdict
  std::map<std::string, std::string> figures;  // SVG figures the page links, by path relative to the page
};

// Throws UserError naming runs_dir when it holds no s<seed>/eval-base/summary.json. The
// figures are named `<figure_stem>-<what>.svg` ("img/results-grpo-self.svg").
ResultsTable build_results(const std::string& runs_dir, const std::string& figure_stem = "img/results");

}  // namespace unigap
