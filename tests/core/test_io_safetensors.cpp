// Tests for io/safetensors: round trips, agreement with an independent Python
// reader and with hand-built bytes (so writer and reader cannot share a mistake),
// one test per validation rule of the decoder, and the f16/bf16 conversions.
#include "io/safetensors.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "core_test_util.h"

namespace unigap {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

template <typename T>
std::vector<uint8_t> as_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());  // the test machine is little-endian, like the format
  return b;
}

TensorData tensor(DType d, std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
  TensorData t;
  t.dtype = d;
  t.shape = std::move(shape);
  t.bytes = std::move(bytes);
  return t;
}

// A file built by hand per the spec: u64 LE header length, header, data.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return out + header + data;
}

SafetensorsFile decode(const std::string& bytes, const std::string& origin = "mem.safetensors") {
  return decode_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), origin);
}

// Decodes and returns the UserError message; fails the test if nothing is thrown.
std::string decode_error(const std::string& bytes) {
  try {
    decode(bytes, "bad.safetensors");
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << "origin missing from: " << msg;
    return msg;
  }
  ADD_FAILURE() << "expected a UserError";
  return "";
}

std::string error_for_header(const std::string& header, size_t data_size) {
  return decode_error(raw_file(header, std::string(data_size, '\x5a')));
}

constexpr DType kAllDTypes[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64, DType::I32, DType::U8};

TEST(IoSafetensors, DTypeNamesAndSizes) {
  EXPECT_STREQ(dtype_name(DType::BF16), "BF16");
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_EQ(dtype_size(DType::U8), 1u);
  for (DType d : kAllDTypes) EXPECT_EQ(dtype_from_name(dtype_name(d), "test"), d);
  try {
    dtype_from_name("Q4", "model.json");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), "model.json");
    EXPECT_CONTAINS(e.what(), "Q4");
  }
}

TEST(IoSafetensors, RoundTripEveryDType) {
  SafetensorsFile f;
  uint32_t seed = 1;
  for (DType d : kAllDTypes) {
    const std::string name = std::string("t_") + dtype_name(d);
    f.tensors[name] = tensor(d, {2, 3}, random_bytes(6 * dtype_size(d), seed++));
  }
  f.tensors["scalar"] = tensor(DType::F32, {}, as_bytes(std::vector<float>{3.5f}));
  f.tensors["empty"] = tensor(DType::I64, {0, 5}, {});
  const std::string bytes = encode_safetensors(f);
  const SafetensorsFile g = decode(bytes);
  ASSERT_EQ(g.tensors.size(), f.tensors.size());
  for (const auto& [name, t] : f.tensors) {
    const TensorData& u = g.tensors.at(name);
    EXPECT_EQ(u.dtype, t.dtype) << name;
    EXPECT_EQ(u.shape, t.shape) << name;
    EXPECT_EQ(u.bytes, t.bytes) << name;
  }
  EXPECT_EQ(g.tensors.at("scalar").numel(), 1);
  EXPECT_EQ(g.tensors.at("empty").numel(), 0);
}

TEST(IoSafetensors, HeaderIsPaddedAndTensorsAreInNameOrder) {
  SafetensorsFile f;
  f.tensors["b"] = tensor(DType::U8, {3}, {1, 2, 3});
  f.tensors["a"] = tensor(DType::U8, {1}, {9});
  f.tensors["c"] = tensor(DType::F64, {1}, random_bytes(8, 7));
  const std::string bytes = encode_safetensors(f);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  EXPECT_EQ(n % 8, 0u);
  const std::string header = bytes.substr(8, n);
  const auto close = header.find_last_of('}');
  EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos) << "padding must be spaces";
  const auto j = nlohmann::json::parse(header);
  EXPECT_EQ(j["a"]["data_offsets"], nlohmann::json({0, 1}));
  EXPECT_EQ(j["b"]["data_offsets"], nlohmann::json({1, 4}));
  EXPECT_EQ(j["c"]["data_offsets"], nlohmann::json({4, 12}));
  EXPECT_EQ(bytes.size(), 8 + n + 12);
}

