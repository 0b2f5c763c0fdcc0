// `unigap generate` (GenEval folder layout) and `unigap eval` (the internal gap:
// Gen, Und, Non, WeakGen, confusion, win rate, per tag and level, with intervals), for any
// model folder load_model reads (model/registry.h).
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "dist/dist.h"
#include "common/progress.h"
#include "common/rng.h"
#include "eval/gap_eval.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "dist/data_parallel.h"
#include "world/geneval_folder.h"
#include "world/suite.h"

namespace unigap::cli {

namespace {

void add_sampling_options(CLI::App* cmd, SampleOptions& s) {
  cmd->add_option("--cfg", s.cfg_weight, "Classifier-free guidance weight (1 = off)")->capture_default_str();
  cmd->add_option("--temperature", s.temperature, "Sampling temperature")->capture_default_str();
  cmd->add_option("--top-k", s.top_k, "Top-k filter (0 = off)")->capture_default_str();
  cmd->add_option("--batch", s.batch, "Prompts per forward pass")->capture_default_str();
}

void add_model_options(CLI::App* cmd, std::string& device, std::string& dtype, std::string& adapter) {
  cmd->add_option("--device", device, "cpu | cuda | cuda:N (a CUDA build of unigap; the Janus-Pro backend)")->capture_default_str();
  cmd->add_option("--dtype", dtype, "f32 | bf16 (default: f32 on the CPU, bf16 on CUDA; the Janus-Pro backend)");
  cmd->add_option("--adapter", adapter, "A LoRA adapter (PEFT folder) on the --ckpt model");
}

// --suite: "eval" (GenEval-proportioned sample of the eval split), "eval-all", or a metadata
// JSONL file. A file is read in the world when the model has one or --world names one, else in
// GenEval's open vocabulary (its own 553 prompts for a model of the open world: `open`).
std::vector<Metadata> load_suite(const std::string& suite, int n, uint64_t seed, const WorldSpec& spec, bool open) {
  if (suite == "eval") return sample_suite(spec, Split::Eval, n, seed);
  if (suite == "eval-all") return split_prompts(spec, Split::Eval);
  if (suite == "train") throw UserError("evaluating on training prompts is not allowed", "--suite", "use eval, eval-all or a file");
  return read_metadata_file(suite, open ? nullptr : &spec);
}

}  // namespace

void register_generate_eval(CLI::App& app) {
  // ---- generate ----
  struct GenArgs {
    std::string ckpt, prompts, out, world, device = "cpu", dtype, adapter;
    int n = 4;
    uint64_t seed = 0;
    bool quiet = false;
    SampleOptions sampling;
  };
  static GenArgs g;
  auto* gen = app.add_subcommand("generate", "Generate images for prompts, in GenEval's folder layout");
  gen->add_option("--ckpt", g.ckpt, "Model checkpoint folder")->required();
  gen->add_option("--prompts", g.prompts, "Metadata JSONL")->required();
  gen->add_option("--out,-o", g.out, "Output folder")->required();
  gen->add_option("--n", g.n, "Images per prompt")->capture_default_str();
  gen->add_option("--seed", g.seed, "Sampling seed")->capture_default_str();
  gen->add_option("--world", g.world, "World spec of the prompts, for a model without a world of its own (v1 | v2 | a spec file; default: v2)");
  add_model_options(gen, g.device, g.dtype, g.adapter);
  gen->add_flag("--quiet,-q", g.quiet, "No progress output");
  add_sampling_options(gen, g.sampling);
  gen->callback([] {
    Progress::set_enabled(!g.quiet);
    if (g.n < 1) throw UserError("must be >= 1", "--n");
    ModelOptions mo = ModelOptions::parse(g.device, g.dtype);
    mo.adapter = g.adapter;
    auto model = open_model(g.ckpt, Dist::current(), mo);
    const WorldSpec spec = world_of(*model, g.world);
    auto prompts = read_metadata_file(g.prompts, reads_open_vocabulary(*model, g.world) ? nullptr : &spec);
    Progress prog("generate", int64_t(prompts.size()) * g.n, "img");
    for (size_t i = 0; i < prompts.size(); ++i) {
      if (file_exists(g.out + "/" + sample_folder_name(int(i)) + "/metadata.jsonl")) {  // resume: folder complete
        prog.update(g.n);
        continue;
      }
      std::vector<GenerationRequest> req;
      for (int k = 0; k < g.n; ++k)
        req.push_back({prompts[i].prompt, derive_seed(g.seed, "sample/" + std::to_string(i), uint64_t(k))});
      auto samples = model->generate(req, g.sampling);
      std::vector<Image> imgs;
      for (auto& s : samples) imgs.push_back(s.image);
      write_sample_folder(g.out, int(i), prompts[i], imgs);
      prog.update(g.n);
    }
    prog.finish();
  });

  // ---- eval ----
  struct EvalArgs {
    std::string ckpt, ref, suite = "eval", out, images, ref_images, judge = "oracle", world, device = "cpu", dtype, adapter;
    int n_prompts = 553, seeds = 1, cfg_prompts = 120;
    std::vector<double> cfg_grid;
    bool quiet = false;
    EvalOptions opt;
  };
  static EvalArgs e;
  auto* ev = app.add_subcommand("eval", "Measure the generation-understanding gap (Gen, Und, Non, WeakGen, win rate)");
  ev->add_option("--ckpt", e.ckpt, "Model checkpoint folder")->required();
  ev->add_option("--ref", e.ref, "Reference model checkpoint (win rate, FP->TN on its images)");
  ev->add_option("--ref-images", e.ref_images,
                 "A finished eval run of --ref with the same suite and options: read its images instead of sampling them again");
  ev->add_option("--suite", e.suite, "eval | eval-all | a metadata JSONL file")->capture_default_str();
  ev->add_option("--prompts", e.n_prompts, "Suite size for --suite eval")->capture_default_str();
  ev->add_option("--samples-per-prompt,-k", e.opt.samples_per_prompt, "Images per prompt (K)")->capture_default_str();
  ev->add_option("--threshold", e.opt.threshold, "Verdict threshold on P(yes)/(P(yes)+P(no))")->capture_default_str();
  ev->add_option("--und-images", e.opt.und_images, "Rendered images for Und (0 = one per prompt)")->capture_default_str();
  ev->add_option("--seed", e.opt.seed, "Seed (sampling, rendering, bootstrap)")->capture_default_str();
  ev->add_option("--seeds", e.seeds, "Repeat with seeds seed..seed+S-1 and report mean +- std")->capture_default_str();
  ev->add_option("--images", e.images, "Judge these GenEval-layout images instead of generating");
  ev->add_option("--judge", e.judge, "External judge of Gen, WeakGen and the win rate: oracle | ckpt:PATH")->capture_default_str();
  ev->add_option("--world", e.world, "World spec of the suite, for a model without a world of its own (v1 | v2 | a spec file; default: v2)");
  add_model_options(ev, e.device, e.dtype, e.adapter);
  ev->add_option("--out,-o", e.out, "Run directory")->required();
  ev->add_flag("--quiet,-q", e.quiet, "No progress output");
  ev->add_flag("--resume", e.opt.resume, "Continue an interrupted run in --out: complete image folders are kept");
  add_sampling_options(ev, e.opt.sampling);
  ev->add_option("--cfg-grid", e.cfg_grid,
                 "Choose the guidance on the validation split among these weights (highest Gen; ties: the smaller; the "
                 "weights --cfg-prompts cannot separate are compared again on every validation prompt), then evaluate with "
                 "it; recorded in config.json and summary.json")
      ->delimiter(',');
  ev->add_option("--cfg-prompts", e.cfg_prompts, "Validation prompts of --cfg-grid's first look")->capture_default_str();
  ev->callback([] {
    Progress::set_enabled(!e.quiet);
    if (e.seeds < 1) throw UserError("must be >= 1", "--seeds");
    Dist& dist = Dist::current();
    const ModelOptions models = ModelOptions::parse(e.device, e.dtype);  // of --ref and the judge
    ModelOptions mo = models;
    mo.adapter = e.adapter;
    auto model = open_model(e.ckpt, dist, mo);
    const WorldSpec spec = world_of(*model, e.world);
    std::unique_ptr<UnifiedMultimodal> ref;
    if (!e.ref.empty()) {
      ref = open_model(e.ref, dist, models);
      if (ref->world() && ref->world()->fingerprint() != spec.fingerprint())
        throw UserError("the reference model was trained on another world", e.ref);
    }
    const JudgeSpec judge_spec = JudgeSpec::parse(e.judge);
    e.opt.open_vocabulary = e.suite != "eval" && e.suite != "eval-all" && reads_open_vocabulary(*model, e.world);
    if (e.opt.open_vocabulary && judge_spec.kind == JudgeSpec::Kind::Oracle) refuse_oracle_for_open_vocabulary(e.suite, "--judge");
    auto suite = load_suite(e.suite, e.n_prompts, e.opt.seed, spec, e.opt.open_vocabulary);
    e.opt.images_dir = e.images;
    auto judge = make_judge(judge_spec, spec, dist, e.opt.threshold, models);
    std::optional<GuidanceChoice> guidance;
    if (!e.cfg_grid.empty()) {
      if (!e.images.empty()) throw UserError("chooses the guidance of sampling; --images are not sampled", "--cfg-grid");
      if (e.cfg_prompts < 1) throw UserError("must be >= 1", "--cfg-prompts");
      guidance = choose_guidance(*model, *judge, spec, e.cfg_grid, e.cfg_prompts, e.opt);
      e.opt.sampling.cfg_weight = guidance->chosen;
      if (guidance->second)
        std::printf("guidance %g, chosen on %zu validation prompts (a second look: %zu validation prompts)\n", guidance->chosen,
                    guidance->first.suite.size(), guidance->second->suite.size());
      else
        std::printf("guidance %g, chosen on %zu validation prompts\n", guidance->chosen, guidance->first.suite.size());
    }
    RunDir run(e.out);
    json config = eval_run_config(e.ckpt, e.ref, e.suite, suite.size(), e.seeds, e.opt, spec, judge_spec.name());
    if (guidance) config["guidance"] = guidance->to_json();
    if (!mo.cpu_f32() || !mo.adapter.empty()) config["model_options"] = mo.to_json();  // absent: the CPU in float32, no adapter
    if (!e.ref_images.empty()) {
      if (e.ref.empty()) throw UserError("needs --ref", "--ref-images");
      e.opt.ref_images_dir = ref_images_of(e.ref_images, e.ref, config);
      config["ref_images"] = e.ref_images;  // where the reference's images came from changes no result
    }
    e.opt.resume = run.start(config, {e.opt.resume, {"ref_images"}, [&](bool b) { return dist.main_value(b); }}) ==
                   RunStart::Resumed;
    std::vector<json> per_seed;
    std::map<std::string, std::vector<double>> across;
    for (int s = 0; s < e.seeds; ++s) {
      EvalOptions o = e.opt;
      o.seed = e.opt.seed + uint64_t(s);
      const std::string dir = e.seeds == 1 ? e.out : e.out + "/seed-" + std::to_string(o.seed);
      auto res = evaluate(*model, *judge, spec, suite, o, dir, ref.get());
      std::cout << (e.seeds > 1 ? "seed " + std::to_string(o.seed) + "\n" : "") << eval_table(res) << "\n";
      json j = res.to_json();
      j["seed"] = o.seed;
      per_seed.push_back(j);
      write_file_atomic(dir + "/summary.csv", eval_csv(res));
      run.append_metric({{"seed", o.seed}, {"gen_overall", res.gap.gen_overall}, {"non", *res.gap.pooled.non.value()},
                         {"und_accuracy", res.und.overall.accuracy.value().value_or(0.0)}});
      across["gen_overall"].push_back(res.gap.gen_overall);
      across["non"].push_back(*res.gap.pooled.non.value());
      across["weakgen"].push_back(res.gap.pooled.weakgen.value().value_or(NAN));
      across["und_accuracy"].push_back(res.und.overall.accuracy.value().value_or(NAN));
      if (res.vs_ref && res.vs_ref->win_rate.n) across["win_rate"].push_back(*res.vs_ref->win_rate.value());
    }
    json summary = {{"per_seed", per_seed}};
    if (guidance) summary["guidance"] = guidance->to_json();
    if (e.seeds > 1) {
      json agg = json::object();
      for (auto& [k, v] : across) {
        auto ms = mean_std(v);
        agg[k] = {{"mean", ms.mean}, {"std", ms.std}, {"n", ms.n}};
        std::printf("%-14s %.4f +- %.4f over %d seeds\n", k.c_str(), ms.mean, ms.std, ms.n);
      }
      summary["across_seeds"] = agg;
    }
    run.write_summary(summary);
    std::cout << "summary: " << run.file("summary.json") << "\n";
  });
}

}  // namespace unigap::cli
