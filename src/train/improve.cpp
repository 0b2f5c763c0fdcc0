#include "train/improve.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "common/error.h"
#include "common/progress.h"
#include "dist/dist.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "model/shapes_model.h"
#include "train/audit.h"
#include "train/checkpointing.h"
#include "train/losses.h"
#include "world/suite.h"

namespace unigap {

void ImproveConfig::validate() const {
  auto fail = [](const std::string& f, const std::string& why) { throw UserError(why, "improve option '" + f + "'"); };
  if (method != "sft" && method != "dpo") fail("method", "must be sft or dpo, found '" + method + "'");
  Supervision::parse(supervision);
  if (train_prompts < 1) fail("train_prompts", "must be >= 1");
  if (pool.candidates < 1) fail("candidates", "must be >= 1");
  if (method == "dpo" && pool.candidates < 2) fail("candidates", "DPO needs >= 2 candidates per prompt");
  if (epochs < 1) fail("epochs", "must be >= 1");
  if (batch < 1) fail("batch", "must be >= 1");
  if (!(lr > 0)) fail("lr", "must be > 0");
  if (!(beta > 0)) fail("beta", "must be > 0");
  if (!(prompt_dropout >= 0 && prompt_dropout < 1)) fail("prompt_dropout", "must be in [0, 1)");
  for (auto& g : train_groups)
    if (std::find(kParamGroups.begin(), kParamGroups.end(), g) == kParamGroups.end())
      fail("train_groups", "unknown group '" + g + "' (backbone, gen_aligner, gen_head, und_encoder, vq)");
  if (train_groups.empty()) fail("train_groups", "at least one group must train");
  for (int e : curriculum_epochs)
    if (e < 1 || e >= epochs) fail("curriculum_epochs", "replay epoch " + std::to_string(e) + " must be in [1, epochs)");
  pool.sampling.validate();
  eval.validate();
}

json ImproveConfig::to_json() const {
  return {{"method", method},
          {"supervision", supervision},
          {"seed", seed},
          {"train_prompts", train_prompts},
          {"candidates", pool.candidates},
          {"candidate_cfg", pool.sampling.cfg_weight},
          {"candidate_temperature", pool.sampling.temperature},
          {"candidate_top_k", pool.sampling.top_k},
          {"threshold", pool.threshold},
          {"epochs", epochs},
          {"batch", batch},
          {"lr", lr},
          {"warmup", warmup},
          {"weight_decay", weight_decay},
          {"grad_clip", grad_clip},
          {"prompt_dropout", prompt_dropout},
          {"beta", beta},
          {"nll_weight", nll_weight},
          {"train_groups", train_groups},
          {"curriculum_epochs", curriculum_epochs},
          {"audit_min_precision", audit_min_precision},
          {"audit_sample", audit_sample},
          {"eval_every", eval_every},
          {"eval_prompts", eval_prompts},
          {"eval", eval.to_json()},
          {"pool_from", pool_from}};
}

namespace {

using Clock = std::chrono::steady_clock;

torch::Tensor codes_tensor(const std::vector<const Candidate*>& cs) {
  const int64_t B = int64_t(cs.size()), N = int64_t(cs[0]->codes.size());
  auto t = torch::empty({B, N}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) std::memcpy(t[b].data_ptr<int64_t>(), cs[b]->codes.data(), N * sizeof(int64_t));
  return t;
}

json eval_record(const EvalResult& r, int epoch) {
  json j = {{"epoch", epoch},
            {"gen", r.gap.gen_overall},
            {"gen_ci95", {r.gap.gen_overall_ci.lo, r.gap.gen_overall_ci.hi}},
            {"non", r.gap.pooled.non.to_json()},
            {"weakgen", r.gap.pooled.weakgen.to_json()},
            {"und", r.und.overall.accuracy.to_json()},
            {"und_fp_rate", r.und.overall.fp_rate.to_json()},
            {"confusion", r.gap.pooled.confusion.to_json()}};
  if (r.vs_ref) j["vs_base"] = r.vs_ref->to_json();
  return j;
}

// The round-0 candidates of the improve run in c.pool_from, after checking that they are
// what this run would have sampled: same base, seed, prompts and sampling. The candidates do
// not depend on who labels them, so a pool made under another supervision is relabeled under
// this run's (from each candidate's own score and oracle verdict): the pool that sampling
// would have made, without sampling it again. A ckpt:PATH judge has to see the images: refused.
Pool reuse_pool(const ImproveConfig& c, const std::string& base_ckpt, const WorldSpec& spec) {
  const std::string cfg_path = c.pool_from + "/config.json", pool_path = c.pool_from + "/pool.jsonl";
  if (!file_exists(cfg_path) || !file_exists(pool_path))
    throw UserError("not an improve run directory (config.json and pool.jsonl needed)", c.pool_from, "--pool-from");
  const json saved = read_json(cfg_path);
  if (saved.value("command", "") != "improve") throw UserError("not an improve run", cfg_path, "--pool-from");
  const json mine = c.to_json(), theirs = saved.at("improve");
  for (const char* k : {"seed", "train_prompts", "candidates", "candidate_cfg", "candidate_temperature",
                        "candidate_top_k", "threshold"})
    if (theirs.value(k, json()) != mine.at(k))
      throw UserError("its pool was made with " + std::string(k) + " = " + theirs.value(k, json()).dump() + ", this run has " +
                          mine.at(k).dump(),
                      cfg_path, "--pool-from needs a run with the same pool settings");
  if (!same_checkpoint(saved.value("base", std::string()), base_ckpt))
    throw UserError("its pool was sampled from another base model (" + saved.value("base", std::string()) + ")", cfg_path,
                    "--pool-from needs a run from the same --ckpt");
  const std::string theirs_sup = theirs.value("supervision", std::string());
  const Supervision sup = Supervision::parse(c.supervision);
  const bool relabel = theirs_sup != c.supervision;
  if (relabel && sup.kind == "ckpt")
    throw UserError("its pool was labeled by " + theirs_sup + "; a ckpt: judge must see the images, which a reused pool does not keep",
                    cfg_path, "--pool-from with --supervision ckpt:PATH needs a run with the same supervision");
  Pool pool = Pool::load(pool_path, spec);
  pool.candidates.erase(std::remove_if(pool.candidates.begin(), pool.candidates.end(), [](const Candidate& x) { return x.round > 0; }),
                        pool.candidates.end());
  if (relabel) {
    PoolOptions po = c.pool;
    po.seed = derive_seed(c.seed, "pool");
    for (auto& x : pool.candidates) label_candidate(x, sup, 0.0, po);
  }
  log_info("pool: " + std::to_string(pool.candidates.size()) + " round-0 candidates of " + pool_path +
           (relabel ? ", relabeled from " + theirs_sup + " to " + c.supervision : std::string()));
  return pool;
}

}  // namespace

bool codegradation_alarm(double non0, double gen0, double und0, const EvalResult& now) {
  // Non measures agreement, not correctness: falling Non with a falling external metric is
  // co-degradation. "Falling" = the epoch-0 value lies above this epoch's 95% interval, so
  // that the sampling noise of a small tracking suite does not raise the alarm.
  const auto non = now.gap.pooled.non.value();
  if (!non || !(*non < non0)) return false;
  const bool gen_fell = now.gap.gen_overall_ci.hi < gen0;
  const bool und_fell = now.und.overall.accuracy.n > 0 && now.und.overall.accuracy.ci().hi < und0;
  return gen_fell || und_fell;
}

ImproveResult improve(const ImproveConfig& c, const std::string& base_ckpt, const std::string& out_dir, bool resume) {
  c.validate();
  const auto t0 = Clock::now();
  RunDir run(out_dir);
  auto base = ShapesModel::load(base_ckpt);
  auto policy = ShapesModel::load(base_ckpt);
  const WorldSpec& spec = policy->world();
  const Supervision sup = Supervision::parse(c.supervision);
  std::unique_ptr<ShapesModel> other;
  if (sup.kind == "ckpt") {
    other = ShapesModel::load(sup.ckpt);
    if (other->world().fingerprint() != spec.fingerprint())
      throw UserError("the judge checkpoint was trained on another world", sup.ckpt);
  }
  json cfg_json = {{"command", "improve"}, {"base", base_ckpt}, {"improve", c.to_json()}, {"world", spec.to_json()}};
  Checkpointer ckpt(out_dir + "/checkpoints");
  if (resume) resume = run.resume_or_restart("nothing to resume");
  if (resume) {
    json saved = read_json(run.file("config.json"));
    if (saved["improve"] != cfg_json["improve"] || saved["base"] != cfg_json["base"])
      throw UserError("the run was started with another config", run.file("config.json"), "resume with the same options");
  } else {
    if (file_exists(run.file("pool.jsonl")))
      throw UserError("the run directory already has a pool", out_dir, "pass --resume to continue it, or use a new --out");
    run.write_config(cfg_json);
  }

  // ---- candidate pool (round 0) ----
  Pool pool;
  // Resuming: what a crash left half-done goes (temp files, an incomplete checkpoint
  // folder), and so does everything made after the checkpoint (replayed candidates,
  // metrics records): those epochs run again, identically.
  std::optional<CheckpointState> resume_from;
  if (resume) {
    const int temps = run.remove_stray_temps(), orphans = ckpt.remove_orphans();
    resume_from = ckpt.latest();
    const int done_epochs = resume_from ? resume_from->step : -1;
    const int dropped = run.rewind_metrics([&](const json& r) { return r.value("epoch", 0) <= done_epochs; });
    if (temps + orphans + dropped > 0)
      log_info("resume: removed " + std::to_string(temps) + " temp file(s), " + std::to_string(orphans) +
               " incomplete checkpoint(s), " + std::to_string(dropped) + " metrics record(s) after the checkpoint");
  }
  if (resume && file_exists(run.file("pool.jsonl"))) {
    pool = Pool::load(run.file("pool.jsonl"), spec);
    pool.check_codes(policy->image_tokens(), policy->codebook_size(), run.file("pool.jsonl"));
    const int done_epochs = resume_from ? resume_from->step : 0;
    const size_t before = pool.candidates.size();
    pool.candidates.erase(std::remove_if(pool.candidates.begin(), pool.candidates.end(),
                                         [&](const Candidate& x) { return x.round > done_epochs; }),
                          pool.candidates.end());
    if (pool.candidates.size() != before) {
      log_info("resume: dropped " + std::to_string(before - pool.candidates.size()) + " replay candidates made after the checkpoint");
      pool.save(run.file("pool.jsonl"));
    }
  } else if (!c.pool_from.empty()) {
    pool = reuse_pool(c, base_ckpt, spec);
    pool.check_codes(policy->image_tokens(), policy->codebook_size(), c.pool_from + "/pool.jsonl");
    pool.save(run.file("pool.jsonl"));
  } else {
    pool.prompts = sample_suite(spec, Split::Train, c.train_prompts, c.seed);
    std::vector<int> all(pool.prompts.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = int(i);
    PoolOptions po = c.pool;
    po.seed = derive_seed(c.seed, "pool");
    policy->set_training(false);
    pool.candidates = sample_candidates(*policy, other.get(), sup, spec, pool.prompts, all, po, 0);
    pool.save(run.file("pool.jsonl"));
  }

  // ---- data-quality check before training ----
  AuditReport audit = audit_pool(pool, c.audit_sample, c.seed);
  write_json(run.file("audit.json"), audit.to_json());
  log_info(audit.text());
  if (c.audit_min_precision >= 0 && (!audit.precision.value() || *audit.precision.value() < c.audit_min_precision))
    throw UserError("refusing to train: estimated precision of the accepted data is " +
                        (audit.precision.value() ? std::to_string(*audit.precision.value()) : std::string("undefined")) +
                        ", below --audit-min-precision " + std::to_string(c.audit_min_precision),
                    run.file("audit.json"), "the supervision accepts too many wrong images; see the audit");

  ImproveResult res;
  {  // prompts the initial round left without an accepted candidate
    Pool initial;
    initial.prompts = pool.prompts;
    for (auto& x : pool.candidates)
      if (x.round == 0) initial.candidates.push_back(x);
    res.discarded = int(initial.discard().size());
  }
  policy->train_only(c.train_groups);
  const std::vector<torch::Tensor> params = policy->net().trainable_parameters();
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));

