#include "model/lora.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/error.h"
#include "io/atomic_file.h"

namespace unigap {

double LoraOptions::scale() const { return rslora ? alpha / std::sqrt(double(rank)) : alpha / double(rank); }

void LoraOptions::validate() const {
  auto fail = [](const std::string& f, const std::string& why) { throw UserError(why, "LoRA option '" + f + "'"); };
  if (rank < 0) fail("rank", "must be >= 0 (0: no adapter)");
  if (!enabled()) return;
  if (!(alpha > 0)) fail("alpha", "must be > 0");
  if (!(dropout >= 0 && dropout < 1)) fail("dropout", "must be in [0, 1)");
  if (targets.empty()) fail("targets", "names no module");
  for (auto& t : targets)
    if (t.empty() || t.front() == '.' || t.back() == '.') fail("targets", "'" + t + "' is not a module name");
}

bool LoraOptions::matches(const std::string& name, const std::string& t) {
  return name == t || (name.size() > t.size() && name.compare(name.size() - t.size(), t.size(), t) == 0 &&
                       name[name.size() - t.size() - 1] == '.');
}

bool LoraOptions::targets_module(const std::string& name) const {
  return std::any_of(targets.begin(), targets.end(), [&](const std::string& t) { return matches(name, t); });
}

std::vector<std::string> LoraOptions::parse_targets(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string t; std::getline(ss, t, ',');)
    if (!t.empty()) out.push_back(t);
  if (out.empty()) throw UserError("names no module", "--lora-targets", "e.g. q_proj,k_proj,v_proj,o_proj");
  return out;
}

json LoraOptions::to_json() const {
  return {{"rank", rank}, {"alpha", alpha}, {"dropout", dropout}, {"rslora", rslora}, {"targets", targets}};
}

json LoraOptions::to_peft_config(const std::string& base_model) const {
  return {{"peft_type", "LORA"},
          {"task_type", nullptr},
          {"base_model_name_or_path", base_model},
          {"revision", nullptr},
          {"r", rank},
          {"lora_alpha", alpha},
          {"lora_dropout", dropout},
          {"target_modules", targets},
          {"bias", "none"},
          {"fan_in_fan_out", false},
          {"use_rslora", rslora},
          {"use_dora", false},
          {"init_lora_weights", true},
          {"inference_mode", true},
          {"modules_to_save", nullptr},
          {"layers_to_transform", nullptr},
          {"layers_pattern", nullptr},
          {"rank_pattern", json::object()},
          {"alpha_pattern", json::object()}};
}

std::pair<LoraOptions, std::string> LoraOptions::from_peft_config(const json& c, const std::string& where) {
  if (!c.is_object()) throw UserError("not a JSON object", where);
  auto field = [&](const char* k) -> const json& {
    if (!c.contains(k)) throw UserError(std::string("missing field '") + k + "'", where);
    return c.at(k);
  };
  auto refuse = [&](const std::string& k, const std::string& why) {
    throw UserError("field '" + k + "': " + why, where, "unigap reads PEFT LoRA adapters of linear layers");
  };
  if (field("peft_type") != "LORA") refuse("peft_type", "is " + c.at("peft_type").dump() + ", not \"LORA\"");
  LoraOptions o;
  if (!field("r").is_number_integer() || c.at("r").get<int64_t>() < 1 || c.at("r").get<int64_t>() > 65536)
    refuse("r", "must be an integer in [1, 65536], found " + c.at("r").dump());
  o.rank = c.at("r").get<int>();
  if (!field("lora_alpha").is_number()) refuse("lora_alpha", "must be a number");
  o.alpha = c.at("lora_alpha").get<double>();
  o.dropout = 0;  // PEFT's default when the field is absent
  if (c.contains("lora_dropout")) {
    if (!c.at("lora_dropout").is_number()) refuse("lora_dropout", "must be a number, found " + c.at("lora_dropout").dump());
    o.dropout = c.at("lora_dropout").get<double>();
  }
  if (c.contains("use_rslora") && !c.at("use_rslora").is_boolean()) refuse("use_rslora", "must be true or false");
  o.rslora = c.value("use_rslora", json(false)) == json(true);
  if (c.value("use_dora", json(false)) == json(true)) refuse("use_dora", "DoRA is not supported");
  if (c.value("fan_in_fan_out", json(false)) == json(true)) refuse("fan_in_fan_out", "must be false for linear layers");
  if (c.contains("bias") && c.at("bias") != "none") refuse("bias", "only \"none\" is supported");
  for (const char* k : {"rank_pattern", "alpha_pattern"})
    if (c.contains(k) && !c.at(k).is_null() && !(c.at(k).is_object() && c.at(k).empty())) refuse(k, "per-layer settings are not supported");
  for (const char* k : {"modules_to_save", "layers_to_transform"})
    if (c.contains(k) && !c.at(k).is_null()) refuse(k, "is not supported (must be null)");
  const json& t = field("target_modules");
  if (!t.is_array() || t.empty()) refuse("target_modules", "must be a non-empty list of module names (a regex string is not supported)");
  o.targets.clear();
  for (auto& x : t) {
    if (!x.is_string()) refuse("target_modules", "holds " + x.dump() + ", not a module name");
    o.targets.push_back(x.get<std::string>());
  }
  try {
    o.validate();
  } catch (const UserError& e) {
    throw UserError(e.bare_message(), where + " (" + e.where() + ")");
  }
  const json& base = field("base_model_name_or_path");
  if (!base.is_string()) refuse("base_model_name_or_path", "must be a string");
  return {o, base.get<std::string>()};
}

torch::Tensor LoraDelta::forward(const torch::Tensor& x, bool training) const {
  const auto h = training && dropout > 0 ? torch::dropout(x, dropout, true) : x;
  return torch::nn::functional::linear(torch::nn::functional::linear(h, A), B) * scale;
}

LoraDelta LoraDelta::fresh(int64_t in, int64_t out, const LoraOptions& o, torch::Generator& gen, const torch::TensorOptions& to) {
  LoraDelta d;
  // kaiming_uniform_(a = sqrt(5)) on (r, in): bound = sqrt(6 / ((1 + a^2) fan_in)) = 1 / sqrt(in).
  const double bound = 1.0 / std::sqrt(double(in));
  d.A = (torch::rand({o.rank, in}, gen, torch::kFloat32) * (2 * bound) - bound).to(to);
  d.B = torch::zeros({out, o.rank}, to);
  d.scale = o.scale();
  d.dropout = o.dropout;
  return d;
}

std::string peft_key(const std::string& module, char which) {
  return "base_model.model." + module + (which == 'A' ? ".lora_A.weight" : ".lora_B.weight");
}

bool is_adapter_folder(const std::string& dir) {
  return file_exists(dir + "/" + kAdapterConfigFile) && !file_exists(dir + "/config.json");
}

}  // namespace unigap
