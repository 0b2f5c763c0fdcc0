#include "dist/dist.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef UNIGAP_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/error.h"
#include "common/progress.h"
#include "io/atomic_file.h"

namespace unigap {

struct Dist::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  c10::Device device = c10::kCPU;  // where collective buffers live (a GPU for NCCL)
};

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// An integer environment variable, or `fallback` when unset; a UserError naming it when malformed.
long env_int(const char* name, long fallback, long lo, long hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno || *end || x < lo || x > hi)
    throw UserError(std::string("environment variable ") + name + "=" + v + " is not an integer in [" + std::to_string(lo) +
                        ", " + std::to_string(hi) + "]",
                    "", "set it as torchrun does, or unset WORLD_SIZE to run on one process");
  return x;
}

std::string env_str(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// An exception's message without c10's backtrace.
std::string message_of(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

}  // namespace

Dist& Dist::current() {
  static Dist d;
  return d;
}

Dist::~Dist() = default;

void Dist::init_from_env(double timeout_s) {
  Dist& d = current();
  const long world = env_int("WORLD_SIZE", 1, 1, 1 << 20);
  if (world <= 1) return;
  if (d.active()) return;  // already joined
  if (!(timeout_s > 0)) throw UserError("must be > 0", "--dist-timeout");
  const char* rank_env = std::getenv("RANK");
  if (!rank_env || !*rank_env)
    throw UserError("WORLD_SIZE=" + std::to_string(world) + " but RANK is not set", "environment",
                    "launch with torchrun --no_python or scripts/launch.sh, or set RANK, MASTER_ADDR and MASTER_PORT for every process");
  const long rank = env_int("RANK", 0, 0, world - 1);
  const std::string addr = env_str("MASTER_ADDR", "127.0.0.1");
  const long port = env_int("MASTER_PORT", 29500, 1, 65535);
  const auto timeout = std::chrono::milliseconds(int64_t(timeout_s * 1000));
  const std::string who = "rank " + std::to_string(rank) + " of " + std::to_string(world);
  auto impl = std::make_unique<Impl>();
  try {
    c10d::TCPStoreOptions so;
    so.port = uint16_t(port);
    so.isServer = rank == 0;
    so.numWorkers = size_t(world);
    so.waitWorkers = true;
    so.timeout = timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(addr, so);
#ifdef UNIGAP_NCCL
    const long local = env_int("LOCAL_RANK", 0, 0, 1 << 10);
    impl->device = c10::Device(c10::kCUDA, c10::DeviceIndex(local));
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    impl->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, int(rank), int(world), opts);
    d.backend_ = "nccl";
#else
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // The interface that reaches MASTER_ADDR (loopback for one machine).
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(addr));
    impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, int(rank), int(world), opts);
    d.backend_ = "gloo";
#endif
  } catch (const std::exception& e) {
    throw UserError(who + ": cannot join the process group at " + addr + ":" + std::to_string(port) + " within " +
                        std::to_string(timeout_s) + " s: " + message_of(e),
                    "MASTER_ADDR/MASTER_PORT", "did every rank start, with the same WORLD_SIZE, MASTER_ADDR and MASTER_PORT?");
  }
  d.impl_ = std::move(impl);
  d.rank_ = int(rank);
  d.world_ = int(world);
  if (rank != 0) {
    set_writes_enabled(false);
    Progress::silence();
    // Rank 0 reports; the others' tables would be copies. Errors still go to stderr.
    if (!std::freopen("/dev/null", "w", stdout)) log_warn("rank " + std::to_string(rank) + ": cannot silence stdout");
  }
  log_info("distributed: " + std::to_string(world) + " ranks (" + d.backend_ + "), master " + addr + ":" +
           std::to_string(port) + ", timeout " + std::to_string(int(timeout_s)) + " s");
}

std::pair<size_t, size_t> Dist::share(size_t n) const {
  const size_t w = size_t(world_), r = size_t(rank_), base = n / w, extra = n % w;
  const size_t lo = r * base + std::min(r, extra);
  return {lo, lo + base + (r < extra ? 1 : 0)};
}

namespace {

// Runs one collective; a failure (a peer died, or the timeout passed) becomes a
// UserError that says which rank saw it and what it was doing.
template <class F>
void collective(const Dist& d, const char* what, F&& f) {
  try {
    f()->wait();
  } catch (const std::exception& e) {
    throw UserError("rank " + std::to_string(d.rank()) + " of " + std::to_string(d.world()) + ": " + what +
                        " failed: " + message_of(e),
                    "distributed run", "another rank died, hung past --dist-timeout or ran other work; see its log");
  }
}

}  // namespace

