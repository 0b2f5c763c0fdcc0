// Process-wide torch settings, chosen once by a program's main (the CLI, the test and
// benchmark mains), never by a model or a trainer behind the caller's back.
#pragma once

namespace unigap {

// Debian's libtorch 1.13 oneDNN convolution backward intermittently returns NaN weight
// gradients with one OpenMP thread (reproduced: unified step 1 of a 1-thread run; never
// with oneDNN off). ATen's native convolutions are as fast at the shapes model's sizes, so
// oneDNN convolutions start off; pretraining turns them on for the VQ tokenizer's wider
// convolutions only (train/pretrain.cpp), where they are 3x faster and never failed.
void configure_torch_runtime();

// Torch's intra-op threads: `requested` when > 0; else OMP_NUM_THREADS when set (libgomp
// reads it); else every core. Debian's libgomp reports omp_get_max_threads() == 1 on this
// machine even with two cores, so a main that does not call this computes on one core.
void set_torch_threads(int requested);

// Scoped switch of oneDNN convolutions; the previous setting comes back on exit.
class OneDnnConvolutions {
 public:
  explicit OneDnnConvolutions(bool on);
  ~OneDnnConvolutions();
  OneDnnConvolutions(const OneDnnConvolutions&) = delete;
  OneDnnConvolutions& operator=(const OneDnnConvolutions&) = delete;

 private:
  bool before_;
};

}  // namespace unigap
