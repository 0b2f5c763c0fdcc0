#include "dynamics/entk.h"

#include <cmath>
#include <map>
#include <set>

#include "common/error.h"
#include "common/progress.h"
#include "common/rng.h"
#include "world/negatives.h"
#include "world/scene.h"
#include "world/spec.h"

namespace unigap {

json DynamicsConfig::to_json() const {
  return {{"probes", probes}, {"train_batch", train_batch}, {"etas", etas}, {"alternatives", alternatives},
          {"groups", groups}, {"threshold", threshold}, {"seed", seed}};
}

json FitStats::to_json() const { return {{"pearson", pearson}, {"slope", slope}, {"n", n}}; }

FitStats fit(const std::vector<double>& x, const std::vector<double>& y) {
  FitStats f;
  f.n = int(x.size());
  if (x.size() < 2) return f;
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= x.size(), my /= y.size();
  double sxx = 0, syy = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  f.pearson = (sxx > 0 && syy > 0) ? sxy / std::sqrt(sxx * syy) : 0.0;
  f.slope = sxx > 0 ? sxy / sxx : 0.0;
  return f;
}

std::vector<std::string> hard_negative_prompts(const Metadata& m, const WorldSpec& spec, int k, Rng& rng) {
  std::vector<std::string> out;
  for (int t = 0; t < 40 && int(out.size()) < k; ++t) {
    auto w = mutate(m, rng.pick(mistakes_of(spec)), spec, rng);
    if (!w || w->prompt == m.prompt || w->prompt != prompt_text(*w)) continue;
    if (std::find(out.begin(), out.end(), w->prompt) == out.end()) out.push_back(w->prompt);
  }
  return out;
}

torch::Tensor flat_grad(const torch::Tensor& scalar, const std::vector<torch::Tensor>& params) {
  auto grads = torch::autograd::grad({scalar}, params, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                     /*allow_unused=*/true);
  std::vector<torch::Tensor> flat;
  for (size_t i = 0; i < params.size(); ++i)
    flat.push_back(grads[i].defined() ? grads[i].reshape({-1}) : torch::zeros({params[i].numel()}));
  return torch::cat(flat);
}

torch::Tensor candidate_codes(const Candidate& c) { return torch::tensor(c.codes, torch::kLong).unsqueeze(0); }

torch::Tensor bayes_log_posterior(UnifiedMultimodal& m, const std::string& prompt, const std::vector<std::string>& alternatives,
                                  const torch::Tensor& codes) {
  std::vector<std::string> all = {prompt};
  all.insert(all.end(), alternatives.begin(), alternatives.end());
  auto lp = m.image_logprob(all, codes.expand({int64_t(all.size()), codes.size(1)}).contiguous());  // (1 + A)
  return lp[0] - torch::logsumexp(lp, 0);
}

namespace {

// For a pool in the open vocabulary (no world to mutate a prompt in): other prompts of the pool.
std::vector<std::string> other_prompts(const Pool& pool, const Metadata& m, int k, Rng& rng) {
  std::vector<std::string> others;
  for (auto& q : pool.prompts)
    if (q.prompt != m.prompt && std::find(others.begin(), others.end(), q.prompt) == others.end()) others.push_back(q.prompt);
  rng.shuffle(others);
  if (int(others.size()) > k) others.resize(size_t(k));
  return others;
}

struct Quantities {
  double g = 0, u = 0, bayes = 0;
};

Quantities evaluate_probe(UnifiedMultimodal& m, const std::string& prompt, const torch::Tensor& codes, const Image& img,
                          const std::vector<std::string>& alts) {
  torch::NoGradGuard ng;
  Quantities q;
  q.g = m.image_logprob({prompt}, codes).item<double>();
  q.u = m.judge_logprob_yes({img}, {prompt}).item<double>();
  q.bayes = bayes_log_posterior(m, prompt, alts, codes).item<double>();
  return q;
}

}  // namespace

DynamicsReport measure_dynamics(UnifiedMultimodal& m, const WorldSpec& spec, const Pool& pool, const DynamicsConfig& cfg) {
  m.set_training(false);  // no dropout anywhere; gradients still flow
  m.train_only(cfg.groups.empty() ? m.default_train_groups() : cfg.groups);
  const std::vector<torch::Tensor> params = m.trainable_parameters();

  Rng rng(derive_seed(cfg.seed, "dynamics"));
  // Training batch: accepted candidates; probes: other candidates (of other prompts).
  auto acc = pool.accepted();
  if (acc.empty()) throw UserError("the pool has no accepted candidate to train on");
  rng.shuffle(acc);
  acc.resize(std::min<size_t>(acc.size(), size_t(cfg.train_batch)));
  std::set<int> train_prompts;
  for (size_t i : acc) train_prompts.insert(pool.candidates[i].prompt_index);
  std::vector<int> probe_idx;
  for (size_t i = 0; i < pool.candidates.size(); ++i)
    if (!train_prompts.count(pool.candidates[i].prompt_index)) probe_idx.push_back(int(i));
  rng.shuffle(probe_idx);
  probe_idx.resize(std::min<size_t>(probe_idx.size(), size_t(cfg.probes)));

  // d = mean_u grad log pi(x_u | y_u): the ascent direction of one SFT step.
  torch::Tensor d = torch::zeros({0});
  {
    std::vector<std::string> pr;
    std::vector<torch::Tensor> cs;
    for (size_t i : acc) pr.push_back(pool.prompts[pool.candidates[i].prompt_index].prompt), cs.push_back(candidate_codes(pool.candidates[i]));
    auto g = m.image_logprob(pr, torch::cat(cs)).mean();
    d = flat_grad(g, params);
  }

  DynamicsReport rep;
  rep.etas = cfg.etas;
  std::vector<std::vector<std::string>> alts(probe_idx.size());
  std::vector<Image> images(probe_idx.size());
  Progress prog("dynamics gradients", int64_t(probe_idx.size()), "probe");
  for (size_t p = 0; p < probe_idx.size(); ++p) {
    const Candidate& c = pool.candidates[probe_idx[p]];
    const Metadata& meta = pool.prompts[c.prompt_index];
    const auto codes = candidate_codes(c);
    images[p] = m.decode_codes(codes)[0];
    alts[p] = pool.open_vocabulary ? other_prompts(pool, meta, cfg.alternatives, rng) : hard_negative_prompts(meta, spec, cfg.alternatives, rng);
    ProbeDynamics pd;
    pd.candidate = probe_idx[p];
    pd.oracle = c.oracle;
    pd.own_verdict = c.own_score > cfg.threshold;
    auto gG = flat_grad(m.image_logprob({meta.prompt}, codes).sum(), params);
    auto gU = flat_grad(m.judge_logprob_yes({images[p]}, {meta.prompt}).sum(), params);
    pd.k_own = torch::dot(gG, d).item<double>();
    pd.k_und = torch::dot(gU, d).item<double>();
    pd.cos_gen_und = (torch::dot(gG, gU) / (gG.norm() * gU.norm() + 1e-30)).item<double>();
    // Bayes term: weights from the model's own likelihoods of x0 under each prompt.
    std::vector<double> lik = {0}, kalt;
    {
      torch::NoGradGuard ng;
      lik[0] = m.image_logprob({meta.prompt}, codes).item<double>();
    }
    double alt_abs = 0;
    for (auto& a : alts[p]) {
      auto lp = m.image_logprob({a}, codes).sum();
      lik.push_back(lp.item<double>());
      const double k = torch::dot(flat_grad(lp, params), d).item<double>();
      kalt.push_back(k);
      alt_abs += std::abs(k);
    }
    pd.k_alt = alts[p].empty() ? 0 : alt_abs / alts[p].size();
    double mx = *std::max_element(lik.begin(), lik.end()), z = 0;
    for (double v : lik) z += std::exp(v - mx);
    double weighted = std::exp(lik[0] - mx) / z * pd.k_own;
    for (size_t i = 0; i < kalt.size(); ++i) weighted += std::exp(lik[i + 1] - mx) / z * kalt[i];
    const double k_bayes = pd.k_own - weighted;
    auto q0 = evaluate_probe(m, meta.prompt, codes, images[p], alts[p]);
    pd.g0 = q0.g, pd.u0 = q0.u, pd.bayes0 = q0.bayes;
    for (double eta : cfg.etas) {
      pd.pred_dg.push_back(eta * pd.k_own);
      pd.pred_du.push_back(eta * pd.k_und);
      pd.pred_dbayes.push_back(eta * k_bayes);
    }
    rep.probes.push_back(std::move(pd));
    prog.update();
  }
  prog.finish();

  // Measured: take the real step for each eta (theta + eta d), re-evaluate, restore.
  std::vector<torch::Tensor> saved;
  for (auto& p : params) saved.push_back(p.detach().clone());
  for (double eta : cfg.etas) {
    {
      torch::NoGradGuard ng;
      int64_t off = 0;
      for (auto& p : params) {
        p.add_(eta * d.narrow(0, off, p.numel()).view_as(p));
        off += p.numel();
      }
    }
    for (size_t p = 0; p < rep.probes.size(); ++p) {
      auto& pd = rep.probes[p];
      const Candidate& c = pool.candidates[pd.candidate];
      auto q = evaluate_probe(m, pool.prompts[c.prompt_index].prompt, candidate_codes(c), images[p], alts[p]);
      pd.meas_dg.push_back(q.g - pd.g0);
      pd.meas_du.push_back(q.u - pd.u0);
      pd.meas_dbayes.push_back(q.bayes - pd.bayes0);
    }
    torch::NoGradGuard ng;
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(saved[i]);
  }
  return rep;
}

json DynamicsReport::to_json() const {
  json per_eta = json::array();
  for (size_t e = 0; e < etas.size(); ++e) {
    std::vector<double> pg, mg, pu, mu, pb, mb;
    for (auto& p : probes) {
      pg.push_back(p.pred_dg[e]), mg.push_back(p.meas_dg[e]);
      pu.push_back(p.pred_du[e]), mu.push_back(p.meas_du[e]);
      pb.push_back(p.pred_dbayes[e]), mb.push_back(p.meas_dbayes[e]);
    }
    per_eta.push_back({{"eta", etas[e]},
                       {"dG", fit(pg, mg).to_json()},
                       {"dU_judge", fit(pu, mu).to_json()},
                       {"dU_bayes", fit(pb, mb).to_json()}});
  }
  double own = 0, alt = 0, cos = 0;
  int own_dominates = 0;
  json rows = json::array();
  for (auto& p : probes) {
    own += std::abs(p.k_own), alt += p.k_alt, cos += p.cos_gen_und;
    own_dominates += std::abs(p.k_own) > p.k_alt;
    rows.push_back({{"candidate", p.candidate}, {"oracle", p.oracle}, {"own_verdict", p.own_verdict}, {"k_own", p.k_own},
                    {"k_alt", p.k_alt}, {"k_und", p.k_und}, {"cos_gen_und", p.cos_gen_und},
                    {"pred_dG", p.pred_dg}, {"meas_dG", p.meas_dg}, {"pred_dU", p.pred_du}, {"meas_dU", p.meas_du},
                    {"pred_dU_bayes", p.pred_dbayes}, {"meas_dU_bayes", p.meas_dbayes}});
  }
  const double n = std::max<size_t>(1, probes.size());
  return {{"fits", per_eta},
          {"kernel",
           {{"mean_abs_K_own", own / n},
            {"mean_abs_K_alternatives", alt / n},
            {"probes_own_dominates", own_dominates},
            {"probes", probes.size()},
            {"mean_cos_gen_und", cos / n}}},
          {"probes", rows}};
}

std::string fp_group(bool correct, bool base_accepts, bool improved_accepts) {
  if (!correct) {
    if (base_accepts) return improved_accepts ? "fp_kept" : "fp_corrected";
    return improved_accepts ? "newly_wrong_tn_to_fp" : "tn_kept";
  }
  if (base_accepts) return improved_accepts ? "tp_kept" : "newly_wrong_tp_to_fn";
  return improved_accepts ? "fn_to_tp" : "fn_kept";
}

json fp_correction_groups(UnifiedMultimodal& base, UnifiedMultimodal& improved, const Pool& pool, int max_probes,
                          uint64_t seed, double threshold) {
  std::vector<int> idx;
  for (size_t i = 0; i < pool.candidates.size(); ++i)
    if (pool.candidates[i].round == 0) idx.push_back(int(i));
  Rng rng(derive_seed(seed, "fp-groups"));
  rng.shuffle(idx);
  if (max_probes > 0 && int(idx.size()) > max_probes) idx.resize(size_t(max_probes));
  struct Acc {
    int n = 0, dg_negative = 0, same_sign = 0;
    double dg = 0, du = 0;
    std::vector<double> dgs, dus;
  };
  std::map<std::string, Acc> groups;
  base.set_training(false), improved.set_training(false);
  Progress prog("fp-correction groups", int64_t(idx.size()), "img");
  for (int i : idx) {
    const Candidate& c = pool.candidates[i];
    const std::string& prompt = pool.prompts[c.prompt_index].prompt;
    auto codes = candidate_codes(c);
    torch::NoGradGuard ng;
    Image img = base.decode_codes(codes)[0];
    const double sb = base.judge({img}, {prompt})[0], si = improved.judge({img}, {prompt})[0];
    const std::string g = fp_group(c.oracle, sb > threshold, si > threshold);
    const double dg = improved.image_logprob({prompt}, codes).item<double>() - base.image_logprob({prompt}, codes).item<double>();
    const double du = std::log(std::max(si, 1e-12)) - std::log(std::max(sb, 1e-12));
    auto& a = groups[g];
    a.n++, a.dg += dg, a.du += du, a.dg_negative += dg < 0, a.same_sign += (dg < 0) == (du < 0);
    a.dgs.push_back(dg), a.dus.push_back(du);
    prog.update();
  }
  prog.finish();
  json out = json::object();
  for (auto& [g, a] : groups)
    out[g] = {{"n", a.n},
              {"mean_dG", a.dg / a.n},
              {"mean_dU", a.du / a.n},
              {"dG_negative", a.dg_negative},
              {"dG_dU_same_sign", a.same_sign},
              {"dG", a.dgs},
              {"dU", a.dus}};
  return out;
}

}  // namespace unigap
