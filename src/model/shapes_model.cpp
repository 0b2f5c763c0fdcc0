#include "model/shapes_model.h"

#include <ATen/Context.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "dist/dist.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "model/checkpoint.h"

namespace unigap {

ShapesModel::ShapesModel(const ModelConfig& cfg, const WorldSpec& world, uint64_t init_seed)
    : cfg_(cfg), world_(world), tok_(world) {
  // Debian's libtorch 1.13 oneDNN convolution backward intermittently returns NaN
  // weight gradients with one OpenMP thread (reproduced: unified step 1 of a 1-thread
  // run; never with oneDNN off). ATen's native convolutions are as fast at these sizes.
  at::globalContext().setUserEnabledMkldnn(false);
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
  if (!j.contains("model") || !j.contains("world"))
    throw UserError("config.json lacks the 'model' or 'world' section", cfg_path);
  auto cfg = ModelConfig::from_json(j["model"], cfg_path + ": model");
  auto world = WorldSpec::from_json(j["world"], cfg_path + ": world");
  auto m = std::make_unique<ShapesModel>(cfg, world, 0);
  auto meta = load_module(*m->net_, dir + "/model.safetensors");
  auto it = meta.find("world_fingerprint");
  if (it != meta.end() && it->second != world.fingerprint())
    throw UserError("model.safetensors was made for world " + it->second + " but config.json describes world " +
                        world.fingerprint(),
                    dir, "the two files come from different runs");
  m->net_->eval();
  return m;
}

void ShapesModel::save(const std::string& dir, const json& extra) {
  make_dirs(dir);
  save_module(*net_, dir + "/model.safetensors",
              {{"format", "unigap-shapes-unified-v1"}, {"world_fingerprint", world_.fingerprint()}, {"preset", cfg_.preset}});
  json j = extra.is_object() ? extra : json::object();
  j["model"] = cfg_.to_json();
  j["world"] = world_.to_json();
  j["provenance"] = provenance();
  write_json(dir + "/config.json", j);
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
    if (images[b].width != S || images[b].height != S)
      throw UserError("image " + std::to_string(b) + " is " + std::to_string(images[b].width) + "x" +
                      std::to_string(images[b].height) + ", the model takes " + std::to_string(S) + "x" + std::to_string(S));
    std::memcpy(t[b].data_ptr(), images[b].rgb.data(), images[b].rgb.size());
  }
  return t.permute({0, 3, 1, 2}).to(torch::kFloat32).div_(255.0).contiguous();
}

std::vector<Image> ShapesModel::tensor_to_images(const torch::Tensor& x) const {
  auto u8 = (x.clamp(0, 1) * 255.0).round().to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
  std::vector<Image> out;
  for (int64_t b = 0; b < u8.size(0); ++b) {
    Image img(int(u8.size(2)), int(u8.size(1)));
    std::memcpy(img.rgb.data(), u8[b].data_ptr(), img.rgb.size());
    out.push_back(std::move(img));
  }
  return out;
}

std::vector<Image> ShapesModel::decode_codes(const torch::Tensor& codes) {
  c10::InferenceMode guard;
  return tensor_to_images(net_->vq->decode_codes(codes));
}

