// The paper's diagnostic measurements (docs/method.md section 2) as pure functions of
// per-image records, so they can be tested on hand-made cases. Definitions are in
// docs/metrics.md; positive = aligned (the oracle says the image shows the prompt).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "eval/stats.h"

namespace unigap {

// One generated image with both verdicts.
struct ImageRecord {
  int prompt_index = 0;  // which suite line
  // The prompt's meaning group (canonical_key: "A left of B" and "B right of A" are one
  // group; 80 suite lines of one prompt are one group): the bootstrap's resampling unit.
  std::string group;
  int sample = 0;
  std::string tag, level, prompt, file;
  double score = 0;      // own understanding: P(yes) / (P(yes) + P(no))
  bool verdict = false;  // score > threshold
  bool oracle = false;   // the external judge
  std::string reason;    // the oracle's reason when wrong
};

struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  Rate precision() const { return {tp, tp + fp}; }
  Rate recall() const { return {tp, tp + fn}; }
  json to_json() const;
};

struct GapMetrics {
  Rate gen;       // oracle-correct images / images (GenEval task score)
  Rate non;       // images own understanding rejects / images (Non-unification)
  Rate weakgen;   // rejected images the oracle also rejects / rejected images
  Confusion confusion;
  int prompts = 0, prompts_any_correct = 0;
  json to_json() const;
};

struct GapSummary {
  std::map<std::string, GapMetrics> by_tag, by_level;
  GapMetrics pooled;         // all images together
  double gen_overall = 0;    // GenEval overall: mean of the tag scores
  int groups = 0;            // distinct prompts (meaning groups): the intervals' sample size
  Interval gen_overall_ci;   // cluster bootstrap over meaning groups, within tags (undefined below 2)
  Interval non_ci;           // the same
  json to_json() const;
};

GapMetrics metrics_of(const std::vector<const ImageRecord*>& recs);
// A record's resampling unit: its group, or (results written before groups) its tag and text.
std::string group_of(const ImageRecord& r);
GapSummary summarize_gap(const std::vector<ImageRecord>& recs, uint64_t seed, int bootstrap_reps = 1000);

// Two evaluations of the same suite with the same seeds (a model against its base): the
// differences now - base of Gen overall and of Non, with 95% bootstrap intervals that resample
// meaning groups within tags and keep both evaluations' images of a group together (a paired
// comparison: the prompt-to-prompt variation cancels). Only groups present in both count.
struct PairedGap {
  double d_gen = 0, d_non = 0;
  Interval d_gen_ci, d_non_ci;
  int groups = 0;
  json to_json() const;
};
PairedGap paired_gap(const std::vector<ImageRecord>& base, const std::vector<ImageRecord>& now, uint64_t seed,
                     int bootstrap_reps = 1000);

// Why Non moved between a base and a model, each on its own images of the same suite
// (docs/metrics.md, "Non decomposed"). Non = 1 - (TP + FP) / N, so its change splits
// exactly: -dNon = d(TP/N) + d(FP/N). A fall carried by more accepted correct images is
// better generation that the judge recognises; one carried by more accepted wrong images is
// a laxer judge. Intervals: paired cluster bootstrap over meaning groups within tags.
struct NonDecomposition {
  Confusion base, now;
  double d_non = 0, d_tp = 0, d_fp = 0;  // shares of images
  Interval d_tp_ci, d_fp_ci;
  double auroc_base = 0, auroc_now = 0;  // NaN (JSON null) without both outcomes
  std::string reading;  // "better images", "mostly better images", "both", "mostly a laxer judge", "laxer judge", "no fall"
  json to_json() const;
};
// The reading of a change in Non from its two shares (one rule for every table): no fall;
// "better images" (the FP share did not grow) or "laxer judge" (the TP share did not); else
// "mostly ..." when one side carries two thirds of the fall, or "both".
std::string non_reading(double d_non, double d_tp, double d_fp);
NonDecomposition decompose_non(const std::vector<ImageRecord>& base, const std::vector<ImageRecord>& now, uint64_t seed,
                               int bootstrap_reps = 1000);
// AUROC of the own judge's score against the oracle: P(score of a correct image > score of
// a wrong one), ties counting half. NaN when either class is empty.
double auroc(const std::vector<const ImageRecord*>& recs);

// Understanding measured on rendered pairs (independent of generation).
struct PairRecord {
  std::string tag, level;
  bool positive = false;  // the prompt is true of the image
  bool hard = false;      // a negative that differs in one attribute, count or relation
  double score = 0;
  bool verdict = false;
};
struct UndGroup {
  Rate accuracy, fp_rate, fn_rate, hard_negative_accuracy;
  json to_json() const;
};
struct UndSummary {
  UndGroup overall;
  std::map<std::string, UndGroup> by_tag, by_level;
  json to_json() const;
};
UndSummary summarize_und(const std::vector<PairRecord>& pairs);

// The paper's win rate: both models judge the same (reference) images; among the
// images where their verdicts differ, the share where the evaluated model agrees
// with the oracle. Undefined (n = 0) when they never disagree.
struct Comparison {
  Rate win_rate;
  // Transitions of the self-judge's confusion cell, reference -> evaluated model.
  int64_t fp_to_tn = 0, tn_to_fp = 0, fn_to_tp = 0, tp_to_fn = 0;
  json to_json() const;
};
Comparison compare_judges(const std::vector<bool>& ref_verdict, const std::vector<bool>& new_verdict,
                          const std::vector<bool>& oracle);

}  // namespace unigap
