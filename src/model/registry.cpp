#include "model/registry.h"

#include "common/error.h"
#include "io/atomic_file.h"
#include "model/shapes_model.h"

namespace unigap {

namespace {

// The backends of this build, one line each.
std::vector<Backend> builtin_backends() { return {shapes_backend()}; }

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

std::unique_ptr<UnifiedMultimodal> load_model(const std::string& dir) {
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
  return found->load(dir, cfg);
}

}  // namespace unigap
