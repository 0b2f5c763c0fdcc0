// `unigap results --runs DIR [--out FILE]`: the multi-seed results table of
// self-improvement (docs/results.md) from the runs of scripts/results.sh; `--variant NAME=DIR
// ... --out FILE`: the mechanism study's page over the studies of several bases.
#include <filesystem>
#include <iostream>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "common/error.h"
#include "io/atomic_file.h"
#include "report/results.h"
#include "report/variants.h"

namespace unigap::cli {

namespace fs = std::filesystem;

void register_results(CLI::App& app) {
  static std::string runs, out;
  static std::vector<std::string> variant_args;
  auto* cmd = app.add_subcommand("results", "Aggregate the multi-seed self-improvement runs into a results table (Markdown)");
  auto* runs_opt = cmd->add_option("--runs", runs, "Folder of s<seed>/ run directories made by scripts/results.sh");
  auto* variant_opt = cmd->add_option("--variant", variant_args,
                                      "NAME=DIR, repeated: the mechanism study's page over the studies of variant bases "
                                      "(scripts/mechanism.sh); needs --out, its data goes beside it (.json)");
  runs_opt->excludes(variant_opt);
  cmd->add_option("--out,-o", out, "Write the Markdown here (default: stdout); results.json goes into --runs");
  cmd->callback([] {
    if (runs.empty() && variant_args.empty()) throw UserError("give --runs DIR, or --variant NAME=DIR for each variant base", "results");
    std::vector<std::pair<std::string, std::string>> variants;
    for (auto& v : variant_args) {
      const auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) throw UserError("expected NAME=DIR", "--variant " + v);
      variants.push_back({v.substr(0, eq), v.substr(eq + 1)});
      if (!dir_exists(variants.back().second)) throw UserError("runs folder not found", "--variant " + v);
    }
    if (!runs.empty() && !dir_exists(runs)) throw UserError("runs folder not found", runs);
    if (!variants.empty() && out.empty()) throw UserError("the variants' page needs --out (its data and figures go beside it)", "--variant");
    // Figures beside the page (docs/img/results-grpo-self.svg for docs/results.md), or in
    // --runs with the page on stdout.
    const fs::path page(out);
    const std::string stem = "img/" + (out.empty() ? std::string("results") : page.stem().string());
    const ResultsTable t = variants.empty() ? build_results(runs, stem) : build_variants(variants, stem);
    write_json(variants.empty() ? runs + "/results.json" : fs::path(page).replace_extension(".json").string(), t.data);
    const fs::path root = out.empty() ? fs::path(runs) : page.parent_path();
    for (auto& [rel, svg] : t.figures) {
      fs::create_directories((root / rel).parent_path());
      write_file_atomic((root / rel).string(), svg);
    }
    if (out.empty()) std::cout << t.markdown;
    else {
      write_file_atomic(out, t.markdown);
      std::cout << out << "\n";
    }
  });
}

}  // namespace unigap::cli
