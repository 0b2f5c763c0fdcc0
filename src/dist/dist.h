// Data parallelism on libtorch's c10d (ProcessGroupGloo on CPU; ProcessGroupNCCL when
// built with UNIGAP_NCCL against a CUDA libtorch). Launched by `torchrun --no-python`
// or any launcher that sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT (LOCAL_RANK
// picks the GPU). Without WORLD_SIZE > 1 everything here is a no-op on one process.
//
// The model of execution: every rank runs the same deterministic program on the same
// inputs. Three things differ:
//  - the expensive parts are sharded: sampling and judging (each rank takes a
//    contiguous share of the rows, results are all-gathered in request order, so every
//    rank then holds exactly what one process would have), and training (each rank
//    computes its share of the global batch; gradients are summed with bucketed
//    allreduce, so every rank takes the same optimizer step);
//  - only rank 0 writes (io's set_writes_enabled(false) elsewhere) and reports;
//  - collectives fail, not hang: a rank that dies makes the others' next collective
//    fail at once (the connection closes), one that hangs or never joins makes them
//    fail after the timeout. Either way the error names the rank and the operation.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace unigap {

struct DistStats {
  int64_t allreduce_calls = 0;  // collective calls (one per bucket)
  double allreduce_seconds = 0;
  double gather_seconds = 0;
};

class Dist {
 public:
  // The process's group; one process (rank 0 of 1) until init_from_env succeeds.
  static Dist& current();
  // Joins the group the environment describes (RANK, WORLD_SIZE, MASTER_ADDR,
  // MASTER_PORT), waiting at most `timeout_s` for the others to join and for any
  // collective to complete. A no-op when WORLD_SIZE is unset or 1. On ranks > 0 the
  // io layer stops writing and progress/info logs are silenced.
  static void init_from_env(double timeout_s);

  int rank() const { return rank_; }
  int world() const { return world_; }
  bool active() const { return world_ > 1; }
  bool is_main() const { return rank_ == 0; }
  const std::string& backend() const { return backend_; }

  // This rank's contiguous share [lo, hi) of n items (the first n % world ranks get one more).
  std::pair<size_t, size_t> share(size_t n) const;

  // Sums the tensors in place across ranks, packed into buckets of about
  // `bucket_bytes` (one collective per bucket, not per tensor). Undefined tensors must
  // not be passed (use zeros).
  void allreduce_sum(std::vector<at::Tensor>& tensors, size_t bucket_bytes = 25u << 20);
  // Every rank's bytes, in rank order.
  std::vector<std::string> all_gather(const std::string& bytes);
  // rank 0's tensors overwrite everybody else's.
  void broadcast(std::vector<at::Tensor>& tensors);
  void barrier();
  // Checks that every rank holds the same `value` of `what` (e.g. the checkpoint it
  // resumes from); a UserError naming the ranks and values otherwise.
  void agree(const std::string& what, const std::string& value);
  // Rank 0's value of a decision every rank must take alike, such as "does this run
  // folder already hold a run?" when rank 0 may write it a moment later.
  bool main_value(bool mine);

  DistStats& stats() { return stats_; }

  ~Dist();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_ = 1;
  std::string backend_ = "none";
  DistStats stats_;
};

// Gradients of `params` summed across ranks (undefined gradients count as zeros and
// become zeros). Each rank must have scaled its loss by (its rows / global rows) so
// that the sum is the global mean. Returns the seconds spent.
double allreduce_gradients(const std::vector<at::Tensor>& params);

}  // namespace unigap