TEST(IoSafetensors, MetadataRoundTrip) {
  SafetensorsFile f;
  f.metadata["format"] = "pt";
  f.metadata["note"] = "ünïcode \"quoted\"\n";
  f.tensors["w"] = tensor(DType::F32, {1}, as_bytes(std::vector<float>{1.0f}));
  const SafetensorsFile g = decode(encode_safetensors(f));
  EXPECT_EQ(g.metadata, f.metadata);

  SafetensorsFile only_meta;
  only_meta.metadata["k"] = "v";
  EXPECT_EQ(decode(encode_safetensors(only_meta)).metadata, only_meta.metadata);
}

TEST(IoSafetensors, EmptyFile) {
  const SafetensorsFile g = decode(encode_safetensors(SafetensorsFile{}));
  EXPECT_TRUE(g.tensors.empty());
  EXPECT_TRUE(g.metadata.empty());
}

TEST(IoSafetensors, WriteAndReadFile) {
  TempDir dir;
  SafetensorsFile f;
  f.tensors["x"] = tensor(DType::I32, {2}, as_bytes(std::vector<int32_t>{-7, 1 << 30}));
  write_safetensors(dir.file("m.safetensors"), f);
  const SafetensorsFile g = read_safetensors(dir.file("m.safetensors"));
  EXPECT_EQ(g.tensors.at("x").bytes, f.tensors.at("x").bytes);
}

TEST(IoSafetensors, ReadableByIndependentPythonReader) {
  if (std::system("/usr/bin/python3 -c pass >/dev/null 2>&1") != 0) GTEST_SKIP() << "no /usr/bin/python3";
  TempDir dir;
  SafetensorsFile f;
  f.metadata["format"] = "pt";
  f.tensors["w_f32"] = tensor(DType::F32, {2, 2}, as_bytes(std::vector<float>{1.5f, -2.0f, 3.25f, 1e-3f}));
  f.tensors["w_f16"] = tensor(DType::F16, {3}, as_bytes(std::vector<uint16_t>{
                                                    float_to_f16(1.0f), float_to_f16(-2.5f), float_to_f16(65504.0f)}));
  f.tensors["w_bf16"] = tensor(DType::BF16, {2}, as_bytes(std::vector<uint16_t>{float_to_bf16(0.5f),
                                                                                 float_to_bf16(-384.0f)}));
  f.tensors["a_f64"] = tensor(DType::F64, {1}, as_bytes(std::vector<double>{0.1}));
  f.tensors["i64"] = tensor(DType::I64, {2}, as_bytes(std::vector<int64_t>{-1, 1LL << 40}));
  f.tensors["i32"] = tensor(DType::I32, {1, 1}, as_bytes(std::vector<int32_t>{-123}));
  f.tensors["u8"] = tensor(DType::U8, {5}, {0, 1, 2, 254, 255});
  f.tensors["zero"] = tensor(DType::F32, {0}, {});
  const std::string path = dir.file("py.safetensors");
  write_safetensors(path, f);

  const std::string cmd = "/usr/bin/python3 " UNIGAP_SOURCE_DIR "/tests/io_mirror/safetensors_dump.py '" + path + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  EXPECT_EQ(status, 0) << out;
  // float32 1e-3 is not exactly 0.001; Python prints the float32 value widened to double.
  EXPECT_EQ(out,
            "metadata {\"format\": \"pt\"}\n"
            "a_f64 F64 [1] 0.1\n"
            "i32 I32 [1,1] -123\n"
            "i64 I64 [2] -1,1099511627776\n"
            "u8 U8 [5] 0,1,2,254\n"
            "w_bf16 BF16 [2] 0.5,-384.0\n"
            "w_f16 F16 [3] 1.0,-2.5,65504.0\n"
            "w_f32 F32 [2,2] 1.5,-2.0,3.25,0.0010000000474974513\n"
            "zero F32 [0] \n"
            "ok\n");
}

TEST(IoSafetensors, DecodesHandBuiltBytes) {
  // Two tensors written in reverse name order in the buffer, a metadata block, and
  // trailing header spaces: all legal, none of it produced by our writer.
  const std::string header =
      R"({"b":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
      R"("__metadata__":{"who":"hand"},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}}   )";
  std::string data = "\x01\x02\x03";
  data += std::string("\x00\x00\x80\x3f", 4);  // 1.0f little-endian
  data += std::string("\x00\x00\x20\xc0", 4);  // -2.5f
  const SafetensorsFile f = decode(raw_file(header, data));
  EXPECT_EQ(f.metadata.at("who"), "hand");
  EXPECT_EQ(f.tensors.at("b").bytes, (std::vector<uint8_t>{1, 2, 3}));
  const TensorData& a = f.tensors.at("a");
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2}));
  float v[2];
  std::memcpy(v, a.bytes.data(), sizeof v);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.5f);
}

