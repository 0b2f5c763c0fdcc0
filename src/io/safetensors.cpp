// safetensors encoder and validating decoder, plus f16/bf16 conversions.
// The decoder is fed untrusted files (and a fuzzer), so every header field is
// checked before it is used: sizes with overflow-checked arithmetic, offsets
// against the buffer, and the tensors must tile the buffer exactly (no overlap,
// no gap), which is what the reference implementation enforces too.
#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/little_endian.h"

namespace unigap {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// A valid header nests three levels (object > tensor object > shape array); the
// limit only stops a hostile "[[[[..." from building a huge tree.
constexpr int kMaxHeaderDepth = 16;

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2}, {DType::F64, "F64", 8},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::U8, "U8", 1},
};

const DTypeInfo& info(DType d) {
  for (const auto& i : kDTypes) {
    if (i.dtype == d) return i;
  }
  UNIGAP_ASSERT(false, "unknown DType value " + std::to_string(int(d)));
  return kDTypes[0];  // not reached: internal_error throws
}

bool find_dtype(const std::string& name, DType& out) {
  for (const auto& i : kDTypes) {
    if (name == i.name) {
      out = i.dtype;
      return true;
    }
  }
  return false;
}

std::string supported_dtypes() {
  std::string s;
  for (const auto& i : kDTypes) s += (s.empty() ? "" : ", ") + std::string(i.name);
  return s;
}

std::string tensor_label(const std::string& name) { return "tensor '" + name + "': "; }

// A fragment of an untrusted JSON value for an error message, kept short.
std::string excerpt(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// nlohmann's what() starts with "[json.exception.parse_error.101] "; the id helps nobody.
std::string strip_json_prefix(const std::string& what) {
  const auto close = what.find("] ");
  return (what.rfind("[json.exception.", 0) == 0 && close != std::string::npos) ? what.substr(close + 2) : what;
}

void put_u64_le(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}

// Byte size of a tensor, or false if the shape has a negative dimension or the size overflows.
bool byte_size(const std::vector<int64_t>& shape, DType d, uint64_t& out) {
  uint64_t n = 1;
  for (int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(n, uint64_t(dim), &n)) return false;
  }
  return !__builtin_mul_overflow(n, uint64_t(info(d).size), &out);
}

using Sink = std::function<void(const void*, size_t)>;

// Shared by encode_safetensors (into memory) and write_safetensors (streamed to disk,
// so a large checkpoint is not copied once more into a string). Tensors in name order.
void encode_views(const std::map<std::string, TensorView>& tensors, const std::map<std::string, std::string>& metadata,
                  const std::string& where, const Sink& sink) {
  // ordered_json: "__metadata__" first, then tensors in name order (std::map order),
  // so the header bytes are deterministic.
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) {
    ordered_json meta = ordered_json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") {
      throw UserError("the tensor name \"__metadata__\" is reserved for the metadata block", where,
                      "rename the tensor");
    }
    uint64_t need = 0;
    if (!byte_size(t.shape, t.dtype, need)) {
      throw UserError(tensor_label(name) + "invalid shape " + shape_str(t.shape) +
                          ": expected non-negative dimensions whose product fits in 64 bits",
                      where);
    }
    if (t.size != need) {
      throw UserError(tensor_label(name) + "has " + std::to_string(t.size) + " bytes, expected " +
                          std::to_string(need) + " for dtype " + dtype_name(t.dtype) + " and shape " +
                          shape_str(t.shape),
                      where);
    }
    header[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + need}}};
    offset += need;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const ordered_json::type_error& e) {
    throw UserError("cannot encode the header: " + strip_json_prefix(e.what()), where,
                    "tensor names and metadata must be valid UTF-8");
  }
  // Pad with spaces (valid JSON whitespace) so the data starts 8-byte aligned, as the
  // reference writer does; readers that mmap the file rely on that alignment.
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t len[8];
  put_u64_le(len, text.size());
  sink(len, sizeof len);
  sink(text.data(), text.size());
  for (const auto& [name, t] : tensors) {
    if (t.size) sink(t.data, t.size);
  }
}

