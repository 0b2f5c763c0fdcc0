#include "dynamics/held_out.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "common/error.h"
#include "common/progress.h"
#include "common/rng.h"
#include "dynamics/entk.h"
#include "eval/external_judge.h"
#include "eval/gap_metrics.h"
#include "eval/stats.h"

namespace unigap {

void HeldOutConfig::validate() const {
  if (split == Split::Train) throw UserError("the probes must be held out; the train split is what the arms train on", "--held-out");
  if (prompts < 1) throw UserError("must be >= 1, found " + std::to_string(prompts), "--held-out-prompts");
  if (k < 1) throw UserError("must be >= 1, found " + std::to_string(k), "--held-out-k");
  if (hard_negatives < 0) throw UserError("must be >= 0, found " + std::to_string(hard_negatives), "--alternatives");
  if (random_prompts < 0) throw UserError("must be >= 0, found " + std::to_string(random_prompts), "--random-prompts");
  if (hard_negatives + random_prompts < 1)
    throw UserError("the Bayes judge needs at least one alternative prompt", "--alternatives / --random-prompts");
  if (neighbours < 0) throw UserError("must be >= 0, found " + std::to_string(neighbours), "--neighbours");
  if (nearest < 1) throw UserError("must be >= 1, found " + std::to_string(nearest), "nearest");
  if (!(threshold > 0 && threshold < 1)) throw UserError("must be in (0, 1)", "--threshold");
  sampling.validate();
}

json HeldOutConfig::to_json() const {
  return {{"split", split_name(split)},
          {"prompts", prompts},
          {"k", k},
          {"hard_negatives", hard_negatives},
          {"random_prompts", random_prompts},
          {"neighbours", neighbours},
          {"nearest", nearest},
          {"threshold", threshold},
          {"seed", seed},
          {"cfg", sampling.cfg_weight},
          {"temperature", sampling.temperature},
          {"top_k", sampling.top_k},
          {"groups", groups}};
}

double gradient_cosine(const torch::Tensor& a, const torch::Tensor& b) {
  const double na = a.norm().item<double>(), nb = b.norm().item<double>();
  return na > 0 && nb > 0 ? torch::dot(a, b).item<double>() / (na * nb) : 0.0;
}

Pool held_out_probes(UnifiedMultimodal& base, ExternalJudge& judge, const WorldSpec& spec, const HeldOutConfig& c) {
  c.validate();
  Pool p;
  p.judge = judge.name();
  p.prompts = sample_suite(spec, c.split, c.prompts, derive_seed(c.seed, "held-out-prompts"));
  std::vector<int> which(p.prompts.size());
  std::iota(which.begin(), which.end(), 0);
  PoolOptions o;
  o.candidates = c.k;
  o.sampling = c.sampling;
  o.threshold = c.threshold;
  o.seed = derive_seed(c.seed, "held-out-images");
  o.world = &spec;
  base.set_training(false);
  p.candidates = sample_candidates(base, base, nullptr, Supervision{}, judge, p.prompts, which, o, 0);
  return p;
}

void refuse_training_prompts(const Pool& probes, const Pool& train, const std::string& origin) {
  std::set<std::string> trained;
  for (auto& m : train.prompts) trained.insert(canonical_key(m));
  for (auto& m : probes.prompts)
    if (trained.count(canonical_key(m)))
      throw UserError("the held-out prompt '" + m.prompt + "' is a prompt this pool trains on", origin,
                      "held-out probes come from the validation or eval split");
}

json HeldOutProbe::to_json() const {
  return {{"candidate", candidate}, {"group", group}, {"tag", tag}, {"oracle", oracle}, {"alternatives", alternatives},
          {"lo_base", lo_base}, {"lo_now", lo_now}, {"g_base", g_base}, {"g_now", g_now}, {"bayes_base", bayes_base},
          {"bayes_now", bayes_now}, {"pred_dlo", pred_dlo}, {"pred_dg", pred_dg}, {"pred_dbayes", pred_dbayes},
          {"cos_gen_und", cos_gen_und}, {"cos_gen_bayes", cos_gen_bayes}, {"kernel_gen", kernel_gen}, {"kernel_und", kernel_und}};
}

namespace {

torch::Tensor flat(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> v;
  for (auto& p : ps) v.push_back(p.detach().reshape({-1}));
  return torch::cat(v);
}

// Random prompts of the probes' split, other than the probe's own and its hard negatives.
std::vector<std::string> random_prompts(const Pool& probes, const Metadata& m, const std::vector<std::string>& taken, int k, Rng& rng) {
  std::vector<std::string> others;
  const std::string key = canonical_key(m);
  for (auto& q : probes.prompts)
    if (canonical_key(q) != key && std::find(taken.begin(), taken.end(), q.prompt) == taken.end() &&
        std::find(others.begin(), others.end(), q.prompt) == others.end())
      others.push_back(q.prompt);
  rng.shuffle(others);
  if (int(others.size()) > k) others.resize(size_t(k));
  return others;
}

// One judge's view of the probes: its statistic before and after, and its verdict rule.
struct JudgeView {
  const char* name;
  double HeldOutProbe::*before;
  double HeldOutProbe::*after;
  double cut;  // accepts when the statistic exceeds it
};

JudgeView view_of(HeldOutJudge j, double threshold) {
  if (j == HeldOutJudge::YesNo) return {"yes_no", &HeldOutProbe::lo_base, &HeldOutProbe::lo_now, std::log(threshold / (1 - threshold))};
  return {"bayes", &HeldOutProbe::bayes_base, &HeldOutProbe::bayes_now, std::log(0.5)};
}

double auroc_of(const std::vector<const HeldOutProbe*>& ps, double HeldOutProbe::*score) {
  std::vector<ImageRecord> r(ps.size());
  std::vector<const ImageRecord*> ptrs;
  for (size_t i = 0; i < ps.size(); ++i) r[i].score = ps[i]->*score, r[i].oracle = ps[i]->oracle, ptrs.push_back(&r[i]);
  return auroc(ptrs);
}

json judge_summary(const std::vector<HeldOutProbe>& ps, HeldOutJudge judge, double threshold, uint64_t seed) {
  const JudgeView v = view_of(judge, threshold);
  std::map<std::string, int> transitions;
  std::vector<const HeldOutProbe*> all_probes;
  int right_b = 0, right_n = 0;
  for (auto& p : ps) {
    const bool ab = p.*v.before > v.cut, an = p.*v.after > v.cut;
    transitions[fp_group(p.oracle, ab, an)]++;
    right_b += ab == p.oracle, right_n += an == p.oracle;
    all_probes.push_back(&p);
  }
  auto num = [](double x) { return std::isfinite(x) ? json(x) : json(); };
  // The mean change over the probes in a base group, with a bootstrap over prompt meaning groups.
  auto change = [&](bool oracle_right, const char* what, const std::string& tag) {
    std::map<std::string, std::vector<double>> by_group;
    for (auto& p : ps)
      if (p.oracle == oracle_right && p.*v.before > v.cut && (tag.empty() || p.tag == tag))
        by_group[p.group].push_back(p.*v.after - p.*v.before);
    std::vector<std::vector<double>> clusters;
    int n = 0;
    for (auto& [g, d] : by_group) clusters.push_back(d), n += int(d.size());
    auto mean_of = [&](const std::vector<int>& idx) {
      double s = 0;
      int m = 0;
      for (int c : idx)
        for (double d : clusters[size_t(c)]) s += d, ++m;
      return m ? s / m : NAN;
    };
    std::vector<int> all(clusters.size());
    std::iota(all.begin(), all.end(), 0);
    json j = {{"images", n}, {"prompts", clusters.size()}, {"mean", num(mean_of(all))}, {"ci95", nullptr}};
    if (*what) j["what"] = what;
    if (clusters.size() >= 2)
      j["ci95"] = interval_json(bootstrap(int(clusters.size()), mean_of, 2000, derive_seed(seed, std::string(v.name) + "/" + tag)));
    return j;
  };
  json t = json::object();
  for (auto& [g, n] : transitions) t[g] = n;
  std::set<std::string> tags;
  for (auto& p : ps) tags.insert(p.tag);
  json by_tag = json::object();
  for (auto& tag : tags) by_tag[tag] = change(false, "", tag);
  return {{"auroc_base", num(auroc_of(all_probes, v.before))},
          {"auroc_change", auroc_change(ps, judge, seed)},
          {"auroc_now", num(auroc_of(all_probes, v.after))},
          {"accuracy_base", ps.empty() ? json() : json(double(right_b) / double(ps.size()))},
          {"accuracy_now", ps.empty() ? json() : json(double(right_n) / double(ps.size()))},
          {"transitions", t},
          {"change_on_base_fp", change(false, "wrong images the base accepted: a fall is co-improvement", "")},
          {"change_on_base_fp_by_tag", by_tag},
          {"change_on_base_tp", change(true, "right images the base accepted: a fall is a stricter judge", "")}};
}

}  // namespace

const char* judge_name(HeldOutJudge j) { return j == HeldOutJudge::YesNo ? "yes_no" : "bayes"; }

json auroc_change(const std::vector<HeldOutProbe>& probes, HeldOutJudge judge, uint64_t seed) {
  const JudgeView v = view_of(judge, 0.5);  // AUROC reads no threshold
  std::map<std::string, std::vector<const HeldOutProbe*>> by_group;
  for (auto& p : probes) by_group[p.group].push_back(&p);
  std::vector<std::vector<const HeldOutProbe*>> clusters;
  for (auto& [g, ps] : by_group) clusters.push_back(ps);
  auto change = [&](const std::vector<int>& idx) {
    std::vector<const HeldOutProbe*> ps;
    for (int c : idx) ps.insert(ps.end(), clusters[size_t(c)].begin(), clusters[size_t(c)].end());
    return auroc_of(ps, v.after) - auroc_of(ps, v.before);
  };
  std::vector<int> all(clusters.size());
  std::iota(all.begin(), all.end(), 0);
  const double d = change(all);
  json j = {{"mean", std::isfinite(d) ? json(d) : json()}, {"ci95", nullptr}};
  if (clusters.size() >= 2 && std::isfinite(d))
    j["ci95"] = interval_json(bootstrap(int(clusters.size()), change, 2000, derive_seed(seed, std::string("auroc/") + v.name)));
  return j;
}

HeldOutProbe HeldOutProbe::from_json(const json& j, const std::string& where) {
  HeldOutProbe p;
  auto field = [&](const char* k, auto& v) { read_required_field(j, k, v, where); };
  field("candidate", p.candidate), field("group", p.group), field("tag", p.tag), field("oracle", p.oracle);
  field("lo_base", p.lo_base), field("lo_now", p.lo_now), field("g_base", p.g_base), field("g_now", p.g_now);
  field("bayes_base", p.bayes_base), field("bayes_now", p.bayes_now);
  field("pred_dlo", p.pred_dlo), field("pred_dg", p.pred_dg), field("pred_dbayes", p.pred_dbayes);
  field("cos_gen_und", p.cos_gen_und), field("cos_gen_bayes", p.cos_gen_bayes);
  field("kernel_gen", p.kernel_gen), field("kernel_und", p.kernel_und);
  read_field(j, "alternatives", p.alternatives, "field ", where);
  return p;
}

HeldOutReport held_out_dynamics(UnifiedMultimodal& base, UnifiedMultimodal& improved, const WorldSpec& spec, const Pool& probes,
                                const Pool* train, const HeldOutConfig& c) {
  c.validate();
  if (train) refuse_training_prompts(probes, *train, "--pool");  // before any gradient
  const auto groups = c.groups.empty() ? base.default_train_groups() : c.groups;
  base.set_training(false), improved.set_training(false);
  base.train_only(groups), improved.train_only(groups);
  const auto pb = base.trainable_parameters(), pi = improved.trainable_parameters();
  bool same = pb.size() == pi.size();
  for (size_t i = 0; same && i < pb.size(); ++i) same = pb[i].sizes() == pi[i].sizes();
  if (!same) throw UserError("the improved model's trainable parameters differ in number or shape from the base's", "--improved",
                             "compare a model with the base it was fine-tuned from");
  const torch::Tensor dtheta = flat(pi) - flat(pb);

  HeldOutReport rep;
  rep.threshold = c.threshold;
  rep.seed = c.seed;
  // Two streams: the Bayes judge's alternatives are the same whatever the training pool (every
  // arm of a seed is compared on the same probes and the same alternatives).
  Rng rng_train(derive_seed(c.seed, "held-out-neighbours")), rng(derive_seed(c.seed, "held-out-alternatives"));

  // The kernels' training examples: accepted candidates of the arm's pool, their normalised
  // generation gradients at the base, one row each.
  torch::Tensor train_dirs;
  if (train && c.neighbours > 0) {
    auto acc = train->accepted();
    rng_train.shuffle(acc);
    acc.resize(std::min(acc.size(), size_t(c.neighbours)));
    std::vector<torch::Tensor> rows;
    for (size_t i : acc) {
      const Candidate& u = train->candidates[i];
      auto g = flat_grad(base.image_logprob({train->prompts[u.prompt_index].prompt}, candidate_codes(u)).sum(), pb);
      const double n = g.norm().item<double>();
      if (n > 0) rows.push_back(g / n);
    }
    if (!rows.empty()) train_dirs = torch::stack(rows);
    rep.training_examples = int(rows.size());
  }

  Progress prog("held-out dynamics", int64_t(probes.candidates.size()), "img");
  for (size_t ci = 0; ci < probes.candidates.size(); ++ci) {
    const Candidate& cand = probes.candidates[ci];
    const Metadata& meta = probes.prompts[cand.prompt_index];
    HeldOutProbe p;
    p.candidate = int(ci);
    p.group = canonical_key(meta);
    p.tag = meta.tag;
    p.oracle = cand.oracle;
    p.alternatives = hard_negative_prompts(meta, spec, c.hard_negatives, rng);
    const auto rnd = random_prompts(probes, meta, p.alternatives, c.random_prompts, rng);
    p.alternatives.insert(p.alternatives.end(), rnd.begin(), rnd.end());
    const auto codes = candidate_codes(cand);
    Image img;
    {
      torch::NoGradGuard ng;
      img = base.decode_codes(codes)[0];
    }
    // At the base, with gradients: the values, the first-order predictions, the kernels.
    auto G = base.image_logprob({meta.prompt}, codes).sum();
    auto lo = base.judge_log_odds({img}, {meta.prompt}).sum();
    auto B = bayes_log_posterior(base, meta.prompt, p.alternatives, codes);
    p.g_base = G.item<double>(), p.lo_base = lo.item<double>(), p.bayes_base = B.item<double>();
    const auto gG = flat_grad(G, pb), gU = flat_grad(lo, pb), gB = flat_grad(B, pb);
    p.pred_dg = torch::dot(gG, dtheta).item<double>();
    p.pred_dlo = torch::dot(gU, dtheta).item<double>();
    p.pred_dbayes = torch::dot(gB, dtheta).item<double>();
    p.cos_gen_und = gradient_cosine(gG, gU);
    p.cos_gen_bayes = gradient_cosine(gG, gB);
    if (train_dirs.defined()) {
      const double ng = gG.norm().item<double>(), nu = gU.norm().item<double>();
      if (ng > 0 && nu > 0) {
        auto kg = train_dirs.mv(gG) / ng, ku = train_dirs.mv(gU) / nu;
        const int64_t m = std::min<int64_t>(c.nearest, kg.size(0));
        auto top = std::get<1>(kg.topk(m));
        p.kernel_gen = kg.index_select(0, top).mean().item<double>();
        p.kernel_und = ku.index_select(0, top).mean().item<double>();
      }
    }
    // After fine-tuning, on the same pixels and codes.
    {
      torch::NoGradGuard ng;
      p.g_now = improved.image_logprob({meta.prompt}, codes).item<double>();
      p.lo_now = improved.judge_log_odds({img}, {meta.prompt}).item<double>();
      p.bayes_now = bayes_log_posterior(improved, meta.prompt, p.alternatives, codes).item<double>();
    }
    rep.probes.push_back(std::move(p));
    prog.update();
  }
  prog.finish();
  return rep;
}

json HeldOutReport::to_json() const {
  const JudgeView yes_no = view_of(HeldOutJudge::YesNo, threshold);
  std::vector<double> pl, ml, pg, mg, pb, mb, pl_fp, ml_fp;
  double cos_u = 0, cos_b = 0, kg = 0, ku = 0;
  std::set<std::string> prompts;
  for (auto& p : probes) {
    pl.push_back(p.pred_dlo), ml.push_back(p.lo_now - p.lo_base);
    pg.push_back(p.pred_dg), mg.push_back(p.g_now - p.g_base);
    pb.push_back(p.pred_dbayes), mb.push_back(p.bayes_now - p.bayes_base);
    if (!p.oracle && p.lo_base > yes_no.cut) pl_fp.push_back(p.pred_dlo), ml_fp.push_back(p.lo_now - p.lo_base);
    cos_u += p.cos_gen_und, cos_b += p.cos_gen_bayes, kg += p.kernel_gen, ku += p.kernel_und;
    prompts.insert(p.group);
  }
  const double n = std::max<double>(1, double(probes.size()));
  return {{"images", probes.size()},
          {"prompts", prompts.size()},
          {"threshold", threshold},
          {"judges",
           {{"yes_no", judge_summary(probes, HeldOutJudge::YesNo, threshold, seed)},
            {"bayes", judge_summary(probes, HeldOutJudge::Bayes, threshold, seed)}}},
          {"first_order",
           {{"what", "measured change vs <grad at the base, theta_improved - theta_base>"},
            {"log_odds", fit(pl, ml).to_json()},
            {"log_odds_on_base_fp", fit(pl_fp, ml_fp).to_json()},
            {"log_likelihood", fit(pg, mg).to_json()},
            {"bayes", fit(pb, mb).to_json()}}},
          {"kernel",
           {{"mean_cos_gen_und", cos_u / n},
            {"mean_cos_gen_bayes", cos_b / n},
            {"training_examples", training_examples},
            {"mean_cos_gen_nearest", kg / n},
            {"mean_cos_und_nearest", ku / n}}}};
}

}  // namespace unigap
