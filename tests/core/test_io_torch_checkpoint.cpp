// Tests for io/torch_checkpoint and io/lazy_safetensors. The tiny Janus checkpoint
// is checked tensor by tensor against its manifest (SHA-256 of the bf16 bytes,
// written by the fixture's builder, not by us); python3-torch 1.13 writes files with
// other dtypes, views and pickle protocols; hand-built archives (our own ZIP and
// pickle writers below, independent of the reader) cover ZIP64, torch >= 2 forms,
// hostile globals and every malformed case. LazySafetensors is held to the same
// verdicts as decode_safetensors on corrupted headers.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "io/lazy_safetensors.h"
#include "io/torch_checkpoint.h"
#include "core_test_util.h"

namespace unigap {
namespace {

using json = nlohmann::json;
const std::string kJanus = std::string(UNIGAP_TEST_DATA_DIR) + "/janus";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string run(const std::string& cmd, int* status) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return "could not start " + cmd;
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  *status = pclose(p);
  return out;
}

// The bare message of the UserError that f throws; fails the test unless it names `path`.
template <typename F>
std::string user_error(F&& f, const std::string& path) {
  try {
    f();
  } catch (const UserError& e) {
    EXPECT_EQ(e.where(), path) << e.what();
    return e.bare_message();
  }
  ADD_FAILURE() << "expected a UserError for " << path;
  return "";
}

void read_all(const std::string& path) {
  const TorchCheckpoint c = TorchCheckpoint::open(path);
  for (const auto& t : c.tensors()) c.read(t.first);
}

// ---------------------------------------------------------------- SHA-256 (FIPS 180-4)

std::string sha256_hex(const std::vector<uint8_t>& data) {
  static const uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
      0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
      0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
      0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
      0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
      0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
      0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::vector<uint8_t> m = data;
  m.push_back(0x80);
  while (m.size() % 64 != 56) m.push_back(0);
  for (int i = 7; i >= 0; --i) m.push_back(uint8_t(uint64_t(data.size()) * 8 >> (8 * i)));
  const auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  for (size_t c = 0; c < m.size(); c += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      const uint8_t* q = &m[c + 4 * i];
      w[i] = uint32_t(q[0]) << 24 | uint32_t(q[1]) << 16 | uint32_t(q[2]) << 8 | q[3];
    }
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], cc = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      const uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
      hh = g, g = f, f = e, e = d + t1, d = cc, cc = b, b = a, a = t1 + t2;
    }
    const uint32_t add[8] = {a, b, cc, d, e, f, g, hh};
    for (int i = 0; i < 8; ++i) h[i] += add[i];
  }
  char hex[65];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 8 * i, 9, "%08x", h[i]);
  return hex;
}

// ---------------------------------------------------------------- hand-built archives

void put(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i, v >>= 8) s += char(v & 0xff);
}

struct ZipOptions {
  bool zip64 = false;   // every size and offset through ZIP64 extra fields and records
  uint16_t method = 0;  // written as is; the bytes stay stored
};

