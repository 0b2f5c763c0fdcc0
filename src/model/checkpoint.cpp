#include "model/checkpoint.h"

#include <cstring>
#include <set>

#include "common/error.h"

namespace unigap {

namespace {
// What a tensor is stored as: int64 as I64, bfloat16 as BF16 (torch's bfloat16 is safetensors'
// BF16), any other float type as F32; on the CPU, contiguous.
torch::Tensor storable(const torch::Tensor& t_in, DType& d) {
  torch::Tensor t = t_in.detach().to(torch::kCPU);
  if (t.scalar_type() == torch::kLong) d = DType::I64;
  else if (t.scalar_type() == torch::kBFloat16) d = DType::BF16;
  else d = DType::F32, t = t.to(torch::kFloat32);
  return t.contiguous();
}
}  // namespace

TensorData to_tensor_data(const torch::Tensor& t_in) {
  TensorData d;
  const torch::Tensor t = storable(t_in, d.dtype);
  for (auto s : t.sizes()) d.shape.push_back(s);
  const size_t nbytes = size_t(t.numel()) * t.element_size();
  d.bytes.resize(nbytes);
  if (nbytes) std::memcpy(d.bytes.data(), t.data_ptr(), nbytes);
  return d;
}

torch::Tensor from_tensor_data(const TensorData& d, const std::string& where) {
  std::vector<int64_t> shape(d.shape.begin(), d.shape.end());
  const int64_t n = d.numel();
  switch (d.dtype) {
    case DType::F32: {
      auto t = torch::empty(shape, torch::kFloat32);
      if (n) std::memcpy(t.data_ptr(), d.bytes.data(), d.bytes.size());
      return t;
    }
    case DType::I64: {
      auto t = torch::empty(shape, torch::kLong);
      if (n) std::memcpy(t.data_ptr(), d.bytes.data(), d.bytes.size());
      return t;
    }
    case DType::F16:
    case DType::BF16: {
      auto t = torch::empty(shape, torch::kFloat32);
      auto* out = t.data_ptr<float>();
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, d.bytes.data() + 2 * i, 2);
        out[i] = d.dtype == DType::F16 ? f16_to_float(h) : bf16_to_float(h);
      }
      return t;
    }
    default:
      throw UserError(std::string("dtype ") + dtype_name(d.dtype) + " is not supported for model tensors", where);
  }
}

SafetensorsFile module_to_safetensors(torch::nn::Module& m, const std::string& prefix) {
  SafetensorsFile f;
  for (auto& p : m.named_parameters()) f.tensors[prefix + p.key()] = to_tensor_data(p.value());
  for (auto& b : m.named_buffers()) f.tensors[prefix + b.key()] = to_tensor_data(b.value());
  return f;
}

// Streams the tensors from the module's own memory (float32 and bfloat16 as they are, other
// float types converted one tensor at a time): no second copy of the model, which a 7B model
// on a 24 GB machine would not survive.
void save_module(torch::nn::Module& m, const std::string& path, const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep;  // the CPU, contiguous tensors the views point into
  std::map<std::string, TensorView> views;
  auto add = [&](const std::string& name, const torch::Tensor& t_in) {
    DType d;
    const torch::Tensor t = storable(t_in, d);  // the parameter itself when it is CPU f32/bf16 and contiguous
    keep.push_back(t);
    views[name] = {d, std::vector<int64_t>(t.sizes().begin(), t.sizes().end()), t.data_ptr(), size_t(t.numel()) * t.element_size()};
  };
  for (auto& p : m.named_parameters()) add(p.key(), p.value());
  for (auto& b : m.named_buffers()) add(b.key(), b.value());
  write_safetensors(path, views, metadata);
}

void load_module_from(torch::nn::Module& m, const SafetensorsFile& f, const std::string& origin) {
  std::set<std::string> expected;
  torch::NoGradGuard ng;
  auto copy_into = [&](const std::string& name, torch::Tensor dst) {
    expected.insert(name);
    auto it = f.tensors.find(name);
    if (it == f.tensors.end())
      throw UserError("missing tensor '" + name + "'", origin, "the checkpoint does not match this model config");
    auto src = from_tensor_data(it->second, origin + ": tensor '" + name + "'");
    if (src.sizes() != dst.sizes()) {
      std::string a, b;
      for (auto s : dst.sizes()) a += (a.empty() ? "" : ", ") + std::to_string(s);
      for (auto s : src.sizes()) b += (b.empty() ? "" : ", ") + std::to_string(s);
      throw UserError("tensor '" + name + "' has shape [" + b + "], the model expects [" + a + "]", origin,
                      "the checkpoint was made with another model config");
    }
    dst.copy_(src.to(dst.scalar_type()));
  };
  for (auto& p : m.named_parameters()) copy_into(p.key(), p.value());
  for (auto& b : m.named_buffers()) copy_into(b.key(), b.value());
  for (auto& [name, t] : f.tensors)
    if (!expected.count(name)) throw UserError("unexpected tensor '" + name + "'", origin, "the checkpoint does not match this model config");
}

std::map<std::string, std::string> load_module(torch::nn::Module& m, const std::string& path) {
  SafetensorsFile f = read_safetensors(path);
  load_module_from(m, f, path);
  return f.metadata;
}

}  // namespace unigap