std::map<std::string, TensorView> views_of(const SafetensorsFile& f) {
  std::map<std::string, TensorView> v;
  for (const auto& [name, t] : f.tensors) v[name] = {t.dtype, t.shape, t.bytes.data(), t.bytes.size()};
  return v;
}

// Parses the shape or data_offsets array: non-negative integers that fit in int64.
std::vector<uint64_t> parse_uint_array(const json& v, const std::string& label, const char* field,
                                       const std::string& origin) {
  if (!v.is_array()) {
    throw UserError(label + "\"" + field + "\" must be an array of non-negative integers, found " + excerpt(v),
                    origin);
  }
  std::vector<uint64_t> out;
  out.reserve(v.size());
  for (const auto& e : v) {
    if (e.is_number_integer() && !e.is_number_unsigned()) {
      throw UserError(label + "\"" + field + "\" has negative value " + excerpt(e) + " in " + excerpt(v) +
                          ", expected non-negative integers",
                      origin);
    }
    if (!e.is_number_unsigned()) {
      throw UserError(label + "\"" + field + "\" must contain non-negative integers, found " + excerpt(e) +
                          " in " + excerpt(v),
                      origin);
    }
    const uint64_t x = e.get<uint64_t>();
    if (x > uint64_t(std::numeric_limits<int64_t>::max())) {
      throw UserError(label + "\"" + field + "\" value " + std::to_string(x) + " is too large (over 2^63-1)",
                      origin);
    }
    out.push_back(x);
  }
  return out;
}

}  // namespace

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

const char* dtype_name(DType d) { return info(d).name; }
size_t dtype_size(DType d) { return info(d).size; }

DType dtype_from_name(const std::string& name, const std::string& where) {
  DType d{};
  if (!find_dtype(name, d)) {
    throw UserError("unknown dtype \"" + name + "\", expected one of " + supported_dtypes(), where);
  }
  return d;
}

int64_t TensorData::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    UNIGAP_ASSERT(d >= 0, "negative dimension in shape " + shape_str(shape));
    UNIGAP_ASSERT(!__builtin_mul_overflow(n, d, &n), "element count of shape " + shape_str(shape) + " overflows");
  }
  return n;
}

