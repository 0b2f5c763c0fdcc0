// The paper's claims (docs/method.md section 7) judged on a study: one set of rules for the
// HTML report of a demo run (one seed) and for `unigap results` (several seeds), so that
// the same runs never get two verdicts. Arms are found by their config (report/study.h).
#pragma once

#include <string>
#include <vector>

#include "io/jsonl.h"
#include "report/study.h"

namespace unigap {

struct Claim {
  std::string text, verdict, evidence;
};

// `dynamics`: the summary.json of a `unigap dynamics` run for claim 4, or null (the claim
// then points at docs/dynamics.md).
std::vector<Claim> judge_claims(const Study& st, const json& dynamics);

// The sentence that says what the verdict words mean.
std::string verdict_legend();

}  // namespace unigap