  int start_epoch = 1;
  int64_t global_step = 0;
  if (resume_from) {
    ckpt.restore(*resume_from, policy->net(), opt);
    start_epoch = resume_from->step + 1;
    global_step = read_json(resume_from->dir + "/config.json").value("global_step", int64_t(0));
    for (auto& l : read_jsonl(run.file("metrics.jsonl")))
      if (l.value.value("kind", "") == "replay") res.joined_at_replay.push_back(l.value.at("joined").get<int>());
    log_info("resuming improve at epoch " + std::to_string(start_epoch));
  }

  if (Dist& d = Dist::current(); d.active()) {
    d.agree("the improvement epoch to start from", std::to_string(start_epoch));
    std::vector<torch::Tensor> state = policy->net().parameters();
    for (auto& b : policy->net().buffers()) state.push_back(b);
    d.broadcast(state);  // equal anyway (same checkpoint); rank 0's are the reference
  }

  auto eval_suite = sample_suite(spec, Split::Eval, c.eval_prompts, derive_seed(c.seed, "track"));
  EvalOptions eo = c.eval;
  eo.seed = derive_seed(c.seed, "track-eval");
  double non0 = NAN, gen0 = NAN, und0 = NAN;
  auto track = [&](int epoch) {
    policy->set_training(false);
    auto r = evaluate(*policy, spec, eval_suite, eo, "", epoch == 0 ? nullptr : base.get());
    json rec = eval_record(r, epoch);
    rec["kind"] = "eval";
    const double non = *r.gap.pooled.non.value(), gen = r.gap.gen_overall,
                 und = r.und.overall.accuracy.value().value_or(NAN);
    if (epoch == 0) {
      non0 = non, gen0 = gen, und0 = und;
    } else if (codegradation_alarm(non0, gen0, und0, r)) {
      rec["warning"] = "co-degradation: Non fell while an external metric fell below its 95% interval";
      log_warn("epoch " + std::to_string(epoch) + ": Non fell (" + std::to_string(non0) + " -> " + std::to_string(non) +
               ") while Gen (" + std::to_string(gen0) + " -> " + std::to_string(gen) + ") or Und (" + std::to_string(und0) +
               " -> " + std::to_string(und) + ") fell below its 95% interval: possible co-degradation");
    }
    run.append_metric(rec);
    log_info("epoch " + std::to_string(epoch) + ": Gen " + std::to_string(gen) + ", Non " + std::to_string(non) + ", Und " +
             std::to_string(und));
    policy->train_only(c.train_groups);
  };
  if (start_epoch == 1) track(0);
  else {  // baseline figures for the co-degradation warning
    json first = read_jsonl(run.file("metrics.jsonl")).at(0).value;
    non0 = first["non"]["value"], gen0 = first["gen"], und0 = first["und"]["value"].is_null() ? NAN : first["und"]["value"].get<double>();
  }

