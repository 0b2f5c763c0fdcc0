// LoRA adapters (Hu et al. 2021) in PEFT's format. A target linear layer y = W x + b gains
// y += (alpha / r) * B A dropout(x), A (r, in) and B (out, r); A starts Kaiming-uniform and B
// at zero, so a fresh adapter leaves the model's outputs unchanged. On disk an adapter is what
// PEFT's `save_pretrained` writes and `PeftModel.from_pretrained` reads:
//
//   adapter_config.json         peft_type "LORA", r, lora_alpha, lora_dropout, target_modules
//                               (a list of module-name suffixes, PEFT's matching rule), bias
//                               "none", base_model_name_or_path (the base folder), ...
//   adapter_model.safetensors   "base_model.model.<module path>.lora_A.weight" (r, in) and
//                               ".lora_B.weight" (out, r), float32
//   unigap.json                 unigap's own record of the run (PEFT ignores the file)
//
// A folder holding adapter_config.json and no config.json opens as a model anywhere a
// checkpoint is read (model/registry.h): its base, then the adapter.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "io/jsonl.h"

namespace unigap {

struct LoraOptions {
  int rank = 0;  // 0: no adapter
  double alpha = 32;
  double dropout = 0.05;
  bool rslora = false;  // scale alpha / sqrt(r) instead of alpha / r (PEFT's use_rslora)
  // Module-name suffixes, matched as PEFT matches a list: a module is a target when its name
  // equals one or ends with "." + one. The default is every linear layer of a LLaMA block.
  std::vector<std::string> targets = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

  bool enabled() const { return rank > 0; }
  double scale() const;
  void validate() const;  // a UserError names the option
  // Whether the module named `name` is a target: matches(name, t) for one of the targets.
  bool targets_module(const std::string& name) const;
  static bool matches(const std::string& name, const std::string& target);
  json to_json() const;  // the run configs' record: rank, alpha, dropout, rslora, targets
  // adapter_config.json as PEFT writes it.
  json to_peft_config(const std::string& base_model) const;
  // Reads adapter_config.json; a field unigap cannot honour (another peft_type, DoRA, a bias,
  // a regex target, per-layer ranks) is a UserError naming it. Returns the options and the base.
  static std::pair<LoraOptions, std::string> from_peft_config(const json& c, const std::string& where);
  // The options of the command line ("q_proj,v_proj" for the targets).
  static std::vector<std::string> parse_targets(const std::string& list);
};

// The PEFT key of a target's tensor: "base_model.model.<module>.lora_A.weight" (which: 'A' or 'B').
std::string peft_key(const std::string& module, char which);

// The files of an adapter folder.
constexpr const char* kAdapterConfigFile = "adapter_config.json";
constexpr const char* kAdapterWeightsFile = "adapter_model.safetensors";
// True when `dir` holds an adapter (adapter_config.json) rather than a model (config.json).
bool is_adapter_folder(const std::string& dir);

}  // namespace unigap