TEST(IoSafetensors, RejectsTruncatedFile) {
  EXPECT_CONTAINS(decode_error(std::string("\x10\x00\x00", 3)), "truncated");
  // A valid file cut short: the last tensor no longer fits in the buffer.
  SafetensorsFile f;
  f.tensors["w"] = tensor(DType::F32, {4}, random_bytes(16, 3));
  std::string bytes = encode_safetensors(f);
  bytes.resize(bytes.size() - 5);
  const std::string msg = decode_error(bytes);
  EXPECT_CONTAINS(msg, "tensor 'w'");
  EXPECT_CONTAINS(msg, "out of range");
}

TEST(IoSafetensors, RejectsHeaderLongerThanFile) {
  std::string bytes = raw_file("{}", "");
  bytes[0] = 100;
  const std::string msg = decode_error(bytes);
  EXPECT_CONTAINS(msg, "header length 100");
  EXPECT_CONTAINS(msg, "at most 2");
  std::string huge(8, '\xff');
  EXPECT_CONTAINS(decode_error(huge + "{}"), "exceeds the file");
}

TEST(IoSafetensors, RejectsNonJsonHeader) {
  EXPECT_CONTAINS(error_for_header("{\"a\": ", 0), "not valid JSON");
  EXPECT_CONTAINS(error_for_header("\xff\xfe garbage", 0), "not valid JSON");
  EXPECT_CONTAINS(error_for_header("[1, 2]", 0), "must be a JSON object, found array");
  EXPECT_CONTAINS(error_for_header(R"({"a": 1e999})", 0), "not valid JSON");
  EXPECT_CONTAINS(error_for_header(std::string(100, '[') + std::string(100, ']'), 0), "nests deeper");
}

TEST(IoSafetensors, RejectsUnknownDType) {
  const std::string msg = error_for_header(R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1);
  EXPECT_CONTAINS(msg, "tensor 'w'");
  EXPECT_CONTAINS(msg, "unknown dtype \"F8_E4M3\"");
  EXPECT_CONTAINS(msg, "expected one of F32");
  EXPECT_CONTAINS(error_for_header(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4), "must be a string");
}

TEST(IoSafetensors, RejectsNegativeOrNonIntegerShape) {
  std::string msg = error_for_header(R"({"w":{"dtype":"U8","shape":[2,-1],"data_offsets":[0,2]}})", 2);
  EXPECT_CONTAINS(msg, "tensor 'w'");
  EXPECT_CONTAINS(msg, "negative value -1");
  msg = error_for_header(R"({"w":{"dtype":"U8","shape":[2.5],"data_offsets":[0,2]}})", 2);
  EXPECT_CONTAINS(msg, "non-negative integers, found 2.5");
  EXPECT_CONTAINS(error_for_header(R"({"w":{"dtype":"U8","shape":3,"data_offsets":[0,3]}})", 3), "must be an array");
}

TEST(IoSafetensors, RejectsOffsetsOutOfRange) {
  std::string msg = error_for_header(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", 4);
  EXPECT_CONTAINS(msg, "tensor 'w'");
  EXPECT_CONTAINS(msg, "data_offsets [2, 6] out of range");
  EXPECT_CONTAINS(msg, "end <= 4");
  msg = error_for_header(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[3,1]}})", 4);
  EXPECT_CONTAINS(msg, "begin is after end");
  msg = error_for_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})", 4);
  EXPECT_CONTAINS(msg, "must be [begin, end]");
  msg = error_for_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551615]}})", 4);
  EXPECT_CONTAINS(msg, "too large");
}

TEST(IoSafetensors, RejectsSizeMismatch) {
  const std::string msg = error_for_header(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20);
  EXPECT_CONTAINS(msg, "tensor 'w'");
  EXPECT_CONTAINS(msg, "span 20 bytes, expected 24");
  EXPECT_CONTAINS(msg, "[2, 3]");
}

