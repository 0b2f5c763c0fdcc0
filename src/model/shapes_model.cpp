#include "model/shapes_model.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "model/checkpoint.h"
#include "model/sampler.h"

namespace unigap {

ShapesModel::ShapesModel(const ModelConfig& cfg, const WorldSpec& world, uint64_t init_seed)
    : cfg_(cfg), world_(world), tok_(world) {
  if (cfg_.image_size != world_.canvas)
    throw UserError("model image_size " + std::to_string(cfg_.image_size) + " differs from the world's canvas " +
                    std::to_string(world_.canvas));
  torch::manual_seed(init_seed);
  net_ = UnifiedModel(cfg_, tok_.size());
  net_->tok_pad = tok_.pad();
  net_->tok_bos = tok_.bos();
  net_->tok_boi = tok_.boi();
  net_->tok_eoi = tok_.eoi();
  net_->tok_qmark = tok_.question_mark();
  net_->stem_ids.assign(tok_.question_stem().begin(), tok_.question_stem().end());
}

std::unique_ptr<ShapesModel> ShapesModel::load(const std::string& dir) {
  const std::string cfg_path = dir + "/config.json";
  if (!file_exists(cfg_path))
    throw UserError("not a checkpoint folder (no config.json)", dir, "pass the folder written by `unigap pretrain`");
  json j = read_json(cfg_path);
  if (!j.is_object() || !j.contains("model") || !j.contains("world"))
    throw UserError("config.json lacks the 'model' or 'world' section", cfg_path);
  auto cfg = ModelConfig::from_json(j["model"], cfg_path + ": model");
  auto world = WorldSpec::from_json(j["world"], cfg_path + ": world");
  auto m = std::make_unique<ShapesModel>(cfg, world, 0);
  m->load_weights(dir);
  m->net_->eval();
  return m;
}

void ShapesModel::load_weights(const std::string& dir) {
  const std::string path = dir + "/model.safetensors";
  auto meta = load_module(*net_, path);
  auto fmt = meta.find("format");
  if (fmt != meta.end() && fmt->second != kFormat)
    throw UserError("model.safetensors is in format '" + fmt->second + "', not " + kFormat, path);
  auto it = meta.find("world_fingerprint");
  if (it != meta.end() && it->second != world_.fingerprint())
    throw UserError("model.safetensors was made for world " + it->second + " but config.json describes world " +
                        world_.fingerprint(),
                    dir, "the two files come from different runs");
}

void ShapesModel::save(const std::string& dir, const json& extra) {
  make_dirs(dir);
  save_module(*net_, dir + "/model.safetensors",
              {{"format", kFormat}, {"world_fingerprint", world_.fingerprint()}, {"preset", cfg_.preset}});
  json j = extra.is_object() ? extra : json::object();
  j["format"] = kFormat;
  j["model"] = cfg_.to_json();
  j["world"] = world_.to_json();
  j["provenance"] = provenance();
  write_json(dir + "/config.json", j);
}

void ShapesModel::train_only(const std::vector<std::string>& groups) {
  for (auto& g : groups)
    if (std::find(kParamGroups.begin(), kParamGroups.end(), g) == kParamGroups.end()) {
      std::string known;
      for (auto& k : kParamGroups) known += (known.empty() ? "" : ", ") + k;
      throw UserError("unknown parameter group '" + g + "'", "train groups", "the " + name() + " model has: " + known);
    }
  net_->train_only(groups);
}

torch::Tensor ShapesModel::prompt_ids(const std::vector<std::string>& prompts) const {
  const int64_t B = int64_t(prompts.size()), T = cfg_.text_len;
  auto t = torch::empty({B, T}, torch::kLong);
  auto a = t.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    auto ids = tok_.encode_padded(prompts[b], int(T));
    for (int64_t i = 0; i < T; ++i) a[b][i] = ids[i];
  }
  return t;
}

torch::Tensor ShapesModel::images_to_tensor(const std::vector<Image>& images) const {
  const int64_t B = int64_t(images.size()), S = cfg_.image_size;
  auto t = torch::empty({B, S, S, 3}, torch::kUInt8);
  for (int64_t b = 0; b < B; ++b) {
    UNIGAP_ASSERT(images[b].width == S && images[b].height == S, "images reach the model at its size (multimodal.h)");
    std::memcpy(t[b].data_ptr(), images[b].rgb.data(), images[b].rgb.size());
  }
  return t.permute({0, 3, 1, 2}).to(torch::kFloat32).div_(255.0).contiguous();
}