std::string encode_safetensors(const SafetensorsFile& f) {
  std::string out;
  encode_views(views_of(f), f.metadata, "safetensors encoder", [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& f) { write_safetensors(path, views_of(f), f.metadata); }

void write_safetensors(const std::string& path, const std::map<std::string, TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // encode_views validates every tensor before it emits a byte, and the atomic writer
  // removes the temp file on any error, so a bad tensor never touches the target.
  write_file_atomic_stream(path, [&](const Sink& sink) { encode_views(tensors, metadata, path, sink); });
}

json parse_safetensors_header(const char* text, size_t size, const std::string& origin) {
  json header;
  std::set<std::string> seen;
  std::string duplicate;
  try {
    // The callback bounds nesting depth and catches duplicate top-level keys, which
    // nlohmann would otherwise merge silently (last one wins).
    header = json::parse(text, text + size, [&](int depth, json::parse_event_t event, json& parsed) {
      if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
          depth > kMaxHeaderDepth) {
        throw UserError("header JSON nests deeper than " + std::to_string(kMaxHeaderDepth) + " levels", origin);
      }
      if (event == json::parse_event_t::key && depth == 1 && duplicate.empty() &&
          !seen.insert(parsed.get<std::string>()).second) {
        duplicate = parsed.get<std::string>();
      }
      return true;
    });
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for numbers such as 1e999 that overflow a double.
    throw UserError("header is not valid JSON: " + strip_json_prefix(e.what()), origin);
  }
  if (!header.is_object()) {
    throw UserError(std::string("header must be a JSON object, found ") + header.type_name(), origin);
  }
  if (!duplicate.empty()) throw UserError("header lists \"" + duplicate + "\" more than once", origin);
  return header;
}

SafetensorsIndex index_safetensors_header(const json& header, uint64_t buffer_size, const std::string& origin) {
  SafetensorsIndex out;
  std::vector<SafetensorsEntry>& spans = out.entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) {
        throw UserError("\"__metadata__\" must be an object of string values, found " + excerpt(v), origin);
      }
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) {
          throw UserError("\"__metadata__\" entry '" + m.key() + "': expected a string value, found " +
                              excerpt(m.value()),
                          origin);
        }
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }

    const std::string label = tensor_label(name);
    if (!v.is_object()) {
      throw UserError(label + "expected an object with dtype, shape and data_offsets, found " + excerpt(v), origin);
    }
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!v.contains(field)) throw UserError(label + "missing field \"" + field + "\"", origin);
    }

    const json& jd = v.at("dtype");
    if (!jd.is_string()) throw UserError(label + "\"dtype\" must be a string, found " + excerpt(jd), origin);
    DType dtype{};
    if (!find_dtype(jd.get<std::string>(), dtype)) {
      throw UserError(label + "unknown dtype \"" + jd.get<std::string>() + "\", expected one of " +
                          supported_dtypes(),
                      origin);
    }

    const std::vector<uint64_t> dims = parse_uint_array(v.at("shape"), label, "shape", origin);
    std::vector<int64_t> shape(dims.begin(), dims.end());
    uint64_t need = 0;
    if (!byte_size(shape, dtype, need)) {
      throw UserError(label + "shape " + shape_str(shape) + " with dtype " + dtype_name(dtype) +
                          " overflows: its byte size does not fit in 64 bits",
                      origin);
    }

    const std::vector<uint64_t> offsets = parse_uint_array(v.at("data_offsets"), label, "data_offsets", origin);
    if (offsets.size() != 2) {
      throw UserError(label + "\"data_offsets\" must be [begin, end], found " + excerpt(v.at("data_offsets")),
                      origin);
    }
    const uint64_t begin = offsets[0], end = offsets[1];
    const std::string span = "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (begin > end) throw UserError(label + span + ": begin is after end", origin);
    if (end > buffer_size) {
      throw UserError(label + span + " out of range: expected end <= " + std::to_string(buffer_size) +
                          ", the size of the data buffer",
                      origin);
    }
    if (end - begin != need) {
      throw UserError(label + "size mismatch: " + span + " span " + std::to_string(end - begin) +
                          " bytes, expected " + std::to_string(need) + " for dtype " + dtype_name(dtype) +
                          " and shape " + shape_str(shape),
                      origin);
    }
    spans.push_back({name, dtype, std::move(shape), begin, end});
  }

  // The tensors must tile [0, buffer_size) exactly: an overlap means two tensors
  // alias, a gap means bytes nobody accounts for (a sign of a corrupt header).
  std::sort(spans.begin(), spans.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t covered = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const SafetensorsEntry& s : spans) {
    if (s.begin < covered) {
      throw UserError(tensor_label(s.name) + "data_offsets [" + std::to_string(s.begin) + ", " +
                          std::to_string(s.end) + "] overlap tensor '" + prev->name + "', expected begin >= " +
                          std::to_string(covered),
                      origin);
    }
    if (s.begin > covered) {
      throw UserError(tensor_label(s.name) + "gap in the data buffer: bytes [" + std::to_string(covered) + ", " +
                          std::to_string(s.begin) + ") before this tensor belong to no tensor, expected begin == " +
                          std::to_string(covered),
                      origin);
    }
    covered = s.end;
    prev = &s;
  }
  if (covered != buffer_size) {
    throw UserError("gap in the data buffer: bytes [" + std::to_string(covered) + ", " + std::to_string(buffer_size) +
                        ") at the end belong to no tensor, expected the tensors to cover all " +
                        std::to_string(buffer_size) + " bytes",
                    origin);
  }

  return out;
}

