#include "model/registry.h"

#include "common/error.h"
#include "io/atomic_file.h"
#include "model/janus_model.h"
#include "model/lora_options.h"
#include "model/shapes_model.h"

namespace unigap {

namespace {

// The backends of this build, one line each.
std::vector<Backend> builtin_backends() { return {shapes_backend(), janus_backend()}; }

std::vector<Backend>& registry() {
  static std::vector<Backend> r = builtin_backends();
  return r;
}

}  // namespace

void register_backend(Backend b) {
  for (auto& r : registry()) UNIGAP_ASSERT(r.name != b.name, "backend '" + b.name + "' registered twice");
  registry().push_back(std::move(b));
}

std::vector<std::string> backend_names() {
  std::vector<std::string> v;
  for (auto& r : registry()) v.push_back(r.name);
  return v;
}

ModelOptions ModelOptions::parse(const std::string& device, const std::string& dtype) {
  ModelOptions o;
  if (device == "cpu") {
    o.device = torch::kCPU;
  } else if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
    try {
      o.device = torch::Device(device);
    } catch (const c10::Error&) {
      throw UserError("not a device: '" + device + "'", "--device", "cpu, cuda or cuda:N");
    }
    if (!torch::cuda::is_available())
      throw UserError("this unigap runs on a libtorch without CUDA (or sees no GPU)", "--device " + device,
                      "build against an official CUDA libtorch (CMAKE_PREFIX_PATH) on a machine with a GPU");
  } else {
    throw UserError("unknown device '" + device + "'", "--device", "cpu, cuda or cuda:N");
  }
  if (dtype == "f32") o.dtype = torch::kFloat32;
  else if (dtype == "bf16") o.dtype = torch::kBFloat16;
  else if (dtype.empty()) o.dtype = o.device.is_cpu() ? torch::kFloat32 : torch::kBFloat16;
  else throw UserError("unknown dtype '" + dtype + "'", "--dtype", "f32 or bf16");
  return o;
}

json ModelOptions::to_json() const {
  json j = {{"device", device.str()}, {"dtype", dtype == torch::kFloat32 ? "f32" : "bf16"}};
  if (!adapter.empty()) j["adapter"] = adapter;
  return j;
}

std::unique_ptr<UnifiedMultimodal> load_model(const std::string& dir, const ModelOptions& opt) {
  if (is_adapter_folder(dir)) {
    const std::string ac = dir + "/" + kAdapterConfigFile;
    if (!opt.adapter.empty()) throw UserError("is an adapter folder, and --adapter names a second adapter", dir, "pass one of them");
    const std::string base = LoraOptions::from_peft_config(read_json(ac), ac).second;
    if (!dir_exists(base))
      throw UserError("base_model_name_or_path '" + base + "' is not a folder on this machine", ac,
                      "open the base yourself: --ckpt BASE --adapter " + dir);
    ModelOptions o = opt;
    o.adapter = dir;
    return load_model(base, o);
  }
  const std::string cfg_path = dir + "/config.json";
  std::string known;
  for (auto& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
  if (!file_exists(cfg_path))
    throw UserError("not a checkpoint folder (no config.json)", dir,
                    "pass a model folder written by unigap (formats it reads: " + known + ")");
  const json cfg = read_json(cfg_path);
  const Backend* found = nullptr;
  for (auto& b : registry())
    if (b.recognizes(cfg)) {
      UNIGAP_ASSERT(!found, "two backends (" + found->name + ", " + b.name + ") recognise " + cfg_path);
      found = &b;
    }
  if (!found)
    throw UserError("config.json describes no model format unigap reads" +
                        (cfg.is_object() && cfg.contains("format") ? " (format " + cfg["format"].dump() + ")" : std::string()),
                    cfg_path, "unigap reads: " + known);
  auto model = found->load(dir, cfg, opt);
  if (!opt.adapter.empty()) model->load_adapter(opt.adapter);
  return model;
}

}  // namespace unigap
