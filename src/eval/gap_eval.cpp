#include "eval/gap_eval.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "common/error.h"
#include "common/progress.h"
#include "common/rng.h"
#include "io/atomic_file.h"
#include "io/png.h"
#include "io/run_dir.h"
#include "world/geneval_folder.h"
#include "world/negatives.h"
#include "world/oracle.h"
#include "world/render.h"
#include "world/spec.h"
#include "world/suite.h"

namespace unigap {

void EvalOptions::validate() const {
  if (samples_per_prompt < 1) throw UserError("must be >= 1", "--samples-per-prompt");
  if (!(threshold > 0 && threshold < 1)) throw UserError("must be in (0, 1)", "--threshold");
  if (und_images < 0) throw UserError("must be >= 0", "--und-images");
  sampling.validate();
}

json EvalOptions::to_json() const {
  json j = {{"samples_per_prompt", samples_per_prompt},
            {"cfg_weight", sampling.cfg_weight},
            {"temperature", sampling.temperature},
            {"top_k", sampling.top_k},
            {"threshold", threshold},
            {"und_images", und_images},
            {"hard_negative_share", hard_negative_share},
            {"seed", seed},
            {"images_dir", images_dir}};
  if (open_vocabulary) j["open_vocabulary"] = true;  // absent otherwise: configs of earlier runs stay comparable
  return j;
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Images {
  std::vector<Image> images;
  std::vector<ImageRecord> records;  // oracle fields filled, judge fields not yet
  std::vector<Metadata> metadata;    // the prompt of each record
};

// Generates K images per prompt with seeds that depend only on (seed, line, k), and
// writes each prompt's folder as soon as its images exist. With opt.resume, a folder
// that is complete (metadata.jsonl is written last) is read back instead of sampled
// again: same seeds, lossless PNG, so the result equals an uninterrupted run.
Images generate_suite(UnifiedMultimodal& model, const WorldSpec& spec, const std::vector<Metadata>& suite,
                      const EvalOptions& opt, const std::string& dir, double& rate) {
  const int K = opt.samples_per_prompt;
  std::vector<std::vector<Image>> imgs(suite.size());
  std::vector<size_t> todo;
  for (size_t i = 0; i < suite.size(); ++i) {
    const std::string folder = dir + "/" + sample_folder_name(int(i));
    if (opt.resume && !dir.empty() && file_exists(folder + "/metadata.jsonl")) {
      const auto lines = read_metadata_file(folder + "/metadata.jsonl", opt.open_vocabulary ? nullptr : &spec);
      if (lines.size() != 1) throw UserError("expected one metadata line, found " + std::to_string(lines.size()), folder + "/metadata.jsonl");
      const Metadata& m = lines[0];
      if (m.prompt != suite[i].prompt)
        throw UserError("holds \"" + m.prompt + "\" but this suite's line " + std::to_string(i) + " is \"" + suite[i].prompt + "\"",
                        folder + "/metadata.jsonl", "resume with the same --suite, --prompts and --seed, or use a new --out");
      for (int k = 0; k < K; ++k) imgs[i].push_back(read_png(folder + "/samples/" + sample_file_name(k)));
    } else {
      todo.push_back(i);
    }
  }
  if (opt.resume && todo.size() < suite.size())
    log_info("resume: " + std::to_string(suite.size() - todo.size()) + " of " + std::to_string(suite.size()) +
             " prompt folders already complete in " + dir);
  Progress prog("generate", int64_t(todo.size()) * K, "img");
  const auto t0 = Clock::now();
  // Whole prompts per forward pass, so a folder can be written right after its pass.
  const size_t per_pass = std::max<size_t>(1, size_t(opt.sampling.batch) / size_t(K));
  for (size_t s = 0; s < todo.size(); s += per_pass) {
    std::vector<GenerationRequest> part;
    const size_t e = std::min(todo.size(), s + per_pass);
    for (size_t t = s; t < e; ++t)
      for (int k = 0; k < K; ++k)
        part.push_back({suite[todo[t]].prompt, derive_seed(opt.seed, "sample/" + std::to_string(todo[t]), uint64_t(k))});
    auto got = model.generate(part, opt.sampling);
    for (size_t t = s; t < e; ++t) {
      const size_t i = todo[t];
      for (int k = 0; k < K; ++k) imgs[i].push_back(std::move(got[(t - s) * K + k].image));
      if (!dir.empty()) write_sample_folder(dir, int(i), suite[i], imgs[i]);
    }
    prog.update(int64_t(part.size()));
  }
  prog.finish();
  rate = todo.empty() ? 0.0 : double(todo.size() * K) / std::max(1e-9, since(t0));
  Images out;
  for (size_t i = 0; i < suite.size(); ++i) {
    const std::string group = canonical_key(suite[i]);
    for (int k = 0; k < K; ++k) {
      ImageRecord r;
      r.prompt_index = int(i);
      r.sample = k;
      r.tag = suite[i].tag;
      r.level = suite[i].level;
      r.prompt = suite[i].prompt;
      r.group = group;
      r.file = dir.empty() ? "" : dir + "/" + sample_folder_name(int(i)) + "/samples/" + sample_file_name(k);
      out.records.push_back(r);
      out.images.push_back(imgs[i][k]);
      out.metadata.push_back(suite[i]);
    }
  }
  return out;
}

}  // namespace

bool reads_open_vocabulary(const UnifiedMultimodal& model, const std::string& world_file) {
  return !model.world() && world_file.empty();
}

void refuse_oracle_for_open_vocabulary(const std::string& what, const std::string& option) {
  throw UserError("the oracle judges the shapes world's prompts only; " + what + " is read in GenEval's open vocabulary", option,
                  "pass --judge ckpt:PATH (another model's understanding), or --world for a suite of the world");
}

WorldSpec world_of(const UnifiedMultimodal& model, const std::string& world_file) {
  if (!model.world()) return load_world_spec(world_file);
  if (!world_file.empty() && load_world_spec(world_file).fingerprint() != model.world()->fingerprint())
    throw UserError("describes another world than the one the model " + model.name() + " was trained in", world_file,
                    "leave --world out: the model's own world is used");
  return *model.world();
}

json eval_run_config(const std::string& ckpt, const std::string& ref, const std::string& suite, size_t suite_size, int seeds,
                     const EvalOptions& opt, const WorldSpec& spec, const std::string& judge) {
  return {{"command", "eval"}, {"ckpt", ckpt},       {"ref", ref},   {"suite", suite},
          {"suite_size", suite_size}, {"seeds", seeds}, {"eval", opt.to_json()}, {"world_fingerprint", spec.fingerprint()},
          {"judge", judge}};
}

std::string ref_images_of(const std::string& eval_dir, const std::string& ref_ckpt, const json& config) {
  const std::string cfg_path = eval_dir + "/config.json";
  if (!file_exists(cfg_path) || !file_exists(eval_dir + "/summary.json"))
    throw UserError("not a finished eval run (config.json and summary.json needed)", eval_dir, "--ref-images");
  const json theirs = read_json(cfg_path);
  if (theirs.value("command", "") != "eval") throw UserError("not an eval run", cfg_path, "--ref-images");
  if (!same_checkpoint(theirs.value("ckpt", std::string()), ref_ckpt))
    throw UserError("it evaluated another model (" + theirs.value("ckpt", std::string()) + ") than --ref " + ref_ckpt, cfg_path,
                    "--ref-images needs an eval of the reference model");
  // Guidance chosen per model on the validation split (--cfg-grid in both runs): the reference's
  // images are at its own chosen weight, which is then not compared.
  const bool own_guidance = theirs.contains("guidance") && config.contains("guidance");
  auto comparable = [&](const json& cfg, const char* k) {
    json v = cfg.value(k, json());
    if (own_guidance && std::string(k) == "eval" && v.is_object()) v.erase("cfg_weight");
    return v;
  };
  for (const char* k : {"suite", "suite_size", "seeds", "eval", "world_fingerprint"})
    if (comparable(theirs, k) != comparable(config, k))
      throw UserError("it ran with " + std::string(k) + " = " + theirs.value(k, json()).dump() + ", this run has " + config.at(k).dump(),
                      cfg_path, "--ref-images needs an eval with the same suite and options");
  if (config.at("seeds") != 1) throw UserError("works with one seed only", "--ref-images");
  return eval_dir + "/images";
}

namespace {

// Reads images made elsewhere (GenEval layout); bad files are refused with their path.
Images read_suite(const WorldSpec* spec, const std::string& dir) {
  std::vector<ScanProblem> problems;
  auto folders = scan_sample_root(dir, spec, problems);
  if (!problems.empty())
    throw UserError(problems[0].message, problems[0].path, std::to_string(problems.size()) + " bad input(s) in " + dir);
  Images out;
  for (auto& f : folders)
    for (size_t k = 0; k < f.images.size(); ++k) {
      Image img = read_png(f.images[k]);  // any size: the judges resize at their boundary
      ImageRecord r;
      r.prompt_index = f.index;
      r.sample = int(k);
      r.tag = f.metadata.tag;
      r.level = f.metadata.level;
      r.prompt = f.metadata.prompt;
      r.group = canonical_key(f.metadata);
      r.file = f.images[k];
      out.records.push_back(r);
      out.images.push_back(std::move(img));
      out.metadata.push_back(f.metadata);
    }
  return out;
}

void external_score(Images& im, ExternalJudge& judge) {
  const auto v = judge.verdicts(im.images, im.metadata);
  for (size_t i = 0; i < im.images.size(); ++i) im.records[i].oracle = v[i].correct, im.records[i].reason = v[i].reason;
}

std::vector<double> judge_all(UnifiedMultimodal& model, const Images& im, int batch, double& rate) {
  std::vector<std::string> prompts;
  for (auto& r : im.records) prompts.push_back(r.prompt);
  const auto t0 = Clock::now();
  auto s = model.judge(im.images, prompts, batch);
  rate = im.images.size() / std::max(1e-9, since(t0));
  return s;
}

std::vector<PairRecord> und_pairs(UnifiedMultimodal& model, const WorldSpec& spec, const std::vector<Metadata>& suite,
                                  const EvalOptions& opt) {
  const int n = opt.und_images ? opt.und_images : int(suite.size());
  Rng rng(derive_seed(opt.seed, "und-pairs"));
  auto pool = prompt_universe(spec);
  std::vector<Image> images;
  std::vector<std::string> prompts;
  std::vector<PairRecord> pairs;
  for (int i = 0; i < n; ++i) {
    const Metadata& m = suite[size_t(i) % suite.size()];
    Scene scene = layout_scene(m, spec, rng);
    Image img = render_scene(scene, spec);
    Metadata neg;
    bool hard = false;
    if (!pick_negative(m, scene, spec, pool, opt.hard_negative_share, nullptr, rng, neg, hard)) continue;
    images.push_back(img), prompts.push_back(m.prompt);
    pairs.push_back({m.tag, m.level, true, false, 0, false});
    images.push_back(img), prompts.push_back(neg.prompt);
    pairs.push_back({m.tag, m.level, false, hard, 0, false});
  }
  auto s = model.judge(images, prompts, opt.judge_batch);
  for (size_t i = 0; i < pairs.size(); ++i) pairs[i].score = s[i], pairs[i].verdict = s[i] > opt.threshold;
  return pairs;
}

}  // namespace

json EvalResult::to_json() const {
  json j = {{"external_judge", judge},
            {"gap", gap.to_json()},
            {"und", und.to_json()},
            {"speed", {{"generate_images_per_s", generate_images_per_s}, {"judge_images_per_s", judge_images_per_s}}},
            {"seconds", seconds},
            {"images", records.size()}};
  if (vs_ref) j["vs_ref"] = vs_ref->to_json();
  if (!vs_ref_by_tag.empty()) {
    json t = json::object();
    for (auto& [tag, c] : vs_ref_by_tag) t[tag] = c.to_json();
    j["vs_ref_by_tag"] = t;
  }
  if (ref_gap) j["ref_gap"] = ref_gap->to_json();
  return j;
}

EvalResult evaluate(UnifiedMultimodal& model, ExternalJudge& judge, const WorldSpec& spec, const std::vector<Metadata>& suite,
                    const EvalOptions& opt, const std::string& out_dir, UnifiedMultimodal* ref) {
  opt.validate();
  if (suite.empty()) throw UserError("the evaluation suite is empty");
  const auto t0 = Clock::now();
  if (!out_dir.empty()) make_dirs(out_dir);
  EvalResult res;
  res.judge = judge.name();
  model.set_training(false);
  Images im = opt.images_dir.empty()
                  ? generate_suite(model, spec, suite, opt, out_dir.empty() ? "" : out_dir + "/images", res.generate_images_per_s)
                  : read_suite(opt.open_vocabulary ? nullptr : &spec, opt.images_dir);
  external_score(im, judge);
  auto scores = judge_all(model, im, opt.judge_batch, res.judge_images_per_s);
  for (size_t i = 0; i < scores.size(); ++i) im.records[i].score = scores[i], im.records[i].verdict = scores[i] > opt.threshold;
  res.records = im.records;
  res.gap = summarize_gap(res.records, derive_seed(opt.seed, "bootstrap"));
  if (!opt.open_vocabulary) res.und = summarize_und(und_pairs(model, spec, suite, opt));

  if (ref) {
    ref->set_training(false);
    double unused_rate = 0;
    Images rim;
    if (opt.ref_images_dir.empty()) {
      rim = generate_suite(*ref, spec, suite, opt, out_dir.empty() ? "" : out_dir + "/ref_images", unused_rate);
    } else {  // every folder must be there: nothing is sampled into another run's folder
      for (size_t i = 0; i < suite.size(); ++i)
        if (!file_exists(opt.ref_images_dir + "/" + sample_folder_name(int(i)) + "/metadata.jsonl"))
          throw UserError("no complete prompt folder " + sample_folder_name(int(i)), opt.ref_images_dir, "--ref-images needs a finished eval");
      EvalOptions read = opt;
      read.resume = true;  // complete folders are read back (their prompts checked), none sampled
      rim = generate_suite(*ref, spec, suite, read, opt.ref_images_dir, unused_rate);
    }
    external_score(rim, judge);
    auto ref_scores = judge_all(*ref, rim, opt.judge_batch, unused_rate);
    auto new_scores = judge_all(model, rim, opt.judge_batch, unused_rate);
    std::vector<bool> rv, nv, ov;
    for (size_t i = 0; i < rim.records.size(); ++i) {
      rim.records[i].score = ref_scores[i];
      rim.records[i].verdict = ref_scores[i] > opt.threshold;
      rv.push_back(ref_scores[i] > opt.threshold);
      nv.push_back(new_scores[i] > opt.threshold);
      ov.push_back(rim.records[i].oracle);
    }
    res.vs_ref = compare_judges(rv, nv, ov);
    std::map<std::string, std::vector<bool>> trv, tnv, tov;
    for (size_t i = 0; i < rim.records.size(); ++i) {
      const std::string& tag = rim.records[i].tag;
      trv[tag].push_back(rv[i]), tnv[tag].push_back(nv[i]), tov[tag].push_back(ov[i]);
    }
    for (auto& [tag, v] : trv) res.vs_ref_by_tag[tag] = compare_judges(v, tnv[tag], tov[tag]);
    if (!out_dir.empty()) {  // per image, so that a later analysis needs no re-run
      std::vector<json> lines;
      for (size_t i = 0; i < rim.records.size(); ++i) {
        const auto& r = rim.records[i];
        lines.push_back({{"filename", r.file}, {"prompt_index", r.prompt_index}, {"sample", r.sample}, {"tag", r.tag},
                         {"group", r.group}, {"ref_score", ref_scores[i]}, {"score", new_scores[i]},
                         {"ref_verdict", bool(rv[i])}, {"verdict", bool(nv[i])}, {"correct", r.oracle}});
      }
      write_jsonl(out_dir + "/ref_results.jsonl", lines);
    }
    res.ref_gap = summarize_gap(rim.records, derive_seed(opt.seed, "bootstrap-ref"));
  }

  if (!out_dir.empty()) {
    std::vector<json> lines;
    for (auto& r : res.records)
      lines.push_back({{"filename", r.file},
                       {"prompt_index", r.prompt_index},
                       {"sample", r.sample},
                       {"tag", r.tag},
                       {"level", r.level},
                       {"prompt", r.prompt},
                       {"group", r.group},
                       {"score", r.score},
                       {"verdict", r.verdict},
                       {"correct", r.oracle},
                       {"reason", r.reason}});
    write_jsonl(out_dir + "/results.jsonl", lines);
  }
  res.seconds = since(t0);
  return res;
}

json GuidanceChoice::to_json() const {
  auto look_json = [](const Look& l) {
    json g = json::array();
    for (auto& [w, v] : l.gen) g.push_back({{"cfg", w}, {"gen", v}});
    return g;
  };
  json j = {{"chosen", chosen}, {"split", split}, {"prompts", first.suite.size()}, {"gen_by_cfg", look_json(first)}};
  if (rule == GuidanceRule::OneStage) return j;
  j["rule"] = "two-stage";
  j["margins"] = json::array();
  for (auto& [w, d, ci] : margins) j["margins"].push_back({{"cfg", w}, {"best_minus", d}, {"ci95", interval_json(ci)}});
  j["second"] = second ? json{{"prompts", second->suite.size()}, {"gen_by_cfg", look_json(*second)}} : json();
  return j;
}

std::vector<std::tuple<double, double, Interval>> guidance_margins(
    const std::vector<std::pair<double, std::vector<ImageRecord>>>& looks, double best, uint64_t seed) {
  const std::vector<ImageRecord>* at_best = nullptr;
  for (auto& [w, recs] : looks)
    if (w == best) at_best = &recs;
  if (!at_best) throw std::logic_error("guidance_margins: the best weight has no records");
  // A tag with one distinct prompt has no variation to resample: the bootstrap would call its
  // difference exact, so the look separates nothing.
  std::map<std::string, std::set<std::string>> groups_of_tag;
  for (auto& r : *at_best) groups_of_tag[r.tag].insert(group_of(r));
  const bool resamplable = std::all_of(groups_of_tag.begin(), groups_of_tag.end(), [](auto& t) { return t.second.size() >= 2; });
  std::vector<std::tuple<double, double, Interval>> out;
  for (auto& [w, recs] : looks) {
    if (w == best) continue;
    const PairedGap d = paired_gap(recs, *at_best, derive_seed(seed, "margin " + std::to_string(w)));
    out.emplace_back(w, d.d_gen, resamplable ? d.d_gen_ci : Interval{NAN, NAN});
  }
  return out;
}

namespace {

// Gen at each weight of `grid` on `suite`, with the best weight (ties: the smaller); each
// weight's records when `keep` is given.
GuidanceChoice::Look look_at(UnifiedMultimodal& model, ExternalJudge& judge, const WorldSpec& spec, const std::vector<double>& grid,
                             std::vector<Metadata> suite, const EvalOptions& opt, const char* which, double& best,
                             std::vector<std::pair<double, std::vector<ImageRecord>>>* keep) {
  GuidanceChoice::Look l;
  l.suite = std::move(suite);
  double best_gen = -1;
  for (double w : grid) {
    EvalOptions o = opt;
    o.sampling.cfg_weight = w;
    o.resume = false;
    double rate = 0;
    Images im = generate_suite(model, spec, l.suite, o, "", rate);
    external_score(im, judge);
    const double gen = summarize_gap(im.records, 0, 1).gen_overall;
    char line[128];
    std::snprintf(line, sizeof line, "guidance %g: Gen %.1f%% on %zu validation prompts (%s look)", w, 100 * gen, l.suite.size(), which);
    log_info(line);
    l.gen.push_back({w, gen});
    if (gen > best_gen || (gen == best_gen && w < best)) best_gen = gen, best = w;
    if (keep) keep->emplace_back(w, std::move(im.records));
  }
  return l;
}

}  // namespace

GuidanceChoice choose_guidance(UnifiedMultimodal& model, ExternalJudge& judge, const WorldSpec& spec,
                               const std::vector<double>& grid, int prompts, const EvalOptions& opt, GuidanceRule rule) {
  if (grid.empty()) throw UserError("needs at least one guidance weight", "--cfg-grid");
  for (double w : grid)  // all checked before any sampling
    if (!(w >= 0)) throw UserError("guidance weights must be >= 0, found " + std::to_string(w), "--cfg-grid");
  if (tuning_split(spec) != Split::Val)
    throw UserError("this world (version " + std::to_string(spec.version) + ") has no validation split to choose guidance on",
                    "--cfg-grid", "use a version 2 world");
  GuidanceChoice c;
  c.rule = rule;
  c.split = split_name(Split::Val);
  std::vector<std::pair<double, std::vector<ImageRecord>>> records;
  c.first = look_at(model, judge, spec, grid, sample_suite(spec, Split::Val, prompts, derive_seed(opt.seed, "guidance")), opt, "first",
                    c.chosen, rule == GuidanceRule::TwoStage ? &records : nullptr);
  if (rule == GuidanceRule::OneStage) return c;
  // The weights the first look cannot separate from its best look again, on every validation
  // prompt with fresh images; the second look decides.
  c.margins = guidance_margins(records, c.chosen, derive_seed(opt.seed, "guidance margins"));
  std::vector<double> tied = {c.chosen};
  for (auto& [w, d, ci] : c.margins)
    if (!(ci.lo > 0)) tied.push_back(w);  // an undefined interval separates nothing
  if (tied.size() < 2) return c;
  std::sort(tied.begin(), tied.end());
  EvalOptions o = opt;
  o.seed = derive_seed(opt.seed, "guidance second look");
  c.second = look_at(model, judge, spec, tied, split_prompts(spec, Split::Val), o, "second", c.chosen, nullptr);
  return c;
}

std::vector<ImageRecord> read_results(const std::string& path) {
  std::vector<ImageRecord> out;
  for (auto& line : read_jsonl(path)) {
    const std::string where = path + ":" + std::to_string(line.line);
    const json& j = line.value;
    auto field = [&](const char* k, auto& v) { read_required_field(j, k, v, where); };
    ImageRecord r;
    field("prompt_index", r.prompt_index), field("sample", r.sample), field("tag", r.tag), field("level", r.level);
    field("prompt", r.prompt), field("filename", r.file), field("score", r.score), field("verdict", r.verdict);
    field("correct", r.oracle), field("reason", r.reason);
    read_field(j, "group", r.group, "field ", where);  // absent in results written before meaning groups
    out.push_back(std::move(r));
  }
  return out;
}

namespace {
std::string pct(const Rate& r) {
  char b[32];
  if (!r.n) return "   n/a";
  std::snprintf(b, sizeof b, "%5.1f%%", 100.0 * r.k / r.n);
  return b;
}
std::string row(const std::string& name, const GapMetrics& g, const UndGroup* u) {
  char b[256];
  std::snprintf(b, sizeof b, "%-14s %6lld %s %s %s %5lld %5lld %5lld %5lld %s %s\n", name.c_str(), (long long)g.gen.n,
                pct(g.gen).c_str(), pct(g.non).c_str(), pct(g.weakgen).c_str(), (long long)g.confusion.tp,
                (long long)g.confusion.fp, (long long)g.confusion.tn, (long long)g.confusion.fn,
                pct(g.confusion.precision()).c_str(), u ? pct(u->accuracy).c_str() : "   n/a");
  return b;
}
}  // namespace

std::string eval_table(const EvalResult& r) {
  std::string s = "external judge (Gen, WeakGen, precision, win rate): " + r.judge + "\n";
  char b[256];
  std::snprintf(b, sizeof b, "%-14s %6s %6s %6s %6s %5s %5s %5s %5s %6s %6s\n", "group", "images", "Gen", "Non", "WeakG",
                "TP", "FP", "TN", "FN", "Prec", "Und");
  s += b;
  for (auto& [t, g] : r.gap.by_tag) {
    auto it = r.und.by_tag.find(t);
    s += row(t, g, it == r.und.by_tag.end() ? nullptr : &it->second);
  }
  for (auto& [l, g] : r.gap.by_level) {
    auto it = r.und.by_level.find(l);
    s += row("level:" + l, g, it == r.und.by_level.end() ? nullptr : &it->second);
  }
  s += row("all (pooled)", r.gap.pooled, &r.und.overall);
  auto gci = r.gap.gen_overall_ci, nci = r.gap.non_ci;
  auto uci = r.und.overall.accuracy.ci();
  std::snprintf(b, sizeof b,
                "Gen (GenEval overall, mean of tags) %.1f%% [%.1f, %.1f]; Non %.1f%% [%.1f, %.1f] (95%% cluster bootstrap over %d "
                "distinct prompts%s)\n",
                100 * r.gap.gen_overall, 100 * gci.lo, 100 * gci.hi, 100.0 * r.gap.pooled.non.k / std::max<int64_t>(1, r.gap.pooled.non.n),
                100 * nci.lo, 100 * nci.hi, r.gap.groups, defined(gci) ? "" : "; no interval below 2");
  s += b;
  std::snprintf(b, sizeof b, "Und on rendered pairs %s [%.1f, %.1f] (n=%lld; hard negatives %s, FP rate %s, FN rate %s)\n",
                pct(r.und.overall.accuracy).c_str(), 100 * uci.lo, 100 * uci.hi, (long long)r.und.overall.accuracy.n,
                pct(r.und.overall.hard_negative_accuracy).c_str(), pct(r.und.overall.fp_rate).c_str(),
                pct(r.und.overall.fn_rate).c_str());
  s += b;
  if (r.vs_ref) {
    const auto& w = r.vs_ref->win_rate;
    if (w.n) {
      auto c = w.ci();
      std::snprintf(b, sizeof b, "Win rate vs ref: %lld/%lld = %.1f%% [%.1f, %.1f]; FP->TN %lld, TN->FP %lld, FN->TP %lld, TP->FN %lld\n",
                    (long long)w.k, (long long)w.n, 100.0 * w.k / w.n, 100 * c.lo, 100 * c.hi, (long long)r.vs_ref->fp_to_tn,
                    (long long)r.vs_ref->tn_to_fp, (long long)r.vs_ref->fn_to_tp, (long long)r.vs_ref->tp_to_fn);
    } else {
      std::snprintf(b, sizeof b, "Win rate vs ref: undefined (the two judges never disagree, n = 0)\n");
    }
    s += b;
  }
  if (r.generate_images_per_s > 0)
    std::snprintf(b, sizeof b, "speed: generate %.1f img/s, judge %.1f img/s, total %.1f s\n", r.generate_images_per_s,
                  r.judge_images_per_s, r.seconds);
  else  // --images: nothing was generated
    std::snprintf(b, sizeof b, "speed: judge %.1f img/s, total %.1f s\n", r.judge_images_per_s, r.seconds);
  s += b;
  return s;
}

std::string eval_csv(const EvalResult& r) {
  std::string s = "group,key,metric,value,ci_lo,ci_hi,k,n\n";
  auto add = [&](const std::string& g, const std::string& k, const std::string& m, const Rate& rt) {
    char b[256];
    auto c = rt.ci();
    if (rt.n)
      std::snprintf(b, sizeof b, "%s,%s,%s,%.6f,%.6f,%.6f,%lld,%lld\n", g.c_str(), k.c_str(), m.c_str(), double(rt.k) / rt.n,
                    c.lo, c.hi, (long long)rt.k, (long long)rt.n);
    else
      std::snprintf(b, sizeof b, "%s,%s,%s,,,,0,0\n", g.c_str(), k.c_str(), m.c_str());
    s += b;
  };
  auto gap_rows = [&](const std::string& g, const std::string& k, const GapMetrics& m) {
    add(g, k, "gen", m.gen);
    add(g, k, "non", m.non);
    add(g, k, "weakgen", m.weakgen);
    add(g, k, "precision", m.confusion.precision());
    add(g, k, "recall", m.confusion.recall());
  };
  for (auto& [t, m] : r.gap.by_tag) gap_rows("tag", t, m);
  for (auto& [l, m] : r.gap.by_level) gap_rows("level", l, m);
  gap_rows("all", "pooled", r.gap.pooled);
  for (auto& [t, u] : r.und.by_tag) add("tag", t, "und_accuracy", u.accuracy);
  add("all", "pooled", "und_accuracy", r.und.overall.accuracy);
  add("all", "pooled", "und_fp_rate", r.und.overall.fp_rate);
  add("all", "pooled", "und_fn_rate", r.und.overall.fn_rate);
  if (r.vs_ref) add("all", "vs_ref", "win_rate", r.vs_ref->win_rate);
  return s;
}

}  // namespace unigap
