// JanusModel's LoRA adapter: attaching fresh updates to the target linear layers, the PEFT
// folder it saves and loads, merging, switching it off; and the switch of gradient checkpointing
// (the recomputation itself: janus_modules.cpp).
#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <set>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "model/checkpoint.h"
#include "model/janus_model.h"
#include "model/janus_modules.h"
#include "model/lora.h"

namespace unigap {

void JanusModel::add_lora(const LoraOptions& o, uint64_t seed) {
  o.validate();
  if (!o.enabled()) throw UserError("rank 0 is no adapter", "LoRA option 'rank'");
  if (has_adapter()) throw UserError("the model already has a LoRA adapter", "--lora-rank", "train the one it has (drop --lora-rank)");
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<AdapterTarget> found;
  std::set<std::string> used;
  for (auto& item : net_->named_modules("", /*include_self=*/false)) {
    const std::string& name = item.key();
    if (!o.targets_module(name)) continue;
    auto* lin = item.value()->as<janus::LinearImpl>();
    if (!lin) throw UserError("targets '" + name + "', which is not a linear layer", "LoRA option 'targets'", "LoRA applies to linear layers only");
    for (auto& t : o.targets)
      if (LoraOptions::matches(name, t)) used.insert(t);
    found.push_back({name, lin, std::make_shared<LoraDelta>(LoraDelta::fresh(lin->weight.size(1), lin->weight.size(0), o, gen, lin->weight.options()))});
  }
  for (auto& t : o.targets)
    if (!used.count(t)) throw UserError("'" + t + "' names no module of the Janus-Pro model", "LoRA option 'targets'",
                                        "the LLaMA blocks' linear layers are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
  // Attached only once every target is known (an error leaves the model as it was).
  for (auto& t : found) t.layer->lora = t.delta;
  lora_ = std::move(found);
  lora_opt_ = std::make_unique<LoraOptions>(o);
}

void JanusModel::detach_lora() {
  for (auto& t : lora_) t.layer->lora.reset();
  lora_.clear();
  lora_opt_.reset();
}

void JanusModel::load_adapter(const std::string& dir) {
  const std::string ac = dir + "/" + kAdapterConfigFile;
  if (!file_exists(ac)) throw UserError("not an adapter folder (no adapter_config.json)", dir, "pass a folder PEFT or unigap saved");
  const LoraOptions o = LoraOptions::from_peft_config(read_json(ac), ac).first;
  try {
    add_lora(o, 0);  // fresh tensors, overwritten from the file below
  } catch (const UserError& e) {
    throw UserError(e.bare_message(), ac + " (" + e.where() + ")", e.hint());
  }
  try {
    read_adapter_weights(dir + "/" + kAdapterWeightsFile);
  } catch (...) {
    detach_lora();
    throw;
  }
}

void JanusModel::read_adapter_weights(const std::string& path) {
  const SafetensorsFile f = read_safetensors(path);
  std::set<std::string> expected;
  torch::NoGradGuard ng;
  for (auto& t : lora_)
    for (char which : {'A', 'B'}) {
      const std::string key = peft_key(t.module, which);
      expected.insert(key);
      auto it = f.tensors.find(key);
      if (it == f.tensors.end()) throw UserError("missing tensor '" + key + "'", path, "the adapter does not match its adapter_config.json");
      torch::Tensor& dst = which == 'A' ? t.delta->A : t.delta->B;
      auto src = from_tensor_data(it->second, path + ": tensor '" + key + "'");
      if (src.sizes() != dst.sizes())
        throw UserError("tensor '" + key + "' has shape " + c10::str(src.sizes()) + ", the model expects " + c10::str(dst.sizes()), path,
                        "the adapter was made for another model or rank");
      if (!torch::isfinite(src).all().item<bool>()) throw UserError("tensor '" + key + "' holds NaN or Inf", path);
      dst.copy_(src.to(dst.scalar_type()));
    }
  for (auto& [name, t] : f.tensors)
    if (!expected.count(name)) throw UserError("unexpected tensor '" + name + "'", path, "the adapter does not match its adapter_config.json");
}

// PEFT's folder: the weights first, adapter_config.json (what marks the folder) last.
void JanusModel::save_adapter(const std::string& dir, const json& extra) const {
  make_dirs(dir);
  SafetensorsFile f;
  for (auto& t : lora_) f.tensors[peft_key(t.module, 'A')] = to_tensor_data(t.delta->A), f.tensors[peft_key(t.module, 'B')] = to_tensor_data(t.delta->B);
  f.metadata = {{"format", "pt"}};
  write_safetensors(dir + "/" + kAdapterWeightsFile, f);
  json u = {{"adapter_of", "janus-pro"}, {"provenance", provenance()}};
  if (extra.is_object() && !extra.empty()) u["unigap"] = extra;
  write_json(dir + "/unigap.json", u);
  write_json(dir + "/" + kAdapterConfigFile, lora_opt_->to_peft_config(std::filesystem::absolute(dir_).lexically_normal().string()));
}

void JanusModel::merge_adapter() {
  if (!has_adapter()) throw UserError("the model has no adapter to merge");
  torch::NoGradGuard ng;
  for (auto& t : lora_) {
    const LoraDelta& d = *t.delta;
    auto& w = t.layer->weight;
    // In float32, rounded once to the weight's dtype.
    w.copy_((w.to(torch::kFloat32) + torch::matmul(d.B.to(torch::kFloat32), d.A.to(torch::kFloat32)) * d.scale).to(w.scalar_type()));
  }
  detach_lora();
}

void JanusModel::set_adapter_enabled(bool on) {
  if (!has_adapter()) throw UserError("the model has no adapter to switch");
  for (auto& t : lora_) t.layer->lora = on ? t.delta : nullptr;
}

void JanusModel::set_gradient_checkpointing(bool on) { net_->llm->checkpoint_layers = on; }

}  // namespace unigap
