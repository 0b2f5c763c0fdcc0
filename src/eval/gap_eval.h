// `unigap eval`: generate K images per eval prompt (GenEval folder layout), judge each
// with the model's own understanding, score each with the external judge (the oracle, or
// another checkpoint: eval/external_judge.h), measure understanding on rendered pairs of
// the world, and (with a reference model) the win rate. Every result names its judge.
#pragma once

#include <optional>
#include <tuple>
#include <string>
#include <vector>

#include "eval/external_judge.h"
#include "eval/gap_metrics.h"
#include "model/multimodal.h"
#include "world/metadata.h"

namespace unigap {

struct EvalOptions {
  int samples_per_prompt = 4;  // K images per suite line
  SampleOptions sampling;      // guidance, temperature, top-k, batch
  double threshold = 0.5;      // verdict = score > threshold
  int und_images = 0;          // rendered eval images for Und (each: 1 true + 1 false prompt); 0 = one per suite line
  double hard_negative_share = 0.5;  // of the Und negatives (the "half hard")
  uint64_t seed = 0;           // sampling and rendering
  std::string images_dir;      // judge these GenEval-layout images instead of generating
  std::string ref_images_dir;  // the reference's images, read instead of sampled (see ref_images_of; not part of the config)
  int judge_batch = 128;
  // The suite's prompts are in GenEval's open vocabulary (e.g. GenEval's own 553), not the
  // world's: parsed without the world, no Und on rendered pairs (the world cannot draw them),
  // and the oracle cannot judge them (the external judge must be a checkpoint).
  bool open_vocabulary = false;
  bool resume = false;         // reuse complete image folders of an interrupted run (not part of the config)
  void validate() const;
  json to_json() const;
};

struct EvalResult {
  std::vector<ImageRecord> records;
  GapSummary gap;
  UndSummary und;
  std::optional<Comparison> vs_ref;          // win rate and FP->TN etc. on the reference's images
  std::map<std::string, Comparison> vs_ref_by_tag;  // the same per tag (the Non decomposition's transitions)
  std::optional<GapSummary> ref_gap;         // the reference model's own figures on its images
  std::string judge;                         // the external judge's name (Gen, WeakGen, win rate)
  double generate_images_per_s = 0, judge_images_per_s = 0, seconds = 0;
  json to_json() const;
};

// Writes images (when generating) under out_dir/images[/ref_images], and
// results.jsonl; returns everything measured. `spec` is the world of the suite and of the
// rendered pairs of Und; `ref` may be null.
EvalResult evaluate(UnifiedMultimodal& model, ExternalJudge& judge, const WorldSpec& spec, const std::vector<Metadata>& suite,
                    const EvalOptions& opt, const std::string& out_dir, UnifiedMultimodal* ref = nullptr);

// The guidance of evaluation, chosen per model on the validation split (never on eval): Gen
// by the external judge at each weight of `grid`, on `prompts` GenEval-proportioned prompts
// (x K images) of the tuning split; the highest wins, ties going to the smaller weight.
// TwoStage (evaluation's rule): when that first look cannot tell the best weight from
// another (the 95% interval of their Gen difference, paired by prompt and bootstrapped over
// distinct prompts within tags, reaches 0), the weights it cannot separate are compared again
// on every prompt of the validation split, with fresh images, and that second look decides.
// OneStage: the first look decides (improve's per-epoch tracking, which is descriptive).
// UserError in a world without a validation split.
enum class GuidanceRule { OneStage, TwoStage };
struct GuidanceChoice {
  struct Look {
    std::vector<Metadata> suite;                 // the prompts it read
    std::vector<std::pair<double, double>> gen;  // (weight, Gen overall on them)
  };
  double chosen = 0;
  std::string split;
  Look first;
  // TwoStage: the first look's difference of each other weight from its best (weight,
  // difference, 95% interval), and the second look when some weight was not separated.
  std::vector<std::tuple<double, double, Interval>> margins;
  std::optional<Look> second;
  GuidanceRule rule = GuidanceRule::TwoStage;
  json to_json() const;
};
GuidanceChoice choose_guidance(UnifiedMultimodal& model, ExternalJudge& judge, const WorldSpec& spec,
                               const std::vector<double>& grid, int prompts, const EvalOptions& opt,
                               GuidanceRule rule = GuidanceRule::TwoStage);
// The first look's margins: for each weight but the best, Gen(best) - Gen(weight) on the same
// prompts with its 95% bootstrap interval over distinct prompts (meaning groups) within tags.
// `looks` holds each weight's records, all of one suite.
std::vector<std::tuple<double, double, Interval>> guidance_margins(
    const std::vector<std::pair<double, std::vector<ImageRecord>>>& looks, double best, uint64_t seed);

// The world a model is evaluated and trained in: its own when it has one (a `world_file`
// that describes another world is then a UserError), else the world of `world_file` ("" =
// the default world, version 2).
WorldSpec world_of(const UnifiedMultimodal& model, const std::string& world_file);

// Whether a prompt file is read in GenEval's open vocabulary: the model has no world of its own
// and no --world names one (Janus-Pro on GenEval-style prompts); else in the world.
bool reads_open_vocabulary(const UnifiedMultimodal& model, const std::string& world_file);
// The refusal of the oracle as the judge of open-vocabulary prompts (`what`: the file).
void refuse_oracle_for_open_vocabulary(const std::string& what, const std::string& option);

// The config.json of an eval run (unigap eval, the demo's evaluations): what ref_images_of
// compares and what a resumed run must match.
json eval_run_config(const std::string& ckpt, const std::string& ref, const std::string& suite, size_t suite_size, int seeds,
                     const EvalOptions& opt, const WorldSpec& spec, const std::string& judge);

// eval --ref-images: the image folder of an earlier eval run of the reference (`eval_dir`),
// which are the images the reference would sample again here. Refused, naming the setting,
// unless that run finished (summary.json) and evaluated the same checkpoint as `ref_ckpt`
// (its files) on the same world and suite with the same options: `config` is this run's
// config.json object (its "ref" and "ckpt" are not compared).
std::string ref_images_of(const std::string& eval_dir, const std::string& ref_ckpt, const json& config);

// The per-image records an evaluation wrote to `path` (its results.jsonl); a line with a
// missing or mistyped field is a UserError naming the file, line and field.
std::vector<ImageRecord> read_results(const std::string& path);

// Readable table (per tag and level: Gen, Non, WeakGen, TP/FP/TN/FN, Und).
std::string eval_table(const EvalResult& r);
// summary.csv rows: group, key, metric, value, ci_lo, ci_hi, k, n.
std::string eval_csv(const EvalResult& r);

}  // namespace unigap
