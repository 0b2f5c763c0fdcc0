// Learning dynamics of co-improvement (docs/method.md section 5), measured directly.
// For one SGD step of SFT with learning rate eta on a batch of training pairs
// (y_u, x_u), the first-order (empirical NTK) prediction of the change of a probe
// pair (y0, x0) is
//   dG = eta * <grad log pi(x0|y0), d>,     d = mean_u grad log pi(x_u|y_u)
//   dU = eta * <grad log P(yes|x0,y0), d>   (the judge's own head)
//   dU_bayes = dG - sum_i w_i eta <grad log pi(x0|y_i), d>, w = softmax_i log pi(x0|y_i)
// (log pi(y0|x0) = log pi(x0|y0) - log sum_i pi(x0|y_i) over y0 and K alternative prompts).
// We take the real step and measure the same quantities. Per-example gradients are
// computed one example at a time (batch 1 backward), flattened over the trainable
// parameters; only inner products with d are kept, so memory is two parameter vectors.
#pragma once

#include <string>
#include <vector>

#include "io/jsonl.h"
#include "model/multimodal.h"
#include "train/pool.h"

namespace unigap {

struct DynamicsConfig {
  int probes = 96;                        // probe pairs from the pool
  int train_batch = 16;                   // accepted samples forming the SFT step
  std::vector<double> etas = {1e-4, 1e-3, 1e-2};  // SGD learning rates, small to large
  int alternatives = 4;                   // alternative prompts y_i per probe (hard negatives)
  std::vector<std::string> groups;        // parameter groups of the gradients; empty: the backend's default
  double threshold = 0.5;                 // verdict threshold of the judge (the improve run's)
  uint64_t seed = 0;
  json to_json() const;
};

struct ProbeDynamics {
  int candidate = 0;                      // index into the pool
  bool oracle = false, own_verdict = false;  // the pool's external verdict; the model's own at the threshold
  double g0 = 0, u0 = 0, bayes0 = 0;      // log pi(x0|y0), log P(yes), log pi(y0|x0)
  double k_own = 0;                       // <grad G(y0, x0), d>
  double k_alt = 0;                       // mean_i |<grad G(y_i, x0), d>|
  double k_und = 0;                       // <grad U(y0, x0), d>
  double cos_gen_und = 0;                 // cosine of grad G and grad U of the same pair
  std::vector<double> pred_dg, pred_du, pred_dbayes, meas_dg, meas_du, meas_dbayes;  // per eta
};

struct FitStats {
  double pearson = 0, slope = 0;  // least squares measured = slope * predicted + b
  int n = 0;
  json to_json() const;
};
FitStats fit(const std::vector<double>& predicted, const std::vector<double>& measured);

struct DynamicsReport {
  std::vector<ProbeDynamics> probes;
  std::vector<double> etas;
  json to_json() const;  // per-eta fits for dG, dU, dU_bayes; kernel proxies; per-probe rows
};

class Rng;
// Up to k prompts of `spec` one attribute away from m's (hard negatives), seeded by rng.
std::vector<std::string> hard_negative_prompts(const Metadata& m, const WorldSpec& spec, int k, Rng& rng);

// A pool candidate's codes as a (1, N) tensor.
torch::Tensor candidate_codes(const Candidate& c);

// The Bayes judge: log pi(y | x) = log pi(x | y) - logsumexp over y' in {y} + alternatives of
// log pi(x | y') for image codes (1, N), with autograd (Lemma 2's U under a uniform prior).
torch::Tensor bayes_log_posterior(UnifiedMultimodal& m, const std::string& prompt, const std::vector<std::string>& alternatives,
                                  const torch::Tensor& codes);

// Flattened gradient of a scalar w.r.t. params (zeros where a parameter gets none).
torch::Tensor flat_grad(const torch::Tensor& scalar, const std::vector<torch::Tensor>& params);

// `world` gives the alternative prompts (hard negatives of each probe's prompt).
DynamicsReport measure_dynamics(UnifiedMultimodal& model, const WorldSpec& world, const Pool& pool, const DynamicsConfig& cfg);

// The group of an image by its external verdict and the two models' verdicts (accepts =
// score > threshold): fp_corrected (wrong, base accepts, improved rejects: FP->TN),
// fp_kept, tn_kept, newly_wrong_tn_to_fp (wrong), tp_kept, newly_wrong_tp_to_fn, fn_to_tp,
// fn_kept (right).
std::string fp_group(bool correct, bool base_accepts, bool improved_accepts);

// Base vs improved model on the base's own images (the pool's round-0 candidates): groups
// by fp_group() with the change of log pi(x0|y0) and log P(yes) per group. `threshold` is
// the verdict threshold of the run that made the pool.
json fp_correction_groups(UnifiedMultimodal& base, UnifiedMultimodal& improved, const Pool& pool, int max_probes,
                          uint64_t seed, double threshold);

}  // namespace unigap