// A ZIP writer as the spec describes it, sharing no code with the reader under test.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries, ZipOptions opt = {}) {
  std::string out, cd;
  const uint64_t sat = opt.zip64 ? 0xFFFFFFFF : 0;
  for (const auto& [name, data] : entries) {
    const uint32_t crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(data.data()), uInt(data.size())));
    const uint64_t offset = out.size();
    put(out, 0x04034b50, 4), put(out, 45, 2), put(out, 0, 2), put(out, opt.method, 2), put(out, 0, 4), put(out, crc, 4);
    put(out, sat ? sat : data.size(), 4), put(out, sat ? sat : data.size(), 4), put(out, name.size(), 2);
    put(out, opt.zip64 ? 20 : 0, 2);
    out += name;
    if (opt.zip64) put(out, 1, 2), put(out, 16, 2), put(out, data.size(), 8), put(out, data.size(), 8);
    out += data;
    put(cd, 0x02014b50, 4), put(cd, 45, 2), put(cd, 45, 2), put(cd, 0, 2), put(cd, opt.method, 2), put(cd, 0, 4);
    put(cd, crc, 4), put(cd, sat ? sat : data.size(), 4), put(cd, sat ? sat : data.size(), 4), put(cd, name.size(), 2);
    put(cd, opt.zip64 ? 28 : 0, 2), put(cd, 0, 2 + 2 + 2 + 4), put(cd, sat ? sat : offset, 4);  // comment, disk, attrs
    cd += name;
    if (opt.zip64) put(cd, 1, 2), put(cd, 24, 2), put(cd, data.size(), 8), put(cd, data.size(), 8), put(cd, offset, 8);
  }
  const uint64_t cd_offset = out.size(), n = entries.size();
  out += cd;
  if (opt.zip64) {
    const uint64_t end64 = out.size();
    put(out, 0x06064b50, 4), put(out, 44, 8), put(out, 45, 2), put(out, 45, 2), put(out, 0, 4), put(out, 0, 4);
    put(out, n, 8), put(out, n, 8), put(out, cd.size(), 8), put(out, cd_offset, 8);
    put(out, 0x07064b50, 4), put(out, 0, 4), put(out, end64, 8), put(out, 1, 4);
  }
  put(out, 0x06054b50, 4), put(out, 0, 4), put(out, opt.zip64 ? 0xFFFF : n, 2), put(out, opt.zip64 ? 0xFFFF : n, 2);
  put(out, sat ? sat : cd.size(), 4), put(out, sat ? sat : cd_offset, 4), put(out, 0, 2);
  return out;
}

// Emits pickle opcodes the way torch.save (protocol 2) does.
struct Pickle {
  std::string b = "\x80\x02";
  Pickle& op(const std::string& s) { return b += s, *this; }
  Pickle& global(const std::string& dotted) {
    const size_t dot = dotted.rfind('.');
    return op("c" + dotted.substr(0, dot) + "\n" + dotted.substr(dot + 1) + "\n");
  }
  Pickle& str(const std::string& s) { return b += 'X', put(b, s.size(), 4), b += s, *this; }
  Pickle& integer(int64_t v) { return b += "\x8a\x08", put(b, uint64_t(v), 8), *this; }  // LONG1
  Pickle& ints(const std::vector<int64_t>& v) {
    op("(");
    for (int64_t x : v) integer(x);
    return op("t");
  }
  std::string done() const { return b + "."; }
};

struct HandTensor {
  std::string name, key;
  int64_t numel = 0, offset = 0;
  std::vector<int64_t> shape, stride;
  std::string storage_type = "torch.FloatStorage";
};

// An OrderedDict of _rebuild_tensor_v2 calls, byte for byte what torch 1.13 writes.
std::string state_dict_pickle(const std::vector<HandTensor>& ts) {
  Pickle p;
  p.global("collections.OrderedDict").op(")R(");
  for (const HandTensor& t : ts) {
    p.str(t.name).global("torch._utils._rebuild_tensor_v2").op("((").str("storage").global(t.storage_type).str(t.key);
    p.str("cpu").integer(t.numel).op("tQ").integer(t.offset).ints(t.shape).ints(t.stride).op("\x89");
    p.global("collections.OrderedDict").op(")RtR");
  }
  return p.op("u").done();
}

std::string floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

std::string archive(const std::string& pickle, const std::map<std::string, std::string>& storages,
                    const std::vector<std::pair<std::string, std::string>>& extra = {}, ZipOptions opt = {}) {
  std::vector<std::pair<std::string, std::string>> entries = {{"archive/data.pkl", pickle}};
  for (const auto& [key, bytes] : storages) entries.emplace_back("archive/data/" + key, bytes);
  entries.insert(entries.end(), extra.begin(), extra.end());
  entries.emplace_back("archive/version", "3\n");
  return make_zip(entries, opt);
}

