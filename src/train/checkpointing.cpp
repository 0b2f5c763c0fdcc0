#include "train/checkpointing.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/jsonl.h"

namespace unigap {

Checkpointer::Checkpointer(std::string root, int keep) : root_(std::move(root)), keep_(keep) {}

std::optional<CheckpointState> Checkpointer::latest() const {
  const std::string p = root_ + "/latest.json";
  if (!file_exists(p)) return std::nullopt;
  const json j = read_json(p);
  if (!j.is_object()) throw UserError("not a checkpoint pointer (a JSON object with stage, step and dir)", p);
  CheckpointState s;
  std::string dir;
  read_required_field(j, "stage", s.stage, p);
  read_required_field(j, "step", s.step, p);
  read_required_field(j, "dir", dir, p);
  if (dir.empty() || dir.find('/') != std::string::npos || dir == "." || dir == "..")
    throw UserError("field 'dir' must name a folder next to latest.json, found \"" + dir + "\"", p);
  s.dir = root_ + "/" + dir;
  if (!dir_exists(s.dir)) throw UserError("latest.json names a missing checkpoint folder", s.dir);
  return s;
}

void Checkpointer::save(const std::string& stage, int step, UnifiedMultimodal& model, torch::optim::Optimizer& opt,
                        const json& extra) {
  char name[64];
  std::snprintf(name, sizeof name, "%s-%07d", stage.c_str(), step);
  const std::string dir = root_ + "/" + name;
  json e = extra;
  e["trainer"] = {{"stage", stage}, {"step", step}};
  if (!writes_enabled()) return;  // data-parallel: rank 0 saves
  const auto prev = latest();
  // A folder of this name that is not the latest is the remains of a crash: start clean.
  if (dir_exists(dir) && !(prev && prev->dir == dir)) std::filesystem::remove_all(dir);
  model.save(dir, e);
  // The optimizer state goes through the same atomic write (temp, fsync, rename) as every file.
  std::ostringstream buf;
  torch::serialize::OutputArchive archive;
  opt.save(archive);
  archive.save_to(buf);
  write_file_atomic(dir + "/optimizer.pt", buf.str());
  write_json(dir + "/trainer.json", e);
  write_json(root_ + "/latest.json", {{"stage", stage}, {"step", step}, {"dir", name}});
  // Only now that the new checkpoint is the latest, drop the previous one.
  if (prev && keep_ <= 1 && prev->dir != dir) {
    std::error_code ec;  // a leftover old folder is harmless; never fail a run over it
    std::filesystem::remove_all(prev->dir, ec);
  }
}

int Checkpointer::remove_orphans() const {
  const auto cur = latest();
  int n = 0;
  std::error_code ec;
  if (!writes_enabled() || !dir_exists(root_)) return 0;
  for (auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    if (!entry.is_directory(ec)) continue;
    if (cur && std::filesystem::equivalent(entry.path(), cur->dir, ec)) continue;
    if (keep_ > 1 && cur) continue;  // keeping history: only the latest pointer matters
    std::filesystem::remove_all(entry.path(), ec);
    ++n;
  }
  return n;
}

void Checkpointer::restore(const CheckpointState& st, UnifiedMultimodal& model, torch::optim::Optimizer& opt) const {
  model.load_weights(st.dir);
  const std::string op = st.dir + "/optimizer.pt";
  if (!file_exists(op)) throw UserError("optimizer state missing", op, "the checkpoint is incomplete");
  try {
    std::istringstream in(read_file(op));
    torch::serialize::InputArchive archive;
    archive.load_from(in);
    opt.load(archive);
  } catch (const c10::Error& e) {
    throw UserError(std::string("cannot read optimizer state: ") + e.what_without_backtrace(), op);
  }
}

json Checkpointer::saved_extra(const CheckpointState& st) {
  const std::string path = st.dir + "/trainer.json";
  return read_json(file_exists(path) ? path : st.dir + "/config.json");
}

void check_finite(const torch::Tensor& loss, const torch::OrderedDict<std::string, torch::Tensor>& params,
                  const std::string& stage, int step) {
  const bool loss_ok = std::isfinite(loss.item<double>());
  std::string bad;
  for (auto& p : params) {
    const auto& g = p.value().grad();
    if (g.defined() && !torch::isfinite(g).all().item<bool>()) {
      bad = p.key();
      break;
    }
  }
  if (loss_ok && bad.empty()) return;
  std::ostringstream msg;
  msg << "non-finite " << (loss_ok ? "gradient" : "loss") << " at " << stage << " step " << step;
  if (!bad.empty()) msg << " (first bad gradient: tensor '" << bad << "')";
  throw UserError(msg.str(), "training", "the last good checkpoint is kept; lower the learning rate or resume from it");
}

bool inject_nan_loss(const std::string& stage, int step) {
  const char* v = std::getenv("UNIGAP_INJECT_NAN_AT");
  return v && std::string(v) == stage + ":" + std::to_string(step);
}

void inject_inf_grad(const std::string& stage, int step, const torch::OrderedDict<std::string, torch::Tensor>& params) {
  const char* v = std::getenv("UNIGAP_INJECT_NAN_AT");
  const std::string prefix = stage + ":" + std::to_string(step) + ":grad:";
  if (!v || std::string(v).rfind(prefix, 0) != 0) return;
  const std::string name = std::string(v).substr(prefix.size());
  const torch::Tensor* p = params.find(name);
  if (!p) throw UserError("no parameter named '" + name + "'", "UNIGAP_INJECT_NAN_AT");
  if (!p->grad().defined()) throw UserError("parameter '" + name + "' has no gradient at this step", "UNIGAP_INJECT_NAN_AT");
  torch::NoGradGuard ng;
  p->grad().view({-1})[0] = std::numeric_limits<float>::infinity();
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard ng;
  double sq = 0;
  for (auto& p : params)
    if (p.grad().defined()) sq += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  const double norm = std::sqrt(sq);
  if (norm > max_norm && std::isfinite(norm))
    for (auto& p : params)
      if (p.grad().defined()) p.grad().mul_(max_norm / (norm + 1e-6));
  return norm;
}

}  // namespace unigap
