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

struct Backend {
  std::string name;  // e.g. "shapes"
  // True when `config` (the folder's parsed config.json) is one of this backend's checkpoints.
  std::function<bool(const json& config)> recognizes;
  // Loads the folder; errors are UserErrors naming the file.
  std::function<std::unique_ptr<UnifiedMultimodal>(const std::string& dir, const json& config)> load;
};

// Adds a backend; a second backend of the same name is a bug.
void register_backend(Backend b);
// The registered backends' names, in registration order.
std::vector<std::string> backend_names();

// Opens the checkpoint folder `dir` with the one backend that recognises its config.json.
// A folder without config.json, or one no backend recognises, is a UserError naming the
// folder and the formats unigap reads.
std::unique_ptr<UnifiedMultimodal> load_model(const std::string& dir);

// Registers a backend at static initialisation: `static BackendRegistrar r{{...}};`.
struct BackendRegistrar {
  explicit BackendRegistrar(Backend b) { register_backend(std::move(b)); }
};

}  // namespace unigap