std::vector<Image> ShapesModel::tensor_to_images(const torch::Tensor& x) const {
  return images_from_hwc((x.clamp(0, 1) * 255.0).round().to(torch::kUInt8).permute({0, 2, 3, 1}));
}

std::vector<Image> ShapesModel::decode_codes(const torch::Tensor& codes) {
  c10::InferenceMode guard;
  return tensor_to_images(net_->vq->decode_codes(codes));
}

std::vector<GeneratedSample> ShapesModel::generate(const std::vector<GenerationRequest>& requests, const SampleOptions& opt) {
  opt.validate();
  std::vector<GeneratedSample> out;
  out.reserve(requests.size());
  for (size_t start = 0; start < requests.size(); start += opt.batch) {
    const size_t end = std::min(requests.size(), start + size_t(opt.batch));
    std::vector<std::string> prompts;
    std::vector<uint64_t> seeds;
    for (size_t i = start; i < end; ++i) prompts.push_back(requests[i].prompt), seeds.push_back(requests[i].seed);
    auto codes = sample_codes(*net_, prompt_ids(prompts), seeds, opt);
    auto images = decode_codes(codes);
    for (size_t i = 0; i < images.size(); ++i) {
      GeneratedSample s;
      auto row = codes[int64_t(i)];
      s.codes.assign(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
      s.image = std::move(images[i]);
      out.push_back(std::move(s));
    }
  }
  return out;
}

torch::Tensor ShapesModel::und_answer(const std::vector<Image>& images, const std::vector<std::string>& prompts) {
  auto pixels = images_to_tensor(images);
  torch::Tensor codes;
  if (cfg_.und_input == "vq") {
    torch::NoGradGuard ng;
    codes = net_->vq->encode(pixels);
  }
  return net_->und_forward(net_->image_tokens(pixels, codes), prompt_ids(prompts)).answer;  // (B, V)
}

std::vector<double> ShapesModel::judge_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                                             int batch) {
  c10::InferenceMode guard;
  std::vector<double> out;
  out.reserve(images.size());
  for (size_t start = 0; start < images.size(); start += size_t(batch)) {
    const size_t end = std::min(images.size(), start + size_t(batch));
    auto last = und_answer({images.begin() + start, images.begin() + end}, {prompts.begin() + start, prompts.begin() + end});
    // P(yes) / (P(yes) + P(no)) = sigmoid(logit_yes - logit_no).
    auto s = torch::sigmoid(last.select(1, tok_.yes()) - last.select(1, tok_.no())).to(torch::kFloat64).contiguous();
    out.insert(out.end(), s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
  }
  return out;
}

torch::Tensor ShapesModel::judge_answer_logprobs_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts) {
  return torch::log_softmax(und_answer(images, prompts), -1).index_select(1, torch::tensor({tok_.yes(), tok_.no()}, torch::kLong));
}

torch::Tensor ShapesModel::image_token_logprobs(const std::vector<std::string>& prompts, const torch::Tensor& codes,
                                                const std::vector<bool>& unconditional) {
  UNIGAP_ASSERT(unconditional.empty() || unconditional.size() == prompts.size(), "one unconditional flag per prompt");
  auto ids = prompt_ids(prompts);
  for (size_t b = 0; b < unconditional.size(); ++b)
    if (unconditional[b]) ids[int64_t(b)].fill_(net_->tok_pad);  // the all-<pad> slot: guidance's unconditional row
  auto logits = net_->gen_logits(ids, codes);  // (B, N, K)
  return torch::log_softmax(logits, -1).gather(2, codes.unsqueeze(-1)).squeeze(-1);
}

torch::Tensor ShapesModel::encode_images_sized(const std::vector<Image>& images) {
  c10::InferenceMode guard;
  return net_->vq->encode(images_to_tensor(images));
}

Backend shapes_backend() {
  return {"shapes (" + std::string(ShapesModel::kFormat) + ")",
          [](const json& c) {
            if (!c.is_object()) return false;
            if (c.contains("format")) return c["format"] == ShapesModel::kFormat;
            return c.contains("model") && c.contains("world");  // written before the format tag
          },
          [](const std::string& dir, const json&, const ModelOptions& opt) -> std::unique_ptr<UnifiedMultimodal> {
            if (!opt.cpu_f32())
              throw UserError("the shapes model computes on the CPU in float32", "--device/--dtype", "leave them at cpu and f32");
            return ShapesModel::load(dir);
          }};
}

}  // namespace unigap
