// Module <-> safetensors. Every parameter and buffer is stored by its module path
// (e.g. "backbone.layers.0.attn.qkv.weight"), F32, so the file loads in Python with
// `safetensors.torch.load_file`. Loading is strict: a missing, extra or mis-shaped
// tensor is a UserError naming the tensor and the file.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "io/safetensors.h"

namespace unigap {

TensorData to_tensor_data(const torch::Tensor& t);      // bfloat16 -> BF16, any other float tensor -> F32; int64 -> I64
torch::Tensor from_tensor_data(const TensorData& d, const std::string& where);  // F32/F16/BF16 -> float32, I64 -> int64

SafetensorsFile module_to_safetensors(torch::nn::Module& m, const std::string& prefix = "");
void save_module(torch::nn::Module& m, const std::string& path, const std::map<std::string, std::string>& metadata);
// Copies tensors into `m` (which must already have the right architecture).
// Tensors whose names start with any of `skip_prefixes` are neither required nor loaded.
void load_module_from(torch::nn::Module& m, const SafetensorsFile& f, const std::string& origin);
std::map<std::string, std::string> load_module(torch::nn::Module& m, const std::string& path);

}  // namespace unigap
