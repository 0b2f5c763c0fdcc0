// `unigap world spec|sample|render|check`: the shapes world's prompts, renderer and oracle.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"
#include "io/atomic_file.h"
#include "io/jsonl.h"
#include "world/check.h"
#include "world/render.h"
#include "world/suite.h"

namespace unigap::cli {

namespace {

struct WorldArgs {
  std::string world;  // optional world spec JSON
  bool quiet = false;
};

void add_world_option(CLI::App* cmd, WorldArgs& a) {
  cmd->add_option("--world", a.world, "World spec JSON (v1 | v2 | a spec file; default: v2)");
  cmd->add_flag("--quiet,-q", a.quiet, "No progress output");
}

WorldSpec load_spec(const WorldArgs& a) {
  Progress::set_enabled(!a.quiet);
  return load_world_spec(a.world);
}

void cmd_spec(const WorldArgs& a, bool as_json) {
  WorldSpec spec = load_spec(a);
  if (as_json) {
    std::cout << spec.to_json().dump(2) << "\n";
    return;
  }
  std::printf("canvas      %dx%d, background rgb(%d,%d,%d)\n", spec.canvas, spec.canvas, spec.background[0],
              spec.background[1], spec.background[2]);
  std::printf("colors     ");
  for (auto& c : spec.colors) std::printf(" %s", c.name.c_str());
  std::printf("\nshapes     ");
  for (auto& s : spec.shapes) std::printf(" %s", s.c_str());
  std::printf("\nsizes       %d..%d px, counting %d..%d, gap %d px\n", spec.min_size, spec.max_size, spec.min_count,
              spec.max_count, spec.min_gap);
  if (spec.has_attributes())
    std::printf("size words  small %d..%d px, large %d..%d px; locations: a 3x3 grid of thirds\n", spec.min_size,
                spec.small_max, spec.large_min, spec.max_size);
  auto train = split_prompts(spec, Split::Train), eval = split_prompts(spec, Split::Eval);
  const size_t val = spec.val_fraction > 0 ? split_prompts(spec, Split::Val).size() : 0;
  std::printf("prompts     %zu unique: %zu train, %zu val, %zu eval (disjoint in meaning)\n", train.size() + val + eval.size(),
              train.size(), val, eval.size());
  std::printf("version     %d\n", spec.version);
  std::printf("fingerprint %s\n", spec.fingerprint().c_str());
}

void cmd_sample(const WorldArgs& a, const std::string& split_s, int n, bool all, uint64_t seed, const std::string& out) {
  WorldSpec spec = load_spec(a);
  Split split = parse_split(split_s);
  std::vector<Metadata> prompts = all ? split_prompts(spec, split) : sample_suite(spec, split, n, seed);
  std::vector<json> lines;
  for (auto& m : prompts) lines.push_back(m.to_json());
  if (out.empty() || out == "-") {
    for (auto& l : lines) std::cout << l.dump() << "\n";
  } else {
    write_jsonl(out, lines);
    log_info("wrote " + std::to_string(lines.size()) + " " + split_s + " prompts to " + out);
  }
}

Mistake parse_mistake(const std::string& s) {
  for (auto k : all_mistakes())
    if (s == mistake_name(k)) return k;
  throw UserError("unknown mistake '" + s + "'", "--mistake",
                  "use color_swap, shape_swap, add_object, remove_object, flip_relation, size_swap or move");
}

void cmd_render(const WorldArgs& a, const std::string& prompts_path, const std::string& out, int n, uint64_t seed,
                double noise, int blur, const std::string& mistake) {
  WorldSpec spec = load_spec(a);
  if (n < 1) throw UserError("must be >= 1, found " + std::to_string(n), "--n");
  if (noise < 0) throw UserError("must be >= 0", "--noise");
  if (blur < 0 || blur > 3) throw UserError("must be in 0..3", "--blur");
  auto prompts = read_metadata_file(prompts_path, spec);
  make_dirs(out);
  Progress progress("render", int64_t(prompts.size()) * n, "img");
  int skipped = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    Rng rng(derive_seed(seed, "render", i));
    std::vector<Image> images;
    std::vector<json> scenes;
    for (int k = 0; k < n; ++k) {
      Metadata drawn = prompts[i];
      if (!mistake.empty()) {
        auto w = mutate(prompts[i], parse_mistake(mistake), spec, rng);
        if (!w) {
          ++skipped;
          break;
        }
        drawn = *w;
      }
      Scene s = layout_scene(drawn, spec, rng);
      Image img = render_scene(s, spec);
      if (noise > 0) add_gaussian_noise(img, noise, rng);
      box_blur(img, blur);
      images.push_back(std::move(img));
      json sj = {{"objects", s.to_json(spec)}, {"drawn_prompt", drawn.prompt}};
      scenes.push_back(sj);
      progress.update();
    }
    if (images.size() == size_t(n)) write_sample_folder(out, int(i), prompts[i], images, &scenes);
  }
  progress.finish();
  if (skipped)
    log_warn(std::to_string(skipped) + " prompt(s) skipped: mistake '" + mistake + "' does not apply to them");
}

void cmd_check(const WorldArgs& a, const std::string& images, std::string out, bool lenient) {
  WorldSpec spec = load_spec(a);
  OracleOptions opt;
  opt.strict = !lenient;
  CheckOutput res = check_sample_root(images, spec, opt);
  if (out.empty()) out = images + "/results.jsonl";
  if (out.find('/') != std::string::npos) make_dirs(out.substr(0, out.find_last_of('/')));
  std::vector<json> lines;
  for (auto& r : res.results) lines.push_back(r.to_json(spec));
  write_jsonl(out, lines);
  json summary = res.summary.to_json();
  summary["rules"] = lenient ? "geneval" : "geneval+closed-world";
  summary["world_fingerprint"] = spec.fingerprint();
  json probs = json::array();
  for (auto& p : res.problems) probs.push_back({{"path", p.path}, {"error", p.message}});
  summary["bad_inputs"] = probs;
  const std::string summary_path = out.substr(0, out.find_last_of('/') + 1) + "summary.json";
  write_json(summary_path, summary);
  std::cout << res.summary.table();
  std::cout << "results: " << out << "\nsummary: " << summary_path << "\n";
  if (!res.problems.empty()) {
    std::fprintf(stderr, "unigap: %zu bad input(s); every good image was scored:\n", res.problems.size());
    for (auto& p : res.problems) std::fprintf(stderr, "  %s: %s\n", p.path.c_str(), p.message.c_str());
    exit_code() = kExitPartial;
  }
}

}  // namespace

