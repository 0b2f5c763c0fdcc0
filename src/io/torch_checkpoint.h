// Reads PyTorch checkpoints (torch.save of a state dict, torch >= 1.6) without torch
// and without executing anything. Such a file is a ZIP archive: a pickle
// `<prefix>/data.pkl` that describes every tensor, one raw storage record
// `<prefix>/data/<key>` per storage, and small records (version, byteorder,
// .data/serialization_id). open() reads the ZIP directory and runs the pickle on a
// restricted machine that knows a handful of globals (OrderedDict, the tensor
// rebuild functions, storage types and dtypes) and refuses every other one; read()
// fetches one tensor's bytes with positioned reads, so a 10 GB shard is never
// loaded whole. Stored (uncompressed) entries and ZIP64 are supported; a compressed
// entry or a big-endian archive is refused. Every malformed input is a UserError
// naming the file and, where there is one, the tensor. The ZIP reading lives in
// io/zip_reader, the pickle machine (and TorchTensorRef) in io/pickle_machine.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/pickle_machine.h"
#include "io/random_access_file.h"
#include "io/safetensors.h"

namespace unigap {

class TorchCheckpoint {
 public:
  // Reads the ZIP directory and the pickle and checks every tensor against its
  // storage record; no storage is read.
  static TorchCheckpoint open(const std::string& path);

  // In the state dict's order.
  const std::vector<std::pair<std::string, TorchTensorRef>>& tensors() const { return tensors_; }
  const std::string& path() const { return file_.path(); }
  // That tensor's bytes, contiguous (row-major), in its own dtype. The whole storage
  // record is read and its CRC-32 checked, then the tensor is gathered from it.
  TensorData read(const std::string& name) const;

 private:
  struct StorageRecord {
    uint64_t data_offset = 0;  // absolute position of the record's bytes in the file
    uint64_t nbytes = 0;
    uint32_t crc32 = 0;
    std::string entry;  // the ZIP entry name, for messages
  };

  explicit TorchCheckpoint(RandomAccessFile file) : file_(std::move(file)) {}
  RandomAccessFile file_;
  std::vector<std::pair<std::string, TorchTensorRef>> tensors_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in tensors_
  std::unordered_map<std::string, StorageRecord> storages_;  // by storage key
};

}  // namespace unigap