// Storage "0": 0..5 as float32; "t" its transpose viewed as [3, 2]; "tail" elements 2..5.
const std::vector<HandTensor> kViews = {
    {"w", "0", 6, 0, {2, 3}, {3, 1}},
    {"t", "0", 6, 0, {3, 2}, {1, 3}},
    {"tail", "0", 6, 2, {4}, {1}},
};
std::string views_archive(ZipOptions opt = {}) {
  return archive(state_dict_pickle(kViews), {{"0", floats({0, 1, 2, 3, 4, 5})}}, {}, opt);
}

std::vector<float> as_floats(const TensorData& t) {
  std::vector<float> v(t.bytes.size() / 4);
  std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

// ---------------------------------------------------------------- the Janus fixtures

TEST(TorchCheckpoint, Sha256OfKnownInputs) {
  EXPECT_EQ(sha256_hex({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex({'a', 'b', 'c'}), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TorchCheckpoint, TinyMatchesManifest) {
  const json manifest = json::parse(slurp(kJanus + "/reference/checkpoint_manifest.json"))["tensors"];
  const TorchCheckpoint c = TorchCheckpoint::open(kJanus + "/tiny/pytorch_model.bin");
  ASSERT_EQ(c.tensors().size(), 420u);
  ASSERT_EQ(manifest.size(), 420u);
  for (size_t i = 0; i < manifest.size(); ++i) {
    const auto& [name, ref] = c.tensors()[i];
    const json& m = manifest[i];
    ASSERT_EQ(name, m["name"].get<std::string>()) << "tensor " << i;
    EXPECT_EQ(ref.dtype, DType::BF16) << name;
    EXPECT_EQ(ref.shape, m["shape"].get<std::vector<int64_t>>()) << name;
    const TensorData t = c.read(name);
    EXPECT_EQ(t.shape, ref.shape) << name;
    EXPECT_EQ(sha256_hex(t.bytes), m["sha256_bf16_le"].get<std::string>()) << name;
    const auto first = m["first"].get<std::vector<double>>();
    for (size_t k = 0; k < first.size(); ++k) {
      uint16_t h;
      std::memcpy(&h, t.bytes.data() + 2 * k, 2);
      EXPECT_EQ(double(bf16_to_float(h)), first[k]) << name << " element " << k;
    }
  }
}

TEST(TorchCheckpoint, ShardsGiveTheSameTensorsAsTheSingleFile) {
  const TorchCheckpoint single = TorchCheckpoint::open(kJanus + "/tiny/pytorch_model.bin");
  const json index = json::parse(slurp(kJanus + "/tiny-sharded/pytorch_model.bin.index.json"))["weight_map"];
  std::map<std::string, TorchCheckpoint> shards;
  std::set<std::string> seen;
  for (const auto& [name, shard] : index.items()) {
    const std::string file = shard.get<std::string>();
    if (!shards.count(file)) shards.emplace(file, TorchCheckpoint::open(kJanus + "/tiny-sharded/" + file));
    const TensorData a = shards.at(file).read(name), b = single.read(name);
    EXPECT_EQ(a.shape, b.shape) << name;
    EXPECT_TRUE(a.bytes == b.bytes) << name;
    seen.insert(name);
  }
  EXPECT_EQ(shards.size(), 2u);
  size_t in_shards = 0;
  for (const auto& [file, c] : shards) {
    in_shards += c.tensors().size();
    for (const auto& t : c.tensors()) EXPECT_EQ(index[t.first], file) << t.first;
  }
  EXPECT_EQ(in_shards, single.tensors().size());
  EXPECT_EQ(seen.size(), single.tensors().size());
}

// ---------------------------------------------------------------- files from Python

const char* const kPython = R"PY(
import json, sys, zipfile
from collections import OrderedDict
mode = sys.argv[1]
if mode == "rezip":  # the entries under archive/, plus the records torch >= 2.1 writes
    src, dst, order, deflate = sys.argv[2:6]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        zout.writestr("archive/byteorder", order)
        for info in zin.infolist():
            name = "archive/" + info.filename.split("/", 1)[1]
            method = zipfile.ZIP_DEFLATED if deflate == "1" and name.endswith("data.pkl") else zipfile.ZIP_STORED
            zout.writestr(zipfile.ZipInfo(name), zin.read(info.filename), compress_type=method)
        zout.writestr("archive/.data/version", "3\n")
        zout.writestr("archive/.data/serialization_id", "1234567890123456789")
    print("ok")
else:  # save DIR: dtypes, views sharing storages and a Parameter, in three pickle protocols
    import torch
    torch.manual_seed(0)
    vec = torch.arange(10, dtype=torch.float64)
    sd = OrderedDict(
        transposed=torch.arange(12, dtype=torch.float32).reshape(3, 4).t(), whole=vec, slice=vec[3:7],
        every_other=vec[::2], f16=torch.randn(2, 3).half(), bf16_scalar=torch.tensor(1.5, dtype=torch.bfloat16),
        i64=torch.tensor([-1, 2**40]), i32=torch.tensor([[7, -8]], dtype=torch.int32),
        u8=torch.tensor([0, 255], dtype=torch.uint8), flags=torch.tensor([True, False, True]),
        empty=torch.zeros(0, 3), expanded=torch.ones(1).expand(4), param=torch.nn.Parameter(torch.randn(2)))
    for proto in (2, 4, 5):
        torch.save(sd if proto != 4 else dict(sd), "%s/p%d.pt" % (sys.argv[2], proto), pickle_protocol=proto)
    def raw(t):
        return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()
    with open("%s/expected.json" % sys.argv[2], "w") as f:
        json.dump([[k, list(v.shape), str(v.dtype), raw(v)] for k, v in sd.items()], f)
    print("ok")
)PY";

std::string python(const TempDir& dir, const std::string& args) {
  spit(dir.file("helper.py"), kPython);
  int status = 0;
  const std::string out = run("/usr/bin/python3 '" + dir.file("helper.py") + "' " + args, &status);
  EXPECT_EQ(status, 0) << "python3 with zipfile and python3-torch is a test dependency:\n" << out;
  return out;
}

TEST(TorchCheckpoint, TorchSaveDtypesViewsAndProtocols) {
  TempDir dir;
  ASSERT_EQ(python(dir, "save '" + dir.file("") + "'"), "ok\n");
  const json expected = json::parse(slurp(dir.file("expected.json")));
  const std::map<std::string, DType> dtypes = {
      {"torch.float32", DType::F32}, {"torch.float64", DType::F64}, {"torch.float16", DType::F16},
      {"torch.bfloat16", DType::BF16}, {"torch.int64", DType::I64}, {"torch.int32", DType::I32},
      {"torch.uint8", DType::U8}, {"torch.bool", DType::U8}};
  for (int proto : {2, 4, 5}) {
    const TorchCheckpoint c = TorchCheckpoint::open(dir.file("p" + std::to_string(proto) + ".pt"));
    ASSERT_EQ(c.tensors().size(), expected.size()) << "protocol " << proto;
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::string name = expected[i][0];
      EXPECT_EQ(c.tensors()[i].first, name) << "protocol " << proto;
      const TensorData t = c.read(name);
      EXPECT_EQ(t.shape, expected[i][1].get<std::vector<int64_t>>()) << name;
      EXPECT_EQ(t.dtype, dtypes.at(expected[i][2])) << name;
      std::string hex;
      for (uint8_t b : t.bytes) hex += "0123456789abcdef"[b >> 4], hex += "0123456789abcdef"[b & 15];
      EXPECT_EQ(hex, expected[i][3].get<std::string>()) << name << ", protocol " << proto;
    }
  }
}

TEST(TorchCheckpoint, Torch2StyleArchive) {
  TempDir dir;
  const std::string tiny = kJanus + "/tiny/pytorch_model.bin";
  EXPECT_EQ(python(dir, "rezip '" + tiny + "' '" + dir.file("new.pt") + "' little 0"), "ok\n");
  const TorchCheckpoint a = TorchCheckpoint::open(tiny), b = TorchCheckpoint::open(dir.file("new.pt"));
  ASSERT_EQ(b.tensors().size(), a.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const std::string& name = a.tensors()[i].first;
    ASSERT_EQ(b.tensors()[i].first, name);
    EXPECT_TRUE(a.read(name).bytes == b.read(name).bytes) << name;
  }
  python(dir, "rezip '" + tiny + "' '" + dir.file("big.pt") + "' big 0");
  EXPECT_NE(user_error([&] { TorchCheckpoint::open(dir.file("big.pt")); }, dir.file("big.pt")).find("'big'"),
            std::string::npos);
  python(dir, "rezip '" + tiny + "' '" + dir.file("deflated.pt") + "' little 1");
  EXPECT_NE(user_error([&] { TorchCheckpoint::open(dir.file("deflated.pt")); }, dir.file("deflated.pt"))
                .find("'archive/data.pkl' is compressed (method 8)"),
            std::string::npos);
}

// ---------------------------------------------------------------- hand-built archives

TEST(TorchCheckpoint, StridedViewsAreGathered) {
  TempDir dir;
  for (bool zip64 : {false, true}) {
    spit(dir.file("v.pt"), views_archive({zip64, 0}));
    const TorchCheckpoint c = TorchCheckpoint::open(dir.file("v.pt"));
    ASSERT_EQ(c.tensors().size(), 3u);
    EXPECT_EQ(c.tensors()[1].second.stride, (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(as_floats(c.read("w")), (std::vector<float>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(as_floats(c.read("t")), (std::vector<float>{0, 3, 1, 4, 2, 5})) << "zip64 " << zip64;
    EXPECT_EQ(as_floats(c.read("tail")), (std::vector<float>{2, 3, 4, 5}));
    EXPECT_EQ(c.read("t").shape, (std::vector<int64_t>{3, 2}));
  }
}

TEST(TorchCheckpoint, UntypedStorageAndDTypeGlobals) {
  // torch >= 2: _rebuild_tensor_v3 over an UntypedStorage whose numel counts bytes, and a
  // persistent id that names a dtype instead of a storage class; protocol 4 opcodes.
  Pickle p;
  p.op("\x95").b += std::string(8, '\0');  // FRAME, length ignored
  p.op("}\x94(").op("\x8c\x01v\x94").op("\x8c\x0ctorch._utils\x8c\x12_rebuild_tensor_v3\x93\x94((");
  p.str("storage").global("torch.storage.UntypedStorage").str("0").str("cpu").integer(8).op("tQ");
  p.integer(1).ints({2}).ints({1}).op("\x89").op("}").global("torch.bfloat16").op("}t\x94R");
  p.str("d").global("torch._utils._rebuild_tensor_v2").op("((").str("storage").global("torch.float32").str("1");
  p.str("cuda:0").integer(1).op("tQ").integer(0).ints({}).ints({}).op("\x88}tR");
  p.op("u");
  const std::string bf16 = std::string("\x00\x00\xc0\x3f\x80\x3f\x00\x40", 8);  // bf16 [?, 1.5, 1.0, 2.0]
  TempDir dir;
  spit(dir.file("u.pt"), archive(p.done(), {{"0", bf16}, {"1", floats({7.5f})}}));
  const TorchCheckpoint c = TorchCheckpoint::open(dir.file("u.pt"));
  const TensorData v = c.read("v"), d = c.read("d");
  EXPECT_EQ(v.dtype, DType::BF16);
  EXPECT_EQ(v.bytes, std::vector<uint8_t>(bf16.begin() + 2, bf16.begin() + 6));
  EXPECT_EQ(d.dtype, DType::F32);
  EXPECT_TRUE(d.shape.empty());
  EXPECT_EQ(as_floats(d), std::vector<float>{7.5f});
}

TEST(TorchCheckpoint, RefusesForeignGlobals) {
  TempDir dir;
  const std::string marker = dir.file("pwned");
  const std::string path = dir.file("evil.pt");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"posix.system", Pickle().global("posix.system").str("touch " + marker).op("\x85R").done()},
      {"builtins.eval", Pickle().global("builtins.eval").str("open('" + marker + "','w')").op("\x85R").done()},
      {"__builtin__.getattr", Pickle().global("__builtin__.getattr").done()},
      {"torch.nn.modules.linear.Linear", Pickle().global("torch.nn.modules.linear.Linear").op(")\x81.").done()},
      {"builtins.exec", Pickle().op("\x8c\x08\x62uiltins\x8c\x04\x65xec\x93").done()},  // STACK_GLOBAL
      {"torch.CharStorage", state_dict_pickle({{"w", "0", 1, 0, {1}, {1}, "torch.CharStorage"}})},
  };
  for (const auto& [global, pickle] : cases) {
    spit(path, archive(pickle, {{"0", "x"}}));
    const std::string msg = user_error([&] { TorchCheckpoint::open(path); }, path);
    EXPECT_NE(msg.find("refused global '" + global + "'"), std::string::npos) << msg;
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(TorchCheckpoint, MalformedArchivesNameFileAndTensor) {
  const std::string w = floats({1, 2, 3, 4});
  const auto one = [](std::vector<int64_t> shape, std::vector<int64_t> stride, int64_t offset = 0, int64_t numel = 4) {
    return state_dict_pickle({{"w", "0", numel, offset, std::move(shape), std::move(stride)}});
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {archive(one({4}, {1}), {}), "tensor 'w': its storage record 'archive/data/0' is missing"},
      {archive(one({4}, {1}), {{"0", w}}, {{"archive/byteorder", "big"}}), "byteorder record says 'big'"},
      {archive(one({5}, {1}), {{"0", w}}), "tensor 'w': shape [5], stride [1], offset 0 of F32 elements reaches past"},
      {archive(one({2, 2}, {3, 1}), {{"0", w}}), "tensor 'w': shape [2, 2], stride [3, 1]"},
      {archive(one({2}, {1}, 3), {{"0", w}}), "tensor 'w': shape [2], stride [1], offset 3"},
      {archive(one({-1}, {1}), {{"0", w}}), "tensor 'w': negative size or stride"},
      {archive(one({2}, {1}, -1), {{"0", w}}), "tensor 'w': negative offset"},
      {archive(one({1LL << 40}, {0}), {{"0", w}}), "tensor 'w': shape [1099511627776], stride [0], offset 0 expands"},
      {archive(one({4}, {1}, 0, 5), {{"0", w}}), "storage record 'archive/data/0' has 16 bytes, expected 20"},
      {archive(one({4}, {1}), {{"0", w}}, {}, {false, 8}), "is compressed (method 8)"},
      {archive(Pickle().op("]").done(), {}), "expected the pickle to hold a state dict"},
      {archive(Pickle().op("}").str("k").op("K\x01s").done(), {}), "state dict entry 'k' is a int, expected a tensor"},
      {archive(Pickle().op("}").str("k").op("h\x07s").done(), {}), "memo entry 7 is read before it is written"},
      {archive(Pickle().op("}").str("k").done().substr(0, 7), {}), "truncated pickle"},
      {archive(Pickle().op("}\xff").done(), {}), "unsupported pickle opcode 0xff"},
      {make_zip({{"archive/version", "3\n"}}), "without '<name>/data.pkl'"},
      {"\x80\x02}.", "not a ZIP archive"},
  };
  TempDir dir;
  const std::string path = dir.file("bad.pt");
  for (const auto& [bytes, expected] : cases) {
    spit(path, bytes);
    const std::string msg = user_error([&] { read_all(path); }, path);
    EXPECT_NE(msg.find(expected), std::string::npos) << "expected \"" << expected << "\" in: " << msg;
  }
  spit(path, views_archive());
  EXPECT_NE(user_error([&] { TorchCheckpoint::open(path).read("nope"); }, path).find("no tensor named 'nope'"),
            std::string::npos);
}

TEST(TorchCheckpoint, TruncatedFilesAreUserErrors) {
  TempDir dir;
  const std::string tiny = slurp(kJanus + "/tiny/pytorch_model.bin");
  const std::string path = dir.file("cut.pt");
  for (size_t n : {size_t(0), size_t(1), size_t(21), size_t(22), size_t(100), size_t(30000), size_t(60000),
                   tiny.size() / 2, tiny.size() - 5000, tiny.size() - 22, tiny.size() - 1}) {
    spit(path, tiny.substr(0, n));
    user_error([&] { read_all(path); }, path);
  }
  const std::string small = views_archive({true, 0});
  for (size_t n = 0; n < small.size(); ++n) {
    spit(path, small.substr(0, n));
    user_error([&] { read_all(path); }, path);
  }
}

TEST(TorchCheckpoint, CorruptStorageFailsItsCrc) {
  TempDir dir;
  std::string bytes = slurp(kJanus + "/tiny/pytorch_model.bin");
  bytes[bytes.size() / 2] ^= 0x10;
  const std::string path = dir.file("flip.pt");
  spit(path, bytes);
  EXPECT_NO_THROW(TorchCheckpoint::open(path));  // the directory and the pickle are intact
  const std::string msg = user_error([&] { read_all(path); }, path);
  EXPECT_NE(msg.find("CRC-32 mismatch"), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind("tensor '", 0), 0u) << msg;
}

// Every byte of a small pickle (rezipped with a correct CRC, so the machine sees it)
// flipped three ways, and of the archive around it flipped once: a UserError or a
// clean read, nothing else.
TEST(TorchCheckpoint, FlippedBytesAreUserErrors) {
  TempDir dir;
  const std::string path = dir.file("m.pt");
  const std::string pickle = state_dict_pickle(kViews);
  const std::map<std::string, std::string> storages = {{"0", floats({0, 1, 2, 3, 4, 5})}};
  const std::string zip = archive(pickle, storages);
  size_t refused = 0, total = 0;
  for (uint8_t mask : {0x01, 0x80, 0xff}) {
    const size_t end = mask == 0xff ? pickle.size() + zip.size() : pickle.size();  // the archive once
    for (size_t i = 2; i < end; ++i, ++total) {
      std::string p = pickle, z;
      if (i < pickle.size()) {
        p[i] = char(p[i] ^ mask);
        z = archive(p, storages);
      } else {
        z = zip;
        z[i - pickle.size()] = char(z[i - pickle.size()] ^ mask);
      }
      spit(path, z);
      try {
        read_all(path);
      } catch (const UserError& e) {
        ++refused;
        EXPECT_EQ(e.where(), path);
      }
    }
  }
  EXPECT_GT(refused, total / 2);
}

// The seeds of fuzz/fuzz_torch_checkpoint.cpp stay valid: .pt files as they are, bare
// pickles wrapped as the target wraps them (16 storage records of 256 bytes).
TEST(TorchCheckpoint, FuzzSeedsAreValidCheckpoints) {
  TempDir dir;
  size_t seeds = 0;
  for (const auto& e : std::filesystem::directory_iterator(UNIGAP_SOURCE_DIR "/fuzz/corpus/torch_checkpoint")) {
    std::string bytes = slurp(e.path().string());
    if (e.path().extension() == ".pkl") {
      std::map<std::string, std::string> storages;
      std::string storage(256, '\0');
      for (size_t i = 0; i < storage.size(); ++i) storage[i] = char(i * 7 + 1);
      for (int key = 0; key < 16; ++key) storages[std::to_string(key)] = storage;
      bytes = archive(bytes, storages);
    }
    spit(dir.file("seed.pt"), bytes);
    const TorchCheckpoint c = TorchCheckpoint::open(dir.file("seed.pt"));
    EXPECT_GE(c.tensors().size(), 3u) << e.path();
    for (const auto& t : c.tensors()) EXPECT_NO_THROW(c.read(t.first)) << e.path() << " " << t.first;
    ++seeds;
  }
  EXPECT_EQ(seeds, 4u);
}

// ---------------------------------------------------------------- LazySafetensors

TEST(LazySafetensors, ReadsEachTensorLikeTheFullDecoder) {
  for (const char* name : {"generation", "preprocess", "understanding", "vq"}) {
    const std::string path = kJanus + "/reference/" + name + ".safetensors";
    const SafetensorsFile full = read_safetensors(path);
    const LazySafetensors lazy = LazySafetensors::open(path);
    EXPECT_EQ(lazy.metadata(), full.metadata);
    ASSERT_EQ(lazy.tensors().size(), full.tensors.size()) << path;
    uint64_t previous = 0;
    for (const auto& [tensor, ref] : lazy.tensors()) {
      EXPECT_GE(ref.file_offset, previous) << "file order";
      previous = ref.file_offset;
      const TensorData t = lazy.read(tensor);
      const TensorData& want = full.tensors.at(tensor);
      EXPECT_EQ(t.dtype, want.dtype) << tensor;
      EXPECT_EQ(t.shape, want.shape) << tensor;
      EXPECT_TRUE(t.bytes == want.bytes) << tensor;
    }
  }
}

// The same verdict as decode_safetensors on every truncation and on every header byte
// flipped three ways, since the lazy reader repeats its checks.
TEST(LazySafetensors, AgreesWithTheDecoderOnCorruptFiles) {
  SafetensorsFile f;
  f.metadata["format"] = "pt";
  f.tensors["a"] = TensorData{DType::F32, {2, 2}, std::vector<uint8_t>(16, 1)};
  f.tensors["b"] = TensorData{DType::BF16, {3}, std::vector<uint8_t>(6, 2)};
  f.tensors["empty"] = TensorData{DType::I64, {0, 5}, {}};
  const std::string good = encode_safetensors(f);
  TempDir dir;
  const std::string path = dir.file("x.safetensors");
  const auto verdicts = [&](const std::string& bytes) {
    spit(path, bytes);
    bool full_ok = true, lazy_ok = true;
    try {
      decode_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
    } catch (const UserError&) {
      full_ok = false;
    }
    try {
      const LazySafetensors lazy = LazySafetensors::open(path);
      for (const auto& t : lazy.tensors()) lazy.read(t.first);
    } catch (const UserError& e) {
      EXPECT_EQ(e.where(), path);
      lazy_ok = false;
    }
    return std::make_pair(full_ok, lazy_ok);
  };
  EXPECT_EQ(verdicts(good), std::make_pair(true, true));
  for (size_t n = 0; n < good.size(); ++n) EXPECT_EQ(verdicts(good.substr(0, n)), std::make_pair(false, false)) << n;
  const size_t header_end = good.size() - 22;
  for (uint8_t mask : {0x01, 0x20, 0xff}) {
    for (size_t i = 0; i < header_end; ++i) {
      std::string bad = good;
      bad[i] = char(bad[i] ^ mask);
      const auto [full_ok, lazy_ok] = verdicts(bad);
      EXPECT_EQ(lazy_ok, full_ok) << "byte " << i << " ^ " << int(mask) << ": " << bad.substr(8, header_end - 8);
    }
  }
  spit(path, good);
  EXPECT_NE(user_error([&] { LazySafetensors::open(path).read("zz"); }, path).find("no tensor named 'zz'"),
            std::string::npos);
}

}  // namespace
}  // namespace unigap