TEST(IoSafetensors, RejectsOverlap) {
  const std::string msg = error_for_header(
      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
      6);
  EXPECT_CONTAINS(msg, "tensor 'b'");
  EXPECT_CONTAINS(msg, "overlap tensor 'a'");
  // A zero-size tensor strictly inside another one still overlaps, as in the reference reader.
  EXPECT_CONTAINS(
      error_for_header(
          R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"z":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}})",
          4),
      "tensor 'z'");
}

TEST(IoSafetensors, RejectsGaps) {
  std::string msg = error_for_header(
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}})",
      5);
  EXPECT_CONTAINS(msg, "tensor 'b'");
  EXPECT_CONTAINS(msg, "gap");
  EXPECT_CONTAINS(msg, "[2, 3)");
  msg = error_for_header(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 7);
  EXPECT_CONTAINS(msg, "[2, 7) at the end");
  EXPECT_CONTAINS(error_for_header("{}", 3), "gap");
}

TEST(IoSafetensors, RejectsMissingOrMalformedFields) {
  EXPECT_CONTAINS(error_for_header(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", 1), "tensor 'w': missing field \"dtype\"");
  EXPECT_CONTAINS(error_for_header(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", 1), "missing field \"shape\"");
  EXPECT_CONTAINS(error_for_header(R"({"w":{"dtype":"U8","shape":[1]}})", 1), "missing field \"data_offsets\"");
  EXPECT_CONTAINS(error_for_header(R"({"w":[1,2]})", 0), "tensor 'w': expected an object");
  EXPECT_CONTAINS(error_for_header(R"({"__metadata__":{"k":1}})", 0), "expected a string value");
  EXPECT_CONTAINS(error_for_header(R"({"__metadata__":"x"})", 0), "\"__metadata__\" must be an object");
}

TEST(IoSafetensors, RejectsDuplicateTensorNames) {
  const std::string msg = error_for_header(
      R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
      2);
  EXPECT_CONTAINS(msg, "\"w\" more than once");
}

TEST(IoSafetensors, RejectsShapesWhoseSizeOverflows) {
  // 2^32 * 2^32 elements overflows u64; so does 2^62 elements * 4 bytes.
  std::string msg = error_for_header(
      R"({"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0);
  EXPECT_CONTAINS(msg, "tensor 'w'");
  EXPECT_CONTAINS(msg, "overflows");
  msg = error_for_header(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0);
  EXPECT_CONTAINS(msg, "overflows");
  // Large but representable: an honest size mismatch, not a crash or a huge allocation.
  msg = error_for_header(R"({"w":{"dtype":"F64","shape":[1000000,1000000],"data_offsets":[0,8]}})", 8);
  EXPECT_CONTAINS(msg, "expected 8000000000000");
  // A zero dimension makes any other dimension harmless.
  const SafetensorsFile f =
      decode(raw_file(R"({"w":{"dtype":"F64","shape":[0,9223372036854775807],"data_offsets":[0,0]}})", ""));
  EXPECT_EQ(f.tensors.at("w").numel(), 0);
}

TEST(IoSafetensors, EncoderRejectsInconsistentTensors) {
  SafetensorsFile f;
  f.tensors["w"] = tensor(DType::F32, {2}, {1, 2, 3});
  try {
    encode_safetensors(f);
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), "tensor 'w'");
    EXPECT_CONTAINS(e.what(), "has 3 bytes, expected 8");
  }
  SafetensorsFile g;
  g.tensors["__metadata__"] = tensor(DType::U8, {0}, {});
  EXPECT_THROW(encode_safetensors(g), UserError);
}

TEST(IoSafetensors, SurvivesRandomCorruption) {
  // A cheap stand-in for the fuzzer: flipped bytes must give a UserError or a valid
  // file, never a crash or another exception type.
  SafetensorsFile f;
  f.metadata["m"] = "v";
  f.tensors["a"] = tensor(DType::F16, {3, 2}, random_bytes(12, 11));
  f.tensors["b"] = tensor(DType::I64, {2}, random_bytes(16, 12));
  const std::string good = encode_safetensors(f);
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i) {
    std::string bad = good;
    const int flips = 1 + int(rng() % 3);
    for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = char(rng());
    if (rng() % 4 == 0) bad.resize(rng() % bad.size());
    try {
      decode(bad);
    } catch (const UserError&) {
    }
  }
}

