// `unigap report --run DIR`: the self-contained HTML report of a demo run.
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "io/atomic_file.h"
#include "report/report.h"

namespace unigap::cli {

void register_report(CLI::App& app) {
  static std::string dir;
  auto* cmd = app.add_subcommand("report", "Write one self-contained HTML page for a demo run directory");
  cmd->add_option("--run", dir, "Demo run directory")->required();
  cmd->callback([] {
    if (!dir_exists(dir)) throw UserError("run directory not found", dir);
    std::cout << write_report(dir) << "\n";
  });
}

}  // namespace unigap::cli