SafetensorsFile decode_safetensors(const uint8_t* data, size_t size, const std::string& origin) {
  if (size < 8) {
    throw UserError("truncated safetensors file: expected at least 8 bytes (the header length), found " +
                        std::to_string(size),
                    origin);
  }
  const uint64_t header_len = le64(data);
  if (header_len > size - 8) {
    throw UserError("header length " + std::to_string(header_len) + " exceeds the file: expected at most " +
                        std::to_string(size - 8) + " bytes after the 8-byte length field (truncated file?)",
                    origin);
  }
  if (header_len > kSafetensorsMaxHeaderBytes) {
    throw UserError("header length " + std::to_string(header_len) + " exceeds the limit of " +
                        std::to_string(kSafetensorsMaxHeaderBytes) + " bytes",
                    origin);
  }

  const json header = parse_safetensors_header(reinterpret_cast<const char*>(data + 8), size_t(header_len), origin);

  const uint8_t* buffer = data + 8 + header_len;
  const SafetensorsIndex index = index_safetensors_header(header, size - 8 - header_len, origin);
  SafetensorsFile out;
  out.metadata = index.metadata;
  for (const SafetensorsEntry& e : index.entries)
    out.tensors.emplace(e.name, TensorData{e.dtype, e.shape, std::vector<uint8_t>(buffer + e.begin, buffer + e.end)});
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  const std::string content = read_file(path);
  return decode_safetensors(reinterpret_cast<const uint8_t*>(content.data()), content.size(), path);
}

namespace {
uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
}  // namespace

uint16_t float_to_f16(float f) {
  const uint32_t x = float_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {
    if (ax == 0x7f800000u) return uint16_t(sign | 0x7c00u);
    // NaN: keep the top payload bits and force the quiet bit, so the result is a NaN
    // even when the payload bits that survive are all zero.
    return uint16_t(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
  }
  // 65520 is the midpoint between 65504 (max f16, odd mantissa) and 2^16; ties go to
  // the even neighbour, which is infinity.
  if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00u);
  if (ax < 0x38800000u) {
    // Below the smallest normal f16 (2^-14): the result is a subnormal, in units of 2^-24.
    const uint32_t e = ax >> 23;
    if (e < 102) return uint16_t(sign);  // below 2^-25: rounds to zero (2^-25 itself ties to 0)
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;  // may carry into the smallest normal: correct encoding
    return uint16_t(sign | q);
  }
  uint32_t h = ((((ax >> 23) - 127 + 15) << 10) | ((ax & 0x7fffffu) >> 13));
  const uint32_t rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;  // a mantissa carry bumps the exponent, as it should
  return uint16_t(sign | h);
}

float f16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  const uint32_t m = h & 0x3ffu;
  if (e == 0) {
    // Zero or subnormal: m * 2^-24 is exact in float.
    const float v = float(m) * (1.0f / 16777216.0f);
    return bits_float(sign | float_bits(v));
  }
  if (e == 31) return bits_float(sign | 0x7f800000u | (m << 13));  // inf, or NaN with its payload
  return bits_float(sign | ((e - 15 + 127) << 23) | (m << 13));
}

uint16_t float_to_bf16(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) {
    // NaN: truncating could clear every payload bit and yield infinity; force the quiet bit.
    return uint16_t((x >> 16) | 0x40u);
  }
  // Round to nearest even on the 16 dropped bits; overflow carries correctly into inf.
  const uint32_t lsb = (x >> 16) & 1u;
  return uint16_t((x + 0x7fffu + lsb) >> 16);
}

float bf16_to_float(uint16_t h) { return bits_float(uint32_t(h) << 16); }

}  // namespace unigap
