// The lazy safetensors reader. The header checks repeat those of decode_safetensors
// (io/safetensors.cpp), which validates a buffer that holds the whole file and so
// cannot be called on the header alone; keep the two in step. Every size is
// checked before it is used: the file is untrusted.
#include "io/lazy_safetensors.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "common/error.h"

namespace unigap {

// ---------------------------------------------------------------- header parsing

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderSize = 100'000'000;  // as decode_safetensors and the reference reader

std::string excerpt(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Non-negative integers that fit in int64, as the shape and data_offsets arrays must hold.
std::vector<uint64_t> uint_array(const json& v, const std::string& label, const char* field, const std::string& path) {
  if (!v.is_array()) {
    throw UserError(label + "\"" + field + "\" must be an array of non-negative integers, found " + excerpt(v), path);
  }
  std::vector<uint64_t> out;
  for (const auto& e : v) {
    if (!e.is_number_unsigned() || e.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
      throw UserError(label + "\"" + field + "\" must hold integers in [0, 2^63-1], found " + excerpt(e) + " in " +
                          excerpt(v),
                      path);
    }
    out.push_back(e.get<uint64_t>());
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- LazySafetensors

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
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8 || header_len > kMaxHeaderSize) {
    throw UserError("header length " + std::to_string(header_len) + " is too large: expected at most " +
                        std::to_string(std::min(file_size - 8, kMaxHeaderSize)) + " bytes (truncated file?)",
                    path);
  }
  std::string text(header_len, '\0');
  out.file_.read(8, text.data(), text.size(), "header");
  const json header = parse_safetensors_header(text.data(), text.size(), path);

  const uint64_t data_start = 8 + header_len, buffer_size = file_size - data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw UserError("\"__metadata__\" must be an object of strings, found " + excerpt(v), path);
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) {
          throw UserError("\"__metadata__\" entry '" + m.key() + "': expected a string, found " + excerpt(m.value()),
                          path);
        }
        out.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string label = "tensor '" + name + "': ";
    if (!v.is_object()) {
      throw UserError(label + "expected an object with dtype, shape and data_offsets, found " + excerpt(v), path);
    }
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!v.contains(field)) throw UserError(label + "missing field \"" + field + "\"", path);
    }
    if (!v.at("dtype").is_string()) {
      throw UserError(label + "\"dtype\" must be a string, found " + excerpt(v.at("dtype")), path);
    }
    SafetensorsTensorRef ref;
    try {
      ref.dtype = dtype_from_name(v.at("dtype").get<std::string>(), path);
    } catch (const UserError& e) {
      throw UserError(label + e.bare_message(), path);
    }
    for (uint64_t d : uint_array(v.at("shape"), label, "shape", path)) ref.shape.push_back(int64_t(d));
    // The element count first, then bytes, as decode_safetensors does: [2^62, 0] is valid.
    uint64_t numel = 1, need = 0;
    bool overflow = false;
    for (int64_t d : ref.shape) overflow = overflow || __builtin_mul_overflow(numel, uint64_t(d), &numel);
    if (overflow || __builtin_mul_overflow(numel, uint64_t(dtype_size(ref.dtype)), &need)) {
      throw UserError(label + "shape " + shape_str(ref.shape) + " overflows: its byte size does not fit in 64 bits",
                      path);
    }
    const std::vector<uint64_t> offsets = uint_array(v.at("data_offsets"), label, "data_offsets", path);
    if (offsets.size() != 2) {
      throw UserError(label + "\"data_offsets\" must be [begin, end], found " + excerpt(v.at("data_offsets")), path);
    }
    const std::string span = "data_offsets [" + std::to_string(offsets[0]) + ", " + std::to_string(offsets[1]) + "]";
    if (offsets[0] > offsets[1]) throw UserError(label + span + ": begin is after end", path);
    if (offsets[1] > buffer_size) {
      throw UserError(label + span + " out of range: expected end <= " + std::to_string(buffer_size) +
                          ", the size of the data buffer (truncated file?)",
                      path);
    }
    if (offsets[1] - offsets[0] != need) {
      throw UserError(label + "size mismatch: " + span + " spans " + std::to_string(offsets[1] - offsets[0]) +
                          " bytes, expected " + std::to_string(need) + " for dtype " + dtype_name(ref.dtype) +
                          " and shape " + shape_str(ref.shape),
                      path);
    }
    ref.file_offset = data_start + offsets[0];
    ref.nbytes = need;
    out.tensors_.emplace_back(name, std::move(ref));
  }

  // File order; then the tensors must tile the data buffer exactly, as decode_safetensors
  // requires: an overlap means two tensors alias, a gap means bytes nobody accounts for.
  auto& ts = out.tensors_;
  std::sort(ts.begin(), ts.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second.file_offset, a.second.nbytes, a.first) <
           std::tie(b.second.file_offset, b.second.nbytes, b.first);
  });
  uint64_t covered = data_start;
  for (size_t i = 0; i < ts.size(); ++i) {
    const uint64_t begin = ts[i].second.file_offset;
    if (begin != covered) {
      throw UserError("tensor '" + ts[i].first + "': " +
                          (begin < covered ? "overlaps tensor '" + ts[i - 1].first + "'" : "leaves a gap before it") +
                          ": expected data_offsets to begin at " + std::to_string(covered - data_start) +
                          ", found " + std::to_string(begin - data_start),
                      path);
    }
    covered += ts[i].second.nbytes;
    out.index_.emplace(ts[i].first, i);
  }
  if (covered != file_size) {
    throw UserError("gap in the data buffer: bytes [" + std::to_string(covered - data_start) + ", " +
                        std::to_string(buffer_size) + ") at the end belong to no tensor",
                    path);
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
