// Held-out learning dynamics: did fine-tuning the generation branch move the judge on images
// it never trained on, and does the first-order (eNTK) prediction from the real update say so?
//
// The probes are the base's own images of held-out prompts (the eval or validation split),
// sampled here: no training candidate can be among them, and a prompt of the arm's training
// pool is refused by meaning. For each image x of prompt y, under the base and under the
// improved model:
//   lo    = log P(yes | x, y) - log P(no | x, y)     the yes/no judge's log-odds
//   G     = log pi(x | y)                            the generator's likelihood
//   bayes = log pi(y | x) = G - logsumexp_{y' in {y} + A(y)} log pi(x | y')
//           the Bayes-consistent judge (Lemma 2's U): the generator's own posterior of the
//           prompt among itself and its alternatives A(y) (hard negatives, one attribute
//           changed, and random prompts of the split), under a uniform prior
// and their changes, measured against the first-order prediction from the whole training
// run's update: pred dQ = <grad_theta Q(base), theta_improved - theta_base> (the AdamW
// trajectory, not an SGD step). Kernels are normalised: the cosine of per-example gradients.
#pragma once

#include <string>
#include <vector>

#include "io/jsonl.h"
#include "model/multimodal.h"
#include "model/sample_options.h"
#include "train/pool.h"
#include "world/suite.h"

namespace unigap {

class ExternalJudge;

struct HeldOutConfig {
  Split split = Split::Eval;  // never Train
  int prompts = 200;          // held-out prompts, GenEval-proportioned by tag
  int k = 2;                  // base images per prompt
  int hard_negatives = 4;     // alternatives of the Bayes judge with one attribute changed
  int random_prompts = 4;     // and other prompts of the split
  int neighbours = 32;        // training examples the kernels compare each probe with (0: none)
  int nearest = 5;            // of them, the nearest by the generation kernel
  double threshold = 0.5;     // the yes/no verdict: score > threshold
  uint64_t seed = 0;
  SampleOptions sampling;     // the base's sampling of the probes
  std::vector<std::string> groups;  // parameter groups of the gradients; empty: the backend's default
  void validate() const;            // UserError naming the option
  json to_json() const;
};

// cos(a, b) of two flattened gradients; 0 when either is zero.
double gradient_cosine(const torch::Tensor& a, const torch::Tensor& b);

// The Bayes judge is bayes_log_posterior (dynamics/entk.h); its verdict accepts when the
// posterior exceeds 1/2.

// The base's images of held-out prompts, with their codes, own scores and the external
// verdicts (round 0 of a pool; `judge` gives the verdicts). UserError for the train split.
Pool held_out_probes(UnifiedMultimodal& base, ExternalJudge& judge, const WorldSpec& spec, const HeldOutConfig& c);

// UserError naming `origin` and the prompt when a probe's prompt means a prompt of `train`.
void refuse_training_prompts(const Pool& probes, const Pool& train, const std::string& origin);

struct HeldOutProbe {
  int candidate = 0;  // into the probes pool
  std::string group;  // the prompt's meaning group: the bootstrap's unit
  std::string tag;
  bool oracle = false;
  std::vector<std::string> alternatives;
  double lo_base = 0, lo_now = 0, g_base = 0, g_now = 0, bayes_base = 0, bayes_now = 0;
  double pred_dlo = 0, pred_dg = 0, pred_dbayes = 0;  // <grad Q(base), d theta>
  double cos_gen_und = 0;                             // cos(grad G, grad lo) at the base
  double cos_gen_bayes = 0;                           // cos(grad G, grad bayes) at the base
  double kernel_gen = 0, kernel_und = 0;  // mean over the nearest training examples of cos(grad G(probe), grad G(u)) and of cos(grad lo(probe), grad G(u))
  json to_json() const;
  static HeldOutProbe from_json(const json& j, const std::string& where);  // a probes.jsonl row; UserError naming `where`
};

// The two judges of the held-out probes.
enum class HeldOutJudge { YesNo, Bayes };
const char* judge_name(HeldOutJudge j);  // "yes_no" | "bayes"

// The change of a judge's AUROC against the oracle (now - base) on the probes, with a 95%
// bootstrap interval over prompt meaning groups: {"mean", "ci95"} (null where undefined).
json auroc_change(const std::vector<HeldOutProbe>& probes, HeldOutJudge judge, uint64_t seed);

struct HeldOutReport {
  std::vector<HeldOutProbe> probes;
  double threshold = 0.5;
  int training_examples = 0;  // whose gradients the kernels read
  uint64_t seed = 0;
  json to_json() const;       // per judge: AUROC and accuracy before/after, transitions, the mean
                              // change on the base's false and true positives with prompt-clustered
                              // intervals; fits of measured vs predicted changes; kernels
};

// `train` (the arm's training pool; may be null): its accepted candidates give the kernels'
// training examples. The two models must share the trainable parameters' names and shapes.
HeldOutReport held_out_dynamics(UnifiedMultimodal& base, UnifiedMultimodal& improved, const WorldSpec& spec, const Pool& probes,
                                const Pool* train, const HeldOutConfig& c);

}  // namespace unigap
