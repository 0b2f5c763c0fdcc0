// torch.save reader: ties the ZIP archive (io/zip_reader), the pickle machine's
// state dict (io/pickle_machine) and the storage records together, checks every
// tensor against its record, and gathers a tensor's bytes on read(). The file is
// untrusted: every extent is checked before anything is allocated for it.
#include "io/torch_checkpoint.h"

#include <cstring>

#include "common/error.h"
#include "io/zip_reader.h"

namespace unigap {
namespace {

// torch.save's pickle takes ~140 bytes per tensor: 16 MB admits ~100k tensors per file
// and bounds the machine's memory on a hostile file (under 100 bytes of objects per
// pickle byte).
constexpr uint64_t kMaxPickleBytes = 16ull << 20;

// ================================================================ checks

// The tensor must lie within its storage, and its contiguous copy within the file
// size, so that read() never allocates more than the file could justify.
void check_extent(const std::string& label, const TorchTensorRef& t, uint64_t storage_bytes, uint64_t file_size,
                  const std::string& path) {
  const std::string layout =
      "shape " + shape_str(t.shape) + ", stride " + shape_str(t.stride) + ", offset " + std::to_string(t.offset);
  bool overflow = false;
  uint64_t numel = 1, last = uint64_t(t.offset), reach = 0;
  if (t.offset < 0) throw UserError(label + "negative offset in " + layout, path);
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (t.shape[d] < 0 || t.stride[d] < 0) throw UserError(label + "negative size or stride in " + layout, path);
    overflow |= __builtin_mul_overflow(numel, uint64_t(t.shape[d]), &numel);
  }
  if (numel == 0 && !overflow) return;
  for (size_t d = 0; d < t.shape.size(); ++d) {
    overflow |= __builtin_mul_overflow(uint64_t(t.shape[d] - 1), uint64_t(t.stride[d]), &reach) ||
                __builtin_add_overflow(last, reach, &last);
  }
  const uint64_t es = dtype_size(t.dtype);
  uint64_t end_bytes = 0, out_bytes = 0;
  overflow |= __builtin_add_overflow(last, 1, &end_bytes) || __builtin_mul_overflow(end_bytes, es, &end_bytes) ||
              __builtin_mul_overflow(numel, es, &out_bytes);
  if (overflow || end_bytes > storage_bytes) {
    throw UserError(label + layout + " of " + dtype_name(t.dtype) + " elements reaches past its storage '" +
                        t.storage + "' of " + std::to_string(storage_bytes) + " bytes",
                    path);
  }
  if (out_bytes > file_size) {
    throw UserError(label + layout + " expands to " + std::to_string(out_bytes) + " bytes, more than the whole " +
                        std::to_string(file_size) + "-byte file: refusing to allocate it",
                    path);
  }
}

bool is_contiguous(const TorchTensorRef& t) {
  int64_t expected = 1;
  for (size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] != 1 && t.stride[d] != expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

}  // namespace

// ================================================================ TorchCheckpoint

TorchCheckpoint TorchCheckpoint::open(const std::string& path) {
  TorchCheckpoint out(RandomAccessFile::open(path));
  const RandomAccessFile& file = out.file_;
  const ZipDirectory dir = ZipDirectory::read(file);

  // Any archive name: "archive/" since torch 1.6 by default, the file's base name in some writers.
  std::string prefix;
  for (const auto& entry : dir.entries()) {
    const std::string& name = entry.first;
    if (name.size() > 9 && name.compare(name.size() - 9, 9, "/data.pkl") == 0 && name.find('/') == name.size() - 9) {
      if (!prefix.empty()) throw UserError("two pickles, '" + prefix + "data.pkl' and '" + name + "'", path);
      prefix = name.substr(0, name.size() - 8);
    }
  }
  if (prefix.empty()) {
    throw UserError("ZIP archive without '<name>/data.pkl': expected a torch.save checkpoint", path,
                    "TorchScript archives (torch.jit.save) are not state dicts");
  }

  const auto read_entry = [&](const std::string& name, uint64_t max_bytes) {
    const ZipEntry& e = dir.entries().at(name);
    if (e.size > max_bytes) {
      throw UserError("ZIP entry '" + name + "' has " + std::to_string(e.size) + " bytes, expected at most " +
                          std::to_string(max_bytes),
                      path);
    }
    return read_crc_checked(file, zip_entry_data_offset(file, e), e.size, e.crc32, "ZIP entry '" + name + "'");
  };
  // Written by torch >= 2.1; older files are little-endian without saying so.
  if (dir.find(prefix + "byteorder")) {
    const std::vector<uint8_t> b = read_entry(prefix + "byteorder", 16);
    const std::string order(b.begin(), b.end());
    if (order != "little") {
      throw UserError("byteorder record says '" + order + "', expected 'little'", path,
                      order == "big" ? "big-endian checkpoints are not supported: re-save it on a little-endian machine"
                                     : "");
    }
  }

  const std::vector<uint8_t> pickle = read_entry(prefix + "data.pkl", kMaxPickleBytes);
  const PickledStateDict state = unpickle_state_dict(pickle, path);
  for (const auto& [key, tensor] : state.items) {
    // A key set twice keeps its first place and its last value, as a Python dict does.
    const auto [it, fresh] = out.index_.emplace(key, out.tensors_.size());
    if (fresh) out.tensors_.emplace_back(key, tensor);
    else out.tensors_[it->second].second = tensor;
  }

  for (const auto& [name, ref] : out.tensors_) {
    const std::string label = "tensor '" + name + "': ";
    auto st = out.storages_.find(ref.storage);
    if (st == out.storages_.end()) {
      const std::string entry = prefix + "data/" + ref.storage;
      const ZipEntry* z = dir.find(entry);
      if (!z) {
        throw UserError(label + "its storage record '" + entry + "' is missing from the archive", path);
      }
      const uint64_t declared = state.storage_bytes.at(ref.storage);
      if (z->size != declared) {
        throw UserError(label + "storage record '" + entry + "' has " + std::to_string(z->size) +
                            " bytes, expected " + std::to_string(declared) + " (numel x element size in the pickle)",
                        path);
      }
      const StorageRecord rec{zip_entry_data_offset(file, *z), z->size, z->crc32, entry};
      st = out.storages_.emplace(ref.storage, rec).first;
    }
    check_extent(label, ref, st->second.nbytes, file.size(), path);
  }
  return out;
}

TensorData TorchCheckpoint::read(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) {
    throw UserError("no tensor named '" + name + "' (the checkpoint has " + std::to_string(tensors_.size()) + ")",
                    path());
  }
  const TorchTensorRef& ref = tensors_[it->second].second;
  const StorageRecord& rec = storages_.at(ref.storage);
  std::vector<uint8_t> storage = read_crc_checked(file_, rec.data_offset, rec.nbytes, rec.crc32,
                                                 "tensor '" + name + "': storage '" + rec.entry + "'");
  TensorData t;
  t.dtype = ref.dtype;
  t.shape = ref.shape;
  const size_t es = dtype_size(ref.dtype), n = size_t(t.numel());
  if (n == 0) return t;
  if (is_contiguous(ref)) {
    const size_t begin = size_t(ref.offset) * es;
    if (begin == 0 && n * es == storage.size()) {
      t.bytes = std::move(storage);
    } else {
      t.bytes.assign(storage.begin() + long(begin), storage.begin() + long(begin + n * es));
    }
    return t;
  }
  // Strided: walk the index like an odometer, keeping the source element in step.
  t.bytes.resize(n * es);
  std::vector<int64_t> index(ref.shape.size(), 0);
  int64_t src = ref.offset;
  for (size_t k = 0; k < n; ++k) {
    std::memcpy(t.bytes.data() + k * es, storage.data() + size_t(src) * es, es);
    for (size_t d = ref.shape.size(); d-- > 0;) {
      src += ref.stride[d];
      if (++index[d] < ref.shape[d]) break;
      src -= ref.stride[d] * ref.shape[d];
      index[d] = 0;
    }
  }
  return t;
}

}  // namespace unigap
