// `unigap results --runs DIR [--out FILE]`: the multi-seed results table of
// self-improvement (docs/results.md) from the runs of scripts/results.sh.
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "io/atomic_file.h"
#include "report/results.h"

namespace unigap::cli {

void register_results(CLI::App& app) {
  static std::string runs, out;
  auto* cmd = app.add_subcommand("results", "Aggregate the multi-seed self-improvement runs into a results table (Markdown)");
  cmd->add_option("--runs", runs, "Folder of s<seed>/ run directories made by scripts/results.sh")->required();
  cmd->add_option("--out,-o", out, "Write the Markdown here (default: stdout); results.json goes into --runs");
  cmd->callback([] {
    if (!dir_exists(runs)) throw UserError("runs folder not found", runs);
    ResultsTable t = build_results(runs);
    write_json(runs + "/results.json", t.data);
    if (out.empty()) std::cout << t.markdown;
    else {
      write_file_atomic(out, t.markdown);
      std::cout << out << "\n";
    }
  });
}

}  // namespace unigap::cli
