// Reading large weight files one tensor at a time. LazySafetensors parses and
// validates a .safetensors header at open and reads each tensor's bytes with a
// positioned read when asked (io/random_access_file), so a 10 GB file costs its
// header in memory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/random_access_file.h"
#include "io/safetensors.h"

namespace unigap {

struct SafetensorsTensorRef {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t file_offset = 0;  // absolute position of the first byte in the file
  uint64_t nbytes = 0;       // numel * dtype_size(dtype)
};

class LazySafetensors {
 public:
  // Reads the header only. It is checked as decode_safetensors checks it (header
  // size, JSON object, dtypes, shapes, offsets tiling the data buffer exactly),
  // against the file size instead of a buffer in memory. UserError naming the file.
  static LazySafetensors open(const std::string& path);

  // In file order (by data offset).
  const std::vector<std::pair<std::string, SafetensorsTensorRef>>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return file_.path(); }
  // That tensor's bytes; UserError if the name is unknown or the file shrank since open.
  TensorData read(const std::string& name) const;

 private:
  explicit LazySafetensors(RandomAccessFile file) : file_(std::move(file)) {}
  RandomAccessFile file_;
  std::vector<std::pair<std::string, SafetensorsTensorRef>> tensors_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

}  // namespace unigap
