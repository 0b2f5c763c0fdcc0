// The restricted pickle machine: opcodes, the allow-listed globals and the object
// arena. The file is untrusted (a pickle is a program): the machine knows a fixed
// table of globals and turns each into a builtin behaviour, so nothing from the
// file is ever executed; every length is checked against the bytes that remain
// before it is used.
#include "io/pickle_machine.h"

#include <algorithm>
#include <cstdio>
#include <deque>

#include "common/error.h"
#include "io/little_endian.h"

namespace unigap {
namespace {

enum class Kind : uint8_t { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor };
enum class Builtin : uint8_t {
  OrderedDict, RebuildTensor, RebuildTensorV2, RebuildTensorV3, RebuildParameter, StorageType, DTypeValue
};

const char* kind_name(Kind k) {
  static const char* const names[] = {"None", "bool",   "int",    "float",   "str",   "tuple",
                                      "list", "dict",   "global", "storage", "tensor"};
  return names[int(k)];
}

struct AllowedGlobal {
  const char* module;
  const char* name;
  Builtin builtin;
  DType dtype;  // storage types and dtypes; untyped storages are bytes (U8), torch.bool is U8 too
};
constexpr AllowedGlobal kAllowedGlobals[] = {
    {"collections", "OrderedDict", Builtin::OrderedDict, DType::U8},
    {"torch._utils", "_rebuild_tensor", Builtin::RebuildTensor, DType::U8},
    {"torch._utils", "_rebuild_tensor_v2", Builtin::RebuildTensorV2, DType::U8},
    {"torch._utils", "_rebuild_tensor_v3", Builtin::RebuildTensorV3, DType::U8},
    {"torch._utils", "_rebuild_parameter", Builtin::RebuildParameter, DType::U8},
    {"torch", "FloatStorage", Builtin::StorageType, DType::F32},
    {"torch", "BFloat16Storage", Builtin::StorageType, DType::BF16},
    {"torch", "HalfStorage", Builtin::StorageType, DType::F16},
    {"torch", "DoubleStorage", Builtin::StorageType, DType::F64},
    {"torch", "LongStorage", Builtin::StorageType, DType::I64},
    {"torch", "IntStorage", Builtin::StorageType, DType::I32},
    {"torch", "ByteStorage", Builtin::StorageType, DType::U8},
    {"torch", "BoolStorage", Builtin::StorageType, DType::U8},
    {"torch", "UntypedStorage", Builtin::StorageType, DType::U8},
    {"torch.storage", "UntypedStorage", Builtin::StorageType, DType::U8},
    {"torch", "float32", Builtin::DTypeValue, DType::F32},
    {"torch", "bfloat16", Builtin::DTypeValue, DType::BF16},
    {"torch", "float16", Builtin::DTypeValue, DType::F16},
    {"torch", "float64", Builtin::DTypeValue, DType::F64},
    {"torch", "int64", Builtin::DTypeValue, DType::I64},
    {"torch", "int32", Builtin::DTypeValue, DType::I32},
    {"torch", "uint8", Builtin::DTypeValue, DType::U8},
    {"torch", "bool", Builtin::DTypeValue, DType::U8},
};

// Objects live in one arena and refer to each other by index, so a pickle that
// makes a container hold itself builds no ownership cycle. A deque, so that a
// reference to an object stays valid while new ones are made.
struct Obj {
  Kind kind = Kind::None;
  Builtin builtin = Builtin::OrderedDict;  // Global
  DType dtype = DType::U8;                 // Global, Storage
  int64_t i = 0;                           // Bool, Int; Tensor: index into Unpickler::tensors
  std::string s;                           // Str; Global: "module.name"; Storage: key
  std::vector<size_t> items;               // Tuple, List; Dict: key, value, key, value, ...
};

class Unpickler {
 public:
  Unpickler(const std::vector<uint8_t>& data, const std::string& path) : data_(data), path_(path) {}

  size_t run();  // the root object
  const Obj& obj(size_t id) const { return objs_[id]; }

