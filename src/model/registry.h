// Which backend reads a checkpoint folder. Every command opens a model through
// load_model(dir); the backend is picked from the folder's config.json (unigap's own
// "format" tag; a foreign backend may recognise its own official config instead). Adding a
// backend: one file implementing UnifiedMultimodal, plus one entry in builtin_backends()
// (model/registry.cpp), or a BackendRegistrar object in the file itself (how the tests
// register theirs).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/jsonl.h"
#include "model/multimodal.h"

namespace unigap {

// Where and in what precision a model computes (--device, --dtype), parsed once.
struct ModelOptions {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
  // A PEFT adapter folder attached after loading (--adapter); "" for none.
  std::string adapter;
  // device "cpu" | "cuda" | "cuda:N"; dtype "f32" | "bf16" | "" (f32 on the CPU, bf16 on CUDA).
  // A UserError names the option.
  static ModelOptions parse(const std::string& device, const std::string& dtype);
  json to_json() const;  // {"device": "cpu", "dtype": "f32"}
  bool cpu_f32() const { return device.is_cpu() && dtype == torch::kFloat32; }
};

struct Backend {
  std::string name;  // e.g. "shapes"
  // True when `config` (the folder's parsed config.json) is one of this backend's checkpoints.
  std::function<bool(const json& config)> recognizes;
  // Loads the folder; errors are UserErrors naming the file (or the option it cannot honour).
  std::function<std::unique_ptr<UnifiedMultimodal>(const std::string& dir, const json& config, const ModelOptions& opt)> load;
};

// Adds a backend; a second backend of the same name is a bug.
void register_backend(Backend b);
// The registered backends' names, in registration order.
std::vector<std::string> backend_names();

// Opens the checkpoint folder `dir` with the one backend that recognises its config.json,
// then attaches opt.adapter. An adapter folder (model/lora.h: adapter_config.json, no
// config.json) opens as its base_model_name_or_path plus the adapter. A folder without
// config.json, or one no backend recognises, is a UserError naming the folder and the
// formats unigap reads.
std::unique_ptr<UnifiedMultimodal> load_model(const std::string& dir, const ModelOptions& opt = {});

// Registers a backend at static initialisation: `static BackendRegistrar r{{...}};`.
struct BackendRegistrar {
  explicit BackendRegistrar(Backend b) { register_backend(std::move(b)); }
};

}  // namespace unigap
