// The lazy safetensors reader: the header read from the file and checked by
// decode_safetensors' own parser and index (io/safetensors.h) against the file size.
// Every size is checked before it is used: the file is untrusted.
#include "io/lazy_safetensors.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "io/little_endian.h"

namespace unigap {

LazySafetensors LazySafetensors::open(const std::string& path) {
  LazySafetensors out(RandomAccessFile::open(path));
  const uint64_t file_size = out.file_.size();
  if (file_size < 8) {
    throw UserError("truncated safetensors file: expected at least 8 bytes (the header length), found " +
                        std::to_string(file_size),
                    path);
  }
  uint8_t len_bytes[8];
  out.file_.read(0, len_bytes, 8);
  const uint64_t header_len = le64(len_bytes);
  if (header_len > file_size - 8 || header_len > kSafetensorsMaxHeaderBytes) {
    throw UserError("header length " + std::to_string(header_len) + " is too large: expected at most " +
                        std::to_string(std::min(file_size - 8, kSafetensorsMaxHeaderBytes)) + " bytes (truncated file?)",
                    path);
  }
  std::string text(header_len, '\0');
  out.file_.read(8, text.data(), text.size(), "header");
  const nlohmann::json header = parse_safetensors_header(text.data(), text.size(), path);

  const uint64_t data_start = 8 + header_len;
  SafetensorsIndex index = index_safetensors_header(header, file_size - data_start, path);
  out.metadata_ = std::move(index.metadata);
  for (auto& e : index.entries) {
    out.index_.emplace(e.name, out.tensors_.size());
    out.tensors_.emplace_back(e.name, SafetensorsTensorRef{e.dtype, std::move(e.shape), data_start + e.begin, e.end - e.begin});
  }
  return out;
}

TensorData LazySafetensors::read(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) {
    throw UserError("no tensor named '" + name + "' (the file has " + std::to_string(tensors_.size()) + " tensors)",
                    path());
  }
  const SafetensorsTensorRef& ref = tensors_[it->second].second;
  TensorData t;
  t.dtype = ref.dtype;
  t.shape = ref.shape;
  t.bytes.resize(ref.nbytes);
  file_.read(ref.file_offset, t.bytes.data(), t.bytes.size(), "tensor '" + name + "'");
  return t;
}

}  // namespace unigap
