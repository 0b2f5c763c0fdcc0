// `unigap results --variant NAME=DIR ...`: the mechanism study's E2 page (docs/mechanism.md).
// Each DIR is one base's study (scripts/results.sh; scripts/mechanism.sh makes one per variant
// base, differing from the reference only in what generation and understanding share). From
// each arm's held-out dynamics (heldout-<arm>/summary.json, `dynamics --held-out`) and its
// evaluation the page gives:
//   - per variant, the alignment at the start: the mean cosine of the generation gradient with
//     the yes/no judge's, and with the Bayes judge's, over the held-out probes at the base;
//   - per variant and arm, over its seeds: the change of each judge's statistic on the base's
//     false positives (mean over seeds, 95% t-interval; each seed's own interval is over
//     prompts), the FP->TN / TN->FP transitions summed, and the Gen change;
//   - per arm, the correlation across variants and seeds between the alignment and the change
//     on false positives (Fisher interval; the paper's mechanism predicts a negative one for
//     arms trained on right images: more sharing, a larger fall), and a scatter of the two.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "report/results.h"

namespace unigap {

// variants: (name, runs folder) in the order to show; figures named `<figure_stem>-<what>.svg`.
// A UserError names a folder that holds no study.
ResultsTable build_variants(const std::vector<std::pair<std::string, std::string>>& variants,
                            const std::string& figure_stem = "img/mechanism");

}  // namespace unigap
