// safetensors read/write (https://github.com/huggingface/safetensors format):
// 8-byte little-endian header length N, N bytes of JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian tensor bytes. Torch-free: tensors are dtype + shape + bytes.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace unigap {

enum class DType { F32, F16, BF16, F64, I64, I32, U8 };

const char* dtype_name(DType d);   // "F32", ... as in the safetensors header
size_t dtype_size(DType d);        // bytes per element
std::string shape_str(const std::vector<int64_t>& shape);  // "[2, 3]", for messages
DType dtype_from_name(const std::string& name, const std::string& where);  // UserError if unknown

struct TensorData {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // little-endian, numel() * dtype_size(dtype) bytes
  int64_t numel() const;
};

struct SafetensorsFile {
  std::map<std::string, TensorData> tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" entry
};

// Serialises (tensors sorted by name, 8-byte aligned header as the reference writer does).
std::string encode_safetensors(const SafetensorsFile& f);
// Writes atomically.
void write_safetensors(const std::string& path, const SafetensorsFile& f);
// A tensor's bytes where they already are (a model's parameters), so that writing a model
// does not copy it first: `size` bytes at `data`, little-endian, numel * dtype size.
struct TensorView {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t size = 0;
};
void write_safetensors(const std::string& path, const std::map<std::string, TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata);
// Parses and validates: header length within the file, JSON object, known dtypes,
// non-negative shapes, data_offsets within the buffer, end - begin == numel * dtype size,
// no overlaps, no gaps. Errors are UserError naming `origin` and the offending tensor.
SafetensorsFile decode_safetensors(const uint8_t* data, size_t size, const std::string& origin);
// The largest header either reader accepts: the reference implementation refuses headers
// above 100 MB; a larger one is corrupt or hostile, and parsing it would cost far more memory.
constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;
// The header's JSON (`size` bytes at `text`) as a safetensors reader must take it: nesting
// bounded, a top-level key listed twice refused (JSON would keep the last), an object. Errors
// are UserErrors naming `origin`.
nlohmann::json parse_safetensors_header(const char* text, size_t size, const std::string& origin);

// One tensor of a header: its bytes are [begin, end) of the data buffer.
struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};
struct SafetensorsIndex {
  std::map<std::string, std::string> metadata;
  std::vector<SafetensorsEntry> entries;  // by position in the buffer
};
// A parsed header checked against a data buffer of `buffer_size` bytes: known dtypes,
// non-negative shapes, offsets within the buffer, end - begin == numel * dtype size, and
// the tensors tiling the buffer (no overlap, no gap). UserError naming `origin` and the tensor.
SafetensorsIndex index_safetensors_header(const nlohmann::json& header, uint64_t buffer_size, const std::string& origin);
SafetensorsFile read_safetensors(const std::string& path);

// Half-precision conversions (round-to-nearest-even).
uint16_t float_to_f16(float f);
float f16_to_float(uint16_t h);
uint16_t float_to_bf16(float f);
float bf16_to_float(uint16_t h);

}  // namespace unigap
