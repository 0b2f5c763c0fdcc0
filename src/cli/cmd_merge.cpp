// `unigap merge`: folds a LoRA adapter into its base's weights and writes a model folder of
// the base's own layout (for Janus-Pro: the official folder, model.safetensors in float32).
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"
#include "dist/data_parallel.h"
#include "io/atomic_file.h"
#include "model/registry.h"

namespace unigap::cli {

void register_merge(CLI::App& app) {
  struct Args {
    std::string ckpt, adapter, out, dtype = "f32";
  };
  static Args a;
  auto* cmd = app.add_subcommand("merge", "Merge a LoRA adapter into its base model's weights (W + alpha/r B A)");
  cmd->add_option("--ckpt", a.ckpt, "The base model folder, or an adapter folder (its base_model_name_or_path is the base)")->required();
  cmd->add_option("--adapter", a.adapter, "The adapter (PEFT folder), when --ckpt is the base");
  cmd->add_option("--out,-o", a.out, "Output model folder (must not exist)")->required();
  cmd->add_option("--dtype", a.dtype, "f32 | bf16: the dtype the base is loaded in and the merged weights are written in (bf16: half the memory and the file, as the official checkpoints)")
      ->capture_default_str();
  cmd->callback([] {
    if (dir_exists(a.out)) throw UserError("already exists", a.out, "merge writes a new folder; pass another --out");
    ModelOptions mo = ModelOptions::parse("cpu", a.dtype);
    mo.adapter = a.adapter;
    log_info("merge: loading " + a.ckpt + (a.adapter.empty() ? "" : " with the adapter " + a.adapter));
    auto model = load_model(a.ckpt, mo);
    if (!model->has_adapter())
      throw UserError("has no LoRA adapter to merge", a.ckpt, "pass an adapter folder, or --adapter DIR with the base");
    model->merge_adapter();
    log_info("merge: writing " + a.out);
    model->save(a.out, {{"merged_adapter", a.adapter.empty() ? a.ckpt : a.adapter}});
    std::cout << "merged model: " << a.out << "\n";
  });
}

}  // namespace unigap::cli