namespace {

// Byte packing for the all-gather of sharded results (same machine type on every rank).
template <class T>
void put(std::string& b, const T& v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T take(const std::string& b, size_t& at) {
  UNIGAP_ASSERT(at + sizeof(T) <= b.size(), "short all-gather message");
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

}  // namespace

std::vector<GeneratedSample> ShapesModel::generate(const std::vector<GenerationRequest>& requests,
                                                   const SampleOptions& opt) {
  opt.validate();
  Dist& d = Dist::current();
  if (!d.active()) return generate_local(requests, opt);
  // Rows are independent (per-row seeds), so each rank samples a contiguous share.
  const auto [lo, hi] = d.share(requests.size());
  auto mine = generate_local({requests.begin() + lo, requests.begin() + hi}, opt);
  std::string b;
  put(b, uint64_t(mine.size()));
  for (auto& s : mine) {
    put(b, uint64_t(s.codes.size()));
    b.append(reinterpret_cast<const char*>(s.codes.data()), s.codes.size() * sizeof(int64_t));
    put(b, int32_t(s.image.width));
    put(b, int32_t(s.image.height));
    b.append(reinterpret_cast<const char*>(s.image.rgb.data()), s.image.rgb.size());
  }
  std::vector<GeneratedSample> out;
  out.reserve(requests.size());
  for (auto& part : d.all_gather(b)) {
    size_t at = 0;
    const auto n = take<uint64_t>(part, at);
    for (uint64_t i = 0; i < n; ++i) {
      GeneratedSample s;
      s.codes.resize(take<uint64_t>(part, at));
      const size_t nb = s.codes.size() * sizeof(int64_t);
      UNIGAP_ASSERT(at + nb <= part.size(), "short all-gather message");
      std::memcpy(s.codes.data(), part.data() + at, nb);
      at += nb;
      const int w = take<int32_t>(part, at), h = take<int32_t>(part, at);
      s.image = Image(w, h);
      UNIGAP_ASSERT(at + s.image.rgb.size() <= part.size(), "short all-gather message");
      std::memcpy(s.image.rgb.data(), part.data() + at, s.image.rgb.size());
      at += s.image.rgb.size();
      out.push_back(std::move(s));
    }
  }
  UNIGAP_ASSERT(out.size() == requests.size(), "all-gather lost samples");
  return out;
}

std::vector<GeneratedSample> ShapesModel::generate_local(const std::vector<GenerationRequest>& requests,
                                                         const SampleOptions& opt) {
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

std::vector<double> ShapesModel::judge(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                                       int batch) {
  if (images.size() != prompts.size()) throw UserError("judge: one prompt per image is needed");
  Dist& d = Dist::current();
  if (!d.active()) return judge_local(images, prompts, batch);
  const auto [lo, hi] = d.share(images.size());
  auto mine = judge_local({images.begin() + lo, images.begin() + hi}, {prompts.begin() + lo, prompts.begin() + hi}, batch);
  std::vector<double> out;
  out.reserve(images.size());
  for (auto& part : d.all_gather(std::string(reinterpret_cast<const char*>(mine.data()), mine.size() * sizeof(double)))) {
    const size_t n = part.size() / sizeof(double);
    out.resize(out.size() + n);
    std::memcpy(out.data() + out.size() - n, part.data(), n * sizeof(double));
  }
  UNIGAP_ASSERT(out.size() == images.size(), "all-gather lost judgments");
  return out;
}

std::vector<double> ShapesModel::judge_local(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                                             int batch) {
  c10::InferenceMode guard;
  std::vector<double> out;
  out.reserve(images.size());
  for (size_t start = 0; start < images.size(); start += size_t(batch)) {
    const size_t end = std::min(images.size(), start + size_t(batch));
    std::vector<Image> im(images.begin() + start, images.begin() + end);
    std::vector<std::string> pr(prompts.begin() + start, prompts.begin() + end);
    auto pixels = images_to_tensor(im);
    torch::Tensor codes;
    if (cfg_.und_input == "vq") codes = net_->vq->encode(pixels);
    auto last = net_->und_forward(net_->image_tokens(pixels, codes), prompt_ids(pr)).answer;  // (B, V)
    // P(yes) / (P(yes) + P(no)) = sigmoid(logit_yes - logit_no).
    auto s = torch::sigmoid(last.select(1, tok_.yes()) - last.select(1, tok_.no())).to(torch::kFloat64).contiguous();
    out.insert(out.end(), s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
  }
  return out;
}

torch::Tensor ShapesModel::image_logprob(const std::vector<std::string>& prompts, const torch::Tensor& codes) {
  auto logits = net_->gen_logits(prompt_ids(prompts), codes);  // (B, N, K)
  auto lp = torch::log_softmax(logits, -1).gather(2, codes.unsqueeze(-1)).squeeze(-1);
  return lp.sum(1);
}

torch::Tensor ShapesModel::judge_logprob_yes(const std::vector<Image>& images, const std::vector<std::string>& prompts) {
  auto pixels = images_to_tensor(images);
  torch::Tensor codes;
  if (cfg_.und_input == "vq") {
    torch::NoGradGuard ng;
    codes = net_->vq->encode(pixels);
  }
  auto answer = net_->und_forward(net_->image_tokens(pixels, codes), prompt_ids(prompts)).answer;
  return torch::log_softmax(answer, -1).select(1, tok_.yes());
}

torch::Tensor ShapesModel::encode_images(const std::vector<Image>& images) {
  c10::InferenceMode guard;
  return net_->vq->encode(images_to_tensor(images));
}

}  // namespace unigap
