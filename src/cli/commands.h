// Subcommand registration. Each cmd_*.cpp adds its subcommand(s) to the app and
// returns nothing; main only parses and dispatches. Handlers throw UserError for
// bad input; main turns it into a message and exit code 1.
#pragma once

#include <CLI/CLI.hpp>

namespace unigap::cli {

// Exit codes shared by all commands.
constexpr int kExitOk = 0;
constexpr int kExitUserError = 1;    // bad input; nothing done or a clear partial result
constexpr int kExitPartial = 2;      // a batch with some bad items: good ones reported, bad ones listed
constexpr int kExitInternal = 3;     // a bug in unigap

// The exit code a command wants main to return (set by handlers that finish with
// a partial result).
int& exit_code();

void register_world(CLI::App& app);
void register_demo(CLI::App& app);
void register_pretrain(CLI::App& app);
void register_generate_eval(CLI::App& app);
void register_improve(CLI::App& app);
void register_merge(CLI::App& app);
void register_dynamics(CLI::App& app);
void register_report(CLI::App& app);
void register_results(CLI::App& app);

// Sets torch's intra-op threads: `requested` if > 0, else OMP_NUM_THREADS if set,
// else all cores.
void configure_threads(int requested);

// Text for --version.
std::string version_text();

// Records the CPU, BLAS, its kernels and the thread count in the provenance of every run
// directory written afterwards (io/run_dir.h); call once the thread count is final.
void stamp_machine_in_provenance();

}  // namespace unigap::cli