void register_world(CLI::App& app) {
  auto* world = app.add_subcommand("world", "The shapes world: vocabulary, prompt suites, renderer, oracle");
  world->require_subcommand(1);

  static WorldArgs a;
  static bool as_json = false;
  auto* spec = world->add_subcommand("spec", "Print the world's vocabulary (canvas, palette, shapes, sizes)");
  add_world_option(spec, a);
  spec->add_flag("--json", as_json, "Print as JSON");
  spec->callback([] { cmd_spec(a, as_json); });

  static std::string split = "eval", out;
  static int n = 553;
  static bool all = false;
  static uint64_t seed = 0;
  auto* sample = world->add_subcommand("sample", "Sample prompts (GenEval metadata JSONL) from the train or eval split");
  add_world_option(sample, a);
  sample->add_option("--split", split, "train, val (version 2) or eval (disjoint in meaning)")->capture_default_str();
  sample->add_option("--n", n, "Number of prompts, GenEval tag proportions")->capture_default_str();
  sample->add_flag("--all", all, "Every unique prompt of the split instead of a proportioned sample");
  sample->add_option("--seed", seed, "Sampling seed")->capture_default_str();
  sample->add_option("--out,-o", out, "Output file (default: stdout)");
  sample->callback([] { cmd_sample(a, split, n, all, seed, out); });

  static std::string prompts, rout, mistake;
  static int rn = 4, blur = 0;
  static uint64_t rseed = 0;
  static double noise = 0;
  auto* render = world->add_subcommand("render", "Draw scenes that satisfy each prompt, in GenEval's folder layout");
  add_world_option(render, a);
  render->add_option("--prompts", prompts, "Metadata JSONL (from `world sample`)")->required();
  render->add_option("--out,-o", rout, "Output folder")->required();
  render->add_option("--n", rn, "Images per prompt")->capture_default_str();
  render->add_option("--seed", rseed, "Layout seed")->capture_default_str();
  render->add_option("--noise", noise, "Gaussian pixel noise sigma (0-255 scale)")->capture_default_str();
  render->add_option("--blur", blur, "Box-blur radius in pixels")->capture_default_str();
  render->add_option("--mistake", mistake,
                     "Draw a wrong image instead: color_swap|shape_swap|add_object|remove_object|flip_relation; version 2 also size_swap|move");
  render->callback([] { cmd_render(a, prompts, rout, rn, rseed, noise, blur, mistake); });

  static std::string images, cout_path;
  static bool lenient = false;
  auto* check = world->add_subcommand("check", "Score images with the oracle (GenEval rules); writes results.jsonl");
  add_world_option(check, a);
  check->add_option("--images", images, "GenEval-layout folder")->required();
  check->add_option("--out,-o", cout_path, "results.jsonl path (default: <images>/results.jsonl)");
  check->add_flag("--lenient", lenient, "GenEval's rules only: ignore junk blobs and extra objects of unasked classes");
  check->callback([] { cmd_check(a, images, cout_path, lenient); });
}

}  // namespace unigap::cli