  // DPO: the frozen reference's log-probs of every pair, computed once.
  std::vector<DpoPair> pairs = pool.pairs();
  torch::Tensor ref_chosen, ref_rejected;
  if (c.method == "dpo") {
    if (pairs.empty()) throw UserError("no DPO pairs: no prompt has both an accepted and a rejected candidate", out_dir);
    torch::NoGradGuard ng;
    std::vector<torch::Tensor> rc, rr;
    for (size_t s = 0; s < pairs.size(); s += 128) {
      std::vector<const Candidate*> ch, rj;
      std::vector<std::string> pr;
      for (size_t i = s; i < std::min(pairs.size(), s + 128); ++i)
        ch.push_back(pairs[i].chosen), rj.push_back(pairs[i].rejected), pr.push_back(pool.prompts[pairs[i].chosen->prompt_index].prompt);
      rc.push_back(base->image_logprob(pr, codes_tensor(ch)));
      rr.push_back(base->image_logprob(pr, codes_tensor(rj)));
    }
    ref_chosen = torch::cat(rc), ref_rejected = torch::cat(rr);
  }
  res.dpo_pairs = int(pairs.size());

  const int64_t N = policy->image_tokens();
  for (int epoch = start_epoch; epoch <= c.epochs; ++epoch) {
    policy->set_training(true);
    auto sft = pool.accepted();
    res.sft_samples = int(sft.size());
    const size_t n_items = c.method == "sft" ? sft.size() : pairs.size();
    if (n_items == 0) throw UserError("no training data: the supervision accepted no candidate", out_dir);
    std::vector<size_t> order(n_items);
    for (size_t i = 0; i < n_items; ++i) order[i] = i;
    Rng rng(derive_seed(c.seed, "epoch", uint64_t(epoch)));
    rng.shuffle(order);
    Progress prog(c.method + " epoch " + std::to_string(epoch), int64_t((n_items + c.batch - 1) / c.batch), "step");
    for (size_t s = 0; s < n_items; s += size_t(c.batch), ++global_step) {
      std::vector<size_t> idx(order.begin() + s, order.begin() + std::min(n_items, s + size_t(c.batch)));
      const double lr = c.lr * std::min(1.0, double(global_step + 1) / std::max(1, c.warmup));
      for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      json rec = {{"kind", "train"}, {"epoch", epoch}, {"step", global_step}, {"lr", lr}};
      // Data parallel: the batch's inputs (and their random draws) are built on every
      // rank; the model sees this rank's rows [lo, lo + n), each loss scaled by n / B so
      // that the allreduced gradient is the global batch's (dist/dist.h).
      Dist& d = Dist::current();
      const int64_t B = int64_t(idx.size());
      const auto [lo_u, hi_u] = d.share(idx.size());
      const int64_t lo = int64_t(lo_u), n = int64_t(hi_u - lo_u);
      const double frac = double(n) / double(B);
      torch::Tensor loss = torch::zeros({});
      std::vector<double> figures;  // sums over this rank's rows, for the log
      if (c.method == "sft") {
        std::vector<const Candidate*> cs;
        std::vector<std::string> pr;
        for (size_t i : idx) cs.push_back(sft[i]), pr.push_back(pool.prompts[sft[i]->prompt_index].prompt);
        auto ids = policy->prompt_ids(pr);
        for (int64_t b = 0; b < ids.size(0); ++b)
          if (rng.bernoulli(c.prompt_dropout)) ids[b].fill_(policy->net().tok_pad);
        if (n > 0) {
          std::vector<const Candidate*> mine(cs.begin() + lo, cs.begin() + lo + n);
          loss = frac * sft_loss(policy->net().gen_logits(ids.narrow(0, lo, n), codes_tensor(mine)), codes_tensor(mine));
        }
        figures = {loss.item<double>()};
      } else {
        std::vector<const Candidate*> ch, rj;
        std::vector<std::string> pr;
        std::vector<int64_t> ri;
        for (int64_t k = lo; k < lo + n; ++k) {
          const size_t i = idx[size_t(k)];
          ch.push_back(pairs[i].chosen), rj.push_back(pairs[i].rejected),
              pr.push_back(pool.prompts[pairs[i].chosen->prompt_index].prompt), ri.push_back(int64_t(i));
        }
        figures.assign(7, 0.0);
        if (n > 0) {
          // Chosen and rejected in one batch.
          std::vector<std::string> pr2 = pr;
          pr2.insert(pr2.end(), pr.begin(), pr.end());
          std::vector<const Candidate*> both = ch;
          both.insert(both.end(), rj.begin(), rj.end());
          auto codes = codes_tensor(both);
          auto lp = sequence_logprob(policy->net().gen_logits(policy->prompt_ids(pr2), codes), codes);
          auto ridx = torch::tensor(ri, torch::kLong);
          auto t = dpo_loss(lp.narrow(0, 0, n), lp.narrow(0, n, n), ref_chosen.index_select(0, ridx),
                            ref_rejected.index_select(0, ridx), c.beta, c.nll_weight, N);
          loss = frac * t.loss;
          figures = {loss.item<double>(),
                     t.reward_chosen.sum().item<double>(),
                     t.reward_rejected.sum().item<double>(),
                     (t.reward_chosen - t.reward_rejected).sum().item<double>(),
                     (t.reward_chosen > t.reward_rejected).to(torch::kFloat32).sum().item<double>(),
                     lp.narrow(0, 0, n).detach().sum().item<double>(),
                     lp.narrow(0, n, n).detach().sum().item<double>()};
        }
      }
      if (d.active()) {
        std::vector<torch::Tensor> f{torch::tensor(figures, torch::kFloat64)};
        d.allreduce_sum(f);
        figures.assign(f[0].data_ptr<double>(), f[0].data_ptr<double>() + f[0].numel());
      }
      if (c.method == "sft") {
        rec["loss/sft"] = figures[0];
      } else {
        rec["loss/dpo"] = figures[0];
        rec["rewards/chosen"] = figures[1] / double(B);
        rec["rewards/rejected"] = figures[2] / double(B);
        rec["rewards/margins"] = figures[3] / double(B);
        rec["rewards/accuracies"] = figures[4] / double(B);
        rec["logps/chosen"] = figures[5] / double(B);
        rec["logps/rejected"] = figures[6] / double(B);
      }
      if (inject_nan_loss("improve", int(global_step))) loss = loss * std::numeric_limits<float>::quiet_NaN();
      opt.zero_grad();
      if (loss.requires_grad()) loss.backward();  // a rank with no rows this step adds zeros
      const double comm_s = allreduce_gradients(params);
      if (d.active()) rec["dist/allreduce_ms"] = comm_s * 1e3;
      inject_inf_grad("improve", int(global_step), policy->net().named_parameters());
      check_finite(loss, policy->net().named_parameters(), "improve", int(global_step));
      rec["grad_norm"] = clip_grad_norm(params, c.grad_clip);
      opt.step();
      prog.update(1, "loss " + std::to_string(figures[0]));
      if (global_step % 10 == 0) run.append_metric(rec);
    }
    prog.finish();

    // Curriculum replay: the current model regenerates and rescores the discard pool.
    if (std::find(c.curriculum_epochs.begin(), c.curriculum_epochs.end(), epoch) != c.curriculum_epochs.end()) {
      auto discard = pool.discard();
      PoolOptions po = c.pool;
      po.seed = derive_seed(c.seed, "pool");
      policy->set_training(false);
      auto fresh = sample_candidates(*policy, other.get(), sup, spec, pool.prompts, discard, po, epoch);
      std::set<int> joined;
      for (auto& cand : fresh)
        if (cand.verdict) joined.insert(cand.prompt_index);
      pool.candidates.insert(pool.candidates.end(), fresh.begin(), fresh.end());
      pool.save(run.file("pool.jsonl"));
      res.joined_at_replay.push_back(int(joined.size()));
      run.append_metric({{"kind", "replay"}, {"epoch", epoch}, {"discard_before", discard.size()}, {"joined", joined.size()},
                         {"sft_samples_after", pool.accepted().size()}});
      log_info("replay at epoch " + std::to_string(epoch) + ": " + std::to_string(joined.size()) + " of " +
               std::to_string(discard.size()) + " discarded prompts rejoined");
    }
    if ((c.eval_every > 0 && epoch % c.eval_every == 0) || epoch == c.epochs) track(epoch);
    ckpt.save("improve", epoch, *policy, opt, {{"global_step", global_step}});
  }
  policy->set_training(false);
  res.model_dir = out_dir + "/model";
  policy->save(res.model_dir, {{"improve", c.to_json()}, {"base", base_ckpt}});
  res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  run.write_summary({{"model_dir", res.model_dir},
                     {"sft_samples", pool.accepted().size()},
                     {"dpo_pairs", res.dpo_pairs},
                     {"discarded_initially", res.discarded},
                     {"joined_at_replay", res.joined_at_replay},
                     {"audit", audit.to_json()},
                     {"seconds", res.seconds}});
  return res;
}

}  // namespace unigap
