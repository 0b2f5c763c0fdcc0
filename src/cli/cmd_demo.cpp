// `unigap demo`: the whole pipeline on the embedded default world. Today it runs
// the stages that exist (prompt suites, rendering, the oracle on clean and on
// degraded renders) and says which stages are not built yet.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "world/check.h"
#include "world/render.h"
#include "world/suite.h"

namespace unigap::cli {

namespace {

struct DemoArgs {
  std::string out = "runs/demo";
  uint64_t seed = 0;
  int samples = 4;
  bool quick = false;
};

CheckSummary render_and_check(const WorldSpec& spec, const std::vector<Metadata>& suite, const std::string& dir,
                              int n, uint64_t seed, double noise, int blur) {
  Progress progress("render " + dir.substr(dir.find_last_of('/') + 1), int64_t(suite.size()) * n, "img");
  for (size_t i = 0; i < suite.size(); ++i) {
    Rng rng(derive_seed(seed, "demo/render", i));
    std::vector<Image> imgs;
    for (int k = 0; k < n; ++k) {
      Image img = render_scene(layout_scene(suite[i], spec, rng), spec);
      if (noise > 0) add_gaussian_noise(img, noise, rng);
      box_blur(img, blur);
      imgs.push_back(std::move(img));
      progress.update();
    }
    write_sample_folder(dir, int(i), suite[i], imgs);
  }
  progress.finish();
  CheckOutput res = check_sample_root(dir, spec, OracleOptions{});
  std::vector<json> lines;
  for (auto& r : res.results) lines.push_back(r.to_json(spec));
  write_jsonl(dir + "/results.jsonl", lines);
  return res.summary;
}

void run_demo(const DemoArgs& a) {
  WorldSpec spec = WorldSpec::defaults();
  RunDir run(a.out);
  const int n_prompts = a.quick ? 120 : 553;
  run.write_config({{"command", "demo"}, {"seed", a.seed}, {"samples_per_prompt", a.samples},
                    {"prompts", n_prompts}, {"world", spec.to_json()}});
  log_info("demo: run directory " + a.out);

  auto train = split_prompts(spec, Split::Train), eval = split_prompts(spec, Split::Eval);
  log_info("world: " + std::to_string(train.size()) + " train and " + std::to_string(eval.size()) +
           " eval prompts (disjoint)");
  auto suite = sample_suite(spec, Split::Eval, n_prompts, a.seed);
  std::vector<json> lines;
  for (auto& m : suite) lines.push_back(m.to_json());
  write_jsonl(run.file("eval_prompts.jsonl"), lines);

  CheckSummary clean = render_and_check(spec, suite, run.file("rendered_clean"), a.samples, a.seed, 0, 0);
  CheckSummary noisy = render_and_check(spec, suite, run.file("rendered_noisy"), a.samples, a.seed, 12, 1);
  std::cout << "\nOracle on clean renders of the eval suite:\n" << clean.table();
  std::cout << "\nOracle on renders with Gaussian noise (sigma 12) and a 1-px box blur:\n" << noisy.table();
  run.write_summary({{"oracle_clean", clean.to_json()}, {"oracle_noisy", noisy.to_json()}});
  std::cout << "\nNot built yet: the unified model (pretrain, generate), evaluation of the gap,\n"
               "self-improvement, learning dynamics and the HTML report. This demo grows with them.\n";
  std::cout << "summary: " << run.file("summary.json") << "\n";
}

}  // namespace

void register_demo(CLI::App& app) {
  static DemoArgs a;
  auto* demo = app.add_subcommand("demo", "Run the whole pipeline on the embedded default world");
  demo->add_option("--out,-o", a.out, "Run directory")->capture_default_str();
  demo->add_option("--seed", a.seed, "Seed")->capture_default_str();
  demo->add_option("--samples", a.samples, "Images per prompt")->capture_default_str();
  demo->add_flag("--quick", a.quick, "A small suite (finishes in seconds)");
  demo->callback([] { run_demo(a); });
}

}  // namespace unigap::cli