void Dist::allreduce_sum(std::vector<at::Tensor>& tensors, size_t bucket_bytes) {
  if (!active() || tensors.empty()) return;
  const auto t0 = Clock::now();
  torch::NoGradGuard ng;
  size_t i = 0;
  while (i < tensors.size()) {
    // One bucket: consecutive tensors of one dtype up to bucket_bytes (at least one).
    size_t j = i, bytes = 0;
    const auto dtype = tensors[i].scalar_type();
    while (j < tensors.size() && tensors[j].scalar_type() == dtype &&
           (j == i || bytes + tensors[j].nbytes() <= bucket_bytes)) {
      UNIGAP_ASSERT(tensors[j].defined(), "allreduce of an undefined tensor");
      bytes += tensors[j].nbytes();
      ++j;
    }
    std::vector<at::Tensor> flat;
    for (size_t k = i; k < j; ++k) flat.push_back(tensors[k].reshape({-1}));
    std::vector<at::Tensor> bucket{torch::cat(flat).to(impl_->device)};
    collective(*this, "allreduce", [&] { return impl_->pg->allreduce(bucket); });
    ++stats_.allreduce_calls;
    auto out = bucket[0].to(c10::kCPU);
    int64_t off = 0;
    for (size_t k = i; k < j; ++k) {
      const int64_t n = tensors[k].numel();
      tensors[k].copy_(out.narrow(0, off, n).view(tensors[k].sizes()));
      off += n;
    }
    i = j;
  }
  stats_.allreduce_seconds += seconds_since(t0);
}

std::vector<std::string> Dist::all_gather(const std::string& bytes) {
  if (!active()) return {bytes};
  const auto t0 = Clock::now();
  auto gather = [&](const at::Tensor& mine) {
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < world_; ++r) out[0].push_back(torch::empty_like(mine));
    std::vector<at::Tensor> in{mine};
    collective(*this, "all_gather", [&] { return impl_->pg->allgather(out, in); });
    return out[0];
  };
  auto sizes = gather(torch::tensor({int64_t(bytes.size())}, torch::kLong).to(impl_->device));
  int64_t longest = 0;
  for (auto& s : sizes) longest = std::max(longest, s.to(c10::kCPU).item<int64_t>());
  auto mine = torch::zeros({std::max<int64_t>(longest, 1)}, torch::kUInt8);
  std::memcpy(mine.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  auto all = gather(mine.to(impl_->device));
  std::vector<std::string> res;
  for (int r = 0; r < world_; ++r) {
    auto t = all[size_t(r)].to(c10::kCPU);
    const int64_t n = sizes[size_t(r)].to(c10::kCPU).item<int64_t>();
    res.emplace_back(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), size_t(n));
  }
  stats_.gather_seconds += seconds_since(t0);
  return res;
}

void Dist::broadcast(std::vector<at::Tensor>& tensors) {
  if (!active() || tensors.empty()) return;
  torch::NoGradGuard ng;
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t.contiguous().to(impl_->device)};
    collective(*this, "broadcast", [&] { return impl_->pg->broadcast(one); });
    t.copy_(one[0].to(c10::kCPU));
  }
}

void Dist::barrier() {
  if (!active()) return;
  collective(*this, "barrier", [&] { return impl_->pg->barrier(); });
}

void Dist::agree(const std::string& what, const std::string& value) {
  if (!active()) return;
  auto all = all_gather(value);
  for (int r = 1; r < world_; ++r)
    if (all[size_t(r)] != all[0])
      throw UserError("ranks disagree on " + what + ": rank 0 has '" + all[0] + "', rank " + std::to_string(r) + " has '" +
                          all[size_t(r)] + "'",
                      "distributed run", "every rank must read the same run folder (a shared file system) and options");
}

bool Dist::main_value(bool mine) {
  if (!active()) return mine;
  return all_gather(mine ? "1" : "0")[0] == "1";
}

double allreduce_gradients(const std::vector<at::Tensor>& params) {
  Dist& d = Dist::current();
  if (!d.active()) return 0;
  const double before = d.stats().allreduce_seconds;
  std::vector<at::Tensor> trainable;
  for (auto& p : params)
    if (p.requires_grad()) trainable.push_back(p);
  // Which tensors got a gradient on some rank: one that got none anywhere stays
  // undefined, as on one process (the optimizer skips it, weight decay included).
  auto has = torch::zeros({int64_t(trainable.size()) + 1}, torch::kFloat32);
  for (size_t i = 0; i < trainable.size(); ++i) has[int64_t(i)] = trainable[i].grad().defined() ? 1.f : 0.f;
  std::vector<at::Tensor> grads;
  for (auto p : trainable) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  grads.push_back(has);
  d.allreduce_sum(grads);
  for (size_t i = 0; i < trainable.size(); ++i)
    if (has[int64_t(i)].item<float>() == 0.f) {
      auto p = trainable[i];
      p.mutable_grad() = at::Tensor();
    }
  return d.stats().allreduce_seconds - before;
}

}  // namespace unigap