// ---- f16 / bf16 ----

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(IoF16, KnownValues) {
  EXPECT_EQ(float_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(float_to_f16(-2.5f), 0xc100);
  EXPECT_EQ(float_to_f16(0.0f), 0x0000);
  EXPECT_EQ(float_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(float_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(float_to_f16(-std::numeric_limits<float>::infinity()), 0xfc00);
  const uint16_t nan = float_to_f16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
  // A NaN whose surviving payload bits are all zero must not turn into infinity.
  uint32_t low_payload_nan = 0x7f800001u;
  float f;
  std::memcpy(&f, &low_payload_nan, 4);
  EXPECT_NE(float_to_f16(f) & 0x03ff, 0);

  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_f16(std::ldexp(1023.0f, -24)), 0x03ff);  // largest subnormal
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_f16(1e-10f), 0x0000);
  EXPECT_EQ(float_to_f16(1e6f), 0x7c00);

  EXPECT_EQ(f16_to_float(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_float(0xc100), -2.5f);
  EXPECT_EQ(f16_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(bits(f16_to_float(0x8000)), 0x80000000u);
  EXPECT_TRUE(std::isinf(f16_to_float(0xfc00)) && f16_to_float(0xfc00) < 0);
  EXPECT_TRUE(std::isnan(f16_to_float(0x7e00)));
}

TEST(IoF16, RoundsToNearestEven) {
  // Exactly halfway between two f16 values: pick the one with an even mantissa.
  EXPECT_EQ(float_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // 1 | 1+2^-10  -> 1
  EXPECT_EQ(float_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // 1+2^-10 | 1+2^-9 -> 1+2^-9
  EXPECT_EQ(float_to_f16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);  // just above: up
  EXPECT_EQ(float_to_f16(65520.0f), 0x7c00);                                 // 65504 | 65536 -> inf
  EXPECT_EQ(float_to_f16(std::nextafter(65520.0f, 0.0f)), 0x7bff);
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -25)), 0x0000);                    // 0 | 2^-24 -> 0
  EXPECT_EQ(float_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(float_to_f16(3 * std::ldexp(1.0f, -25)), 0x0002);                // 1 | 2 subnormal units -> 2
  EXPECT_EQ(float_to_f16(std::ldexp(2047.0f, -25)), 0x0400);                 // carries into the normals
}

TEST(IoF16, AllBitPatternsRoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_float(uint16_t(h));
    const bool is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0;
    if (is_nan) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_TRUE(std::isnan(f16_to_float(float_to_f16(f)))) << std::hex << h;
    } else {
      ASSERT_EQ(float_to_f16(f), h) << std::hex << h;
    }
  }
}

#if defined(__FLT16_MAX__)
TEST(IoF16, AgreesWithCompilerFloat16) {
  // The compiler's float -> _Float16 conversion is an independent RNE implementation;
  // sweep the whole finite float range with a prime stride.
  for (uint64_t u = 0; u < 0x7f800000u; u += 4099) {
    float f;
    const uint32_t x = uint32_t(u);
    std::memcpy(&f, &x, 4);
    const _Float16 ref = static_cast<_Float16>(f);
    uint16_t want;
    std::memcpy(&want, &ref, 2);
    ASSERT_EQ(float_to_f16(f), want) << std::hex << x;
    ASSERT_EQ(float_to_f16(-f), want | 0x8000) << std::hex << x;
  }
}
#endif

TEST(IoBF16, KnownValuesAndRounding) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16(-2.5f), 0xc020);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // above the last midpoint
  const uint16_t nan = float_to_bf16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(bf16_to_float(nan)));
  uint32_t low_payload_nan = 0x7f800001u;
  float f;
  std::memcpy(&f, &low_payload_nan, 4);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(f))));
  EXPECT_EQ(float_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie -> even
  EXPECT_EQ(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(float_to_bf16(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)), 0x3f81);
  uint32_t sub = 0x00018000u;  // float subnormal exactly between bf16 0x0001 and 0x0002
  std::memcpy(&f, &sub, 4);
  EXPECT_EQ(float_to_bf16(f), 0x0002);
  EXPECT_EQ(bf16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_float(0xc020), -2.5f);
}

TEST(IoBF16, AllBitPatternsRoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_float(uint16_t(h));
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bf16_to_float(float_to_bf16(f)))) << std::hex << h;
    } else {
      ASSERT_EQ(float_to_bf16(f), h) << std::hex << h;
    }
  }
}

}  // namespace
}  // namespace unigap
