// `unigap results --runs DIR [--out FILE]`: the multi-seed results table of
// self-improvement (docs/results.md) from the runs of scripts/results.sh.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "io/atomic_file.h"
#include "report/results.h"

namespace unigap::cli {

namespace fs = std::filesystem;

void register_results(CLI::App& app) {
  static std::string runs, out;
  auto* cmd = app.add_subcommand("results", "Aggregate the multi-seed self-improvement runs into a results table (Markdown)");
  cmd->add_option("--runs", runs, "Folder of s<seed>/ run directories made by scripts/results.sh")->required();
  cmd->add_option("--out,-o", out, "Write the Markdown here (default: stdout); results.json goes into --runs");
  cmd->callback([] {
    if (!dir_exists(runs)) throw UserError("runs folder not found", runs);
    // Figures beside the page (docs/img/results-v2-grpo-self.svg for docs/results-v2.md), or in
    // --runs with the page on stdout.
    const fs::path page(out);
    const std::string stem = "img/" + (out.empty() ? std::string("results") : page.stem().string());
    ResultsTable t = build_results(runs, stem);
    write_json(runs + "/results.json", t.data);
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
