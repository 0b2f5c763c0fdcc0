// unigap: measure and close the generation-understanding gap of unified models.
// main only parses arguments and dispatches to the subcommands in cmd_*.cpp.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "common/blas_kernels.h"
#include "common/error.h"
#include "dist/dist.h"
#include "model/torch_runtime.h"

int main(int argc, char** argv) {
  using namespace unigap;
  ensure_fast_blas_kernels(argv);  // may re-execute with OPENBLAS_CORETYPE set (common/blas_kernels.h)
  configure_torch_runtime();
  CLI::App app{"unigap: measure and close the generation-understanding gap of unified multimodal models"};
  app.require_subcommand(0, 1);
  cli::configure_threads(0);  // default before parsing, so --version reports it
  int threads = 0;
  double dist_timeout = 300;
  app.add_option("--threads", threads, "Torch intra-op threads (default: OMP_NUM_THREADS, else all cores)");
  app.add_option("--dist-timeout", dist_timeout,
                 "Data-parallel runs (RANK/WORLD_SIZE set, e.g. by torchrun --no-python): seconds to wait for the "
                 "other ranks to join and for any collective before failing")
      ->check(CLI::PositiveNumber);
  app.parse_complete_callback([&] {
    if (threads > 0) cli::configure_threads(threads);
    cli::stamp_machine_in_provenance();
    if (!app.get_subcommands().empty()) Dist::init_from_env(dist_timeout);  // a no-op without WORLD_SIZE > 1
  });
  app.set_version_flag("--version", [] { return cli::version_text(); }, "Print version, commit, libtorch, BLAS and threads");
  cli::register_world(app);
  cli::register_pretrain(app);
  cli::register_generate_eval(app);
  cli::register_improve(app);
  cli::register_merge(app);
  cli::register_dynamics(app);
  cli::register_report(app);
  cli::register_results(app);
  cli::register_demo(app);
  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {
      std::cout << app.help();
      return cli::kExitOk;
    }
  } catch (const CLI::ParseError& e) {
    // --help and --version are "parse errors" with exit code 0; real ones are user errors.
    const int rc = app.exit(e);
    return rc == 0 ? cli::kExitOk : cli::kExitUserError;
  } catch (const UserError& e) {
    std::fprintf(stderr, "unigap: error: %s\n", e.what());
    return cli::kExitUserError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unigap: internal error: %s\n", e.what());
    return cli::kExitInternal;
  }
  return cli::exit_code();
}
