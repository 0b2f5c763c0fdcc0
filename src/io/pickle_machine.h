// The restricted pickle machine that reads the `data.pkl` of a torch.save
// checkpoint. A pickle is a program; this machine knows a fixed table of globals
// (OrderedDict, the tensor rebuild functions, storage types and dtypes), turns each
// into a builtin behaviour and refuses every other one, so nothing from the file
// is ever executed. What it yields is where each tensor of the state dict lives.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/safetensors.h"

namespace unigap {

// Where a tensor lives, as torch's _rebuild_tensor_v2 describes it. torch.bool has
// no DType of its own: its 1-byte 0/1 elements are reported as U8.
struct TorchTensorRef {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;  // in elements, one per dimension
  int64_t offset = 0;           // first element within the storage, in elements
  std::string storage;          // storage key: the record `<prefix>/data/<storage>`
};

// What a torch.save pickle says about its state dict.
struct PickledStateDict {
  // The dict's (key, tensor) items in pickle order; a key set twice appears twice.
  std::vector<std::pair<std::string, TorchTensorRef>> items;
  std::unordered_map<std::string, uint64_t> storage_bytes;  // by key, as the persistent ids declare them
};

// Runs `pickle` (the bytes of data.pkl) and checks that it holds a dict of str keys
// and tensor values. Every malformed or refused input is a UserError naming `path`
// and, for the machine's own errors, the byte of data.pkl.
PickledStateDict unpickle_state_dict(const std::vector<uint8_t>& pickle, const std::string& path);

}  // namespace unigap