  std::vector<TorchTensorRef> tensors;
  std::unordered_map<std::string, uint64_t> storage_bytes;  // by key, as the persistent ids declare them

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw UserError("data.pkl, byte " + std::to_string(op_pos_) + ": " + what, path_);
  }
  const uint8_t* take(uint64_t n) {
    if (n > data_.size() - pos_) fail("truncated pickle: expected " + std::to_string(n) + " more bytes");
    const uint8_t* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::string take_line() {
    const auto nl = std::find(data_.begin() + long(pos_), data_.end(), '\n');
    if (nl == data_.end()) fail("truncated pickle: GLOBAL without its newline");
    std::string s(data_.begin() + long(pos_), nl);
    pos_ = size_t(nl - data_.begin()) + 1;
    return s;
  }
  size_t make(Kind kind) {
    objs_.emplace_back();
    objs_.back().kind = kind;
    return objs_.size() - 1;
  }
  size_t make_int(Kind kind, int64_t v) {
    const size_t id = make(kind);
    objs_[id].i = v;
    return id;
  }
  void push(size_t id) { stack_.push_back(id); }
  size_t pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("pops from an empty stack");
    const size_t id = stack_.back();
    stack_.pop_back();
    return id;
  }
  std::vector<size_t> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    std::vector<size_t> items(stack_.begin() + long(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  size_t top() {
    const size_t id = pop();
    push(id);
    return id;
  }
  Obj& top_as(Kind kind, const char* op) {
    const size_t id = top();
    if (objs_[id].kind != kind) {
      fail(std::string(op) + " expects a " + kind_name(kind) + ", found a " + kind_name(objs_[id].kind));
    }
    return objs_[id];
  }
  const Obj& arg(size_t id, Kind kind, const std::string& what) const {
    if (objs_[id].kind != kind) {
      fail(what + ": expected a " + kind_name(kind) + ", found a " + kind_name(objs_[id].kind));
    }
    return objs_[id];
  }
  std::vector<int64_t> int_tuple(size_t id, const std::string& what) const {
    std::vector<int64_t> out;
    for (size_t item : arg(id, Kind::Tuple, what).items) out.push_back(arg(item, Kind::Int, what).i);
    return out;
  }
  size_t tuple(std::vector<size_t> items) {
    const size_t id = make(Kind::Tuple);
    objs_[id].items = std::move(items);
    return id;
  }
  size_t global(const std::string& module, const std::string& name);
  size_t call(size_t fn, const std::vector<size_t>& args);
  size_t rebuild_tensor(const std::string& fn, const std::vector<size_t>& args, const Obj* dtype);
  size_t persistent_load(size_t pid);

  const std::vector<uint8_t>& data_;
  const std::string& path_;
  size_t pos_ = 0, op_pos_ = 0;
  std::deque<Obj> objs_;
  std::vector<size_t> stack_, marks_;  // marks_: stack sizes at each MARK
  std::unordered_map<uint64_t, size_t> memo_;
};

size_t Unpickler::run() {
  while (pos_ < data_.size()) {
    op_pos_ = pos_;
    const uint8_t op = *take(1);
    switch (op) {
      case 0x80: if (*take(1) > 5) fail("pickle protocol above 5"); break;  // PROTO
      case 0x95: take(8); break;  // FRAME: a read-ahead hint; the opcodes follow inline
      case '.': return pop();     // STOP
      case '(': marks_.push_back(stack_.size()); break;
      case '0': pop(); break;
      case '1': pop_mark(); break;
      case '2': push(top()); break;  // DUP
      case 'N': push(make(Kind::None)); break;
      case 0x88: push(make_int(Kind::Bool, 1)); break;
      case 0x89: push(make_int(Kind::Bool, 0)); break;
      case 'J': { const uint8_t* p = take(4); push(make_int(Kind::Int, int32_t(le32(p)))); break; }
      case 'K': push(make_int(Kind::Int, *take(1))); break;
      case 'M': push(make_int(Kind::Int, le16(take(2)))); break;
      case 0x8a: {  // LONG1: little-endian two's complement
        const uint8_t n = *take(1);
        if (n > 8) fail("integer of " + std::to_string(n) + " bytes, expected at most 8");
        const uint8_t* p = take(n);
        uint64_t v = (n > 0 && (p[n - 1] & 0x80)) ? ~uint64_t(0) : 0;
        for (int k = n - 1; k >= 0; --k) v = (v << 8) | p[k];
        push(make_int(Kind::Int, int64_t(v)));
        break;
      }
      case 'G': take(8), push(make(Kind::Float)); break;  // BINFLOAT: no float is ever used, only skipped
      case 'X': case 0x8c: case 0x8d: {  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
        const uint64_t n = op == 'X' ? le32(take(4)) : op == 0x8c ? *take(1) : le64(take(8));
        const uint8_t* p = take(n);
        const size_t id = make(Kind::Str);
        objs_[id].s.assign(reinterpret_cast<const char*>(p), n);
        push(id);
        break;
      }
      case '}': push(make(Kind::Dict)); break;
      case ']': push(make(Kind::List)); break;
      case ')': push(tuple({})); break;
      case 't': push(tuple(pop_mark())); break;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        std::vector<size_t> items(op - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push(tuple(std::move(items)));
        break;
      }
      case 'l': { const size_t id = make(Kind::List); objs_[id].items = pop_mark(); push(id); break; }
      case 'd': case 'u': {  // DICT, SETITEMS
        std::vector<size_t> items = pop_mark();
        if (items.size() % 2) fail("odd number of items for a dict");
        if (op == 'd') push(make(Kind::Dict));
        auto& dict = top_as(Kind::Dict, "SETITEMS").items;
        dict.insert(dict.end(), items.begin(), items.end());
        break;
      }
      case 's': {  // SETITEM
        const size_t value = pop(), key = pop();
        auto& dict = top_as(Kind::Dict, "SETITEM").items;
        dict.push_back(key);
        dict.push_back(value);
        break;
      }
      case 'a': { const size_t v = pop(); top_as(Kind::List, "APPEND").items.push_back(v); break; }
      case 'e': {  // APPENDS
        const std::vector<size_t> items = pop_mark();
        auto& list = top_as(Kind::List, "APPENDS").items;
        list.insert(list.end(), items.begin(), items.end());
        break;
      }
      case 'q': { const uint64_t key = *take(1); memo_[key] = top(); break; }        // BINPUT
      case 'r': { const uint64_t key = le32(take(4)); memo_[key] = top(); break; }   // LONG_BINPUT
      case 0x94: { const uint64_t key = memo_.size(); memo_[key] = top(); break; }  // MEMOIZE
      case 'h': case 'j': {  // BINGET, LONG_BINGET
        const uint64_t key = op == 'h' ? *take(1) : le32(take(4));
        const auto it = memo_.find(key);
        if (it == memo_.end()) fail("memo entry " + std::to_string(key) + " is read before it is written");
        push(it->second);
        break;
      }
      case 'c': { const std::string module = take_line(); push(global(module, take_line())); break; }
      case 0x93: {  // STACK_GLOBAL
        const std::string name = arg(pop(), Kind::Str, "STACK_GLOBAL name").s;
        push(global(arg(pop(), Kind::Str, "STACK_GLOBAL module").s, name));
        break;
      }
      case 'R': {  // REDUCE
        const size_t args = pop(), fn = pop();
        push(call(fn, arg(args, Kind::Tuple, "REDUCE arguments").items));
        break;
      }
      case 'b': {  // BUILD: only an OrderedDict's attributes (a state dict's _metadata), which are not needed
        pop();
        top_as(Kind::Dict, "BUILD");
        break;
      }
      case 'Q': push(persistent_load(pop())); break;  // BINPERSID
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex + ": torch.save state dicts do not use it");
      }
    }
  }
  fail("the pickle ends without STOP (truncated?)");
}

size_t Unpickler::global(const std::string& module, const std::string& name) {
  for (const auto& g : kAllowedGlobals) {
    if (module == g.module && name == g.name) {
      const size_t id = make(Kind::Global);
      objs_[id].builtin = g.builtin;
      objs_[id].dtype = g.dtype;
      objs_[id].s = module + "." + name;
      return id;
    }
  }
  fail("refused global '" + module + "." + name +
       "': a checkpoint may only name collections.OrderedDict, torch's tensor-rebuild functions, storage types and "
       "dtypes (this reader executes nothing)");
}

size_t Unpickler::call(size_t fn_id, const std::vector<size_t>& args) {
  const Obj& fn = arg(fn_id, Kind::Global, "REDUCE callable");
  const auto expect = [&](size_t lo, size_t hi) {
    if (args.size() < lo || args.size() > hi) {
      fail(fn.s + " called with " + std::to_string(args.size()) + " arguments, expected " + std::to_string(lo) +
           (hi > lo ? " to " + std::to_string(hi) : ""));
    }
  };
  switch (fn.builtin) {
    case Builtin::OrderedDict: expect(0, 0); return make(Kind::Dict);
    case Builtin::RebuildTensor: expect(4, 4); return rebuild_tensor(fn.s, args, nullptr);
    case Builtin::RebuildTensorV2: expect(6, 7); return rebuild_tensor(fn.s, args, nullptr);
    case Builtin::RebuildTensorV3: {  // (..., backward_hooks, dtype[, metadata]) over an untyped storage
      expect(7, 8);
      const Obj& dtype = arg(args[6], Kind::Global, fn.s + " dtype");
      if (dtype.builtin != Builtin::DTypeValue) fail(fn.s + ": expected a dtype, found " + dtype.s);
      return rebuild_tensor(fn.s, args, &dtype);
    }
    case Builtin::RebuildParameter:  // a Parameter is its data tensor here
      expect(3, 4);
      arg(args[0], Kind::Tensor, fn.s + " data");
      return args[0];
    default: fail(fn.s + " cannot be called");
  }
}

size_t Unpickler::rebuild_tensor(const std::string& fn, const std::vector<size_t>& args, const Obj* dtype) {
  const Obj& storage = arg(args[0], Kind::Storage, fn + " storage");
  TorchTensorRef t;
  t.dtype = dtype ? dtype->dtype : storage.dtype;
  t.storage = storage.s;
  t.offset = arg(args[1], Kind::Int, fn + " storage_offset").i;
  t.shape = int_tuple(args[2], fn + " size");
  t.stride = int_tuple(args[3], fn + " stride");
  if (t.shape.size() != t.stride.size()) {
    fail(fn + ": size " + shape_str(t.shape) + " and stride " + shape_str(t.stride) + " differ in length");
  }
  tensors.push_back(std::move(t));
  return make_int(Kind::Tensor, int64_t(tensors.size() - 1));
}

size_t Unpickler::persistent_load(size_t pid) {
  const std::string what = "persistent id ('storage', storage type, key, location, numel)";
  const std::vector<size_t>& f = arg(pid, Kind::Tuple, what).items;
  if (f.size() != 5 || arg(f[0], Kind::Str, what).s != "storage") fail("expected a 5-item " + what);
  const Obj& type = arg(f[1], Kind::Global, what + " type");
  if (type.builtin != Builtin::StorageType && type.builtin != Builtin::DTypeValue) {
    fail(what + ": " + type.s + " is not a storage type");
  }
  const std::string& key = arg(f[2], Kind::Str, what + " key").s;
  arg(f[3], Kind::Str, what + " location");
  const int64_t numel = arg(f[4], Kind::Int, what + " numel").i;
  uint64_t nbytes = 0;
  if (numel < 0 || __builtin_mul_overflow(uint64_t(numel), dtype_size(type.dtype), &nbytes)) {
    fail("storage '" + key + "': invalid numel " + std::to_string(numel));
  }
  const auto [it, fresh] = storage_bytes.emplace(key, nbytes);
  if (!fresh && it->second != nbytes) fail("storage '" + key + "' is declared with two different sizes");
  const size_t id = make(Kind::Storage);
  objs_[id].dtype = type.dtype;
  objs_[id].s = key;
  return id;
}

}  // namespace

PickledStateDict unpickle_state_dict(const std::vector<uint8_t>& pickle, const std::string& path) {
  Unpickler machine(pickle, path);
  const Obj& root = machine.obj(machine.run());
  if (root.kind != Kind::Dict) {
    throw UserError(std::string("expected the pickle to hold a state dict (a dict of tensors), found a ") +
                        kind_name(root.kind),
                    path, "save model.state_dict(), not the model");
  }
  PickledStateDict out;
  for (size_t k = 0; k + 1 < root.items.size(); k += 2) {
    const Obj& key = machine.obj(root.items[k]);
    const Obj& value = machine.obj(root.items[k + 1]);
    if (key.kind != Kind::Str) {
      throw UserError("state dict key " + std::to_string(k / 2) + " is a " + kind_name(key.kind) + ", expected a str",
                      path);
    }
    if (value.kind != Kind::Tensor) {
      throw UserError("state dict entry '" + key.s + "' is a " + kind_name(value.kind) + ", expected a tensor", path);
    }
    out.items.emplace_back(key.s, machine.tensors[size_t(value.i)]);
  }
  out.storage_bytes = std::move(machine.storage_bytes);
  return out;
}

}  // namespace unigap
