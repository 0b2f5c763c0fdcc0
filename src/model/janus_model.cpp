#include "model/janus_model.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <set>
#include <variant>

#include "common/error.h"
#include "common/janus_preprocess.h"
#include "common/rng.h"
#include "io/atomic_file.h"
#include "io/hf_tokenizer.h"
#include "io/lazy_safetensors.h"
#include "io/run_dir.h"
#include "io/torch_checkpoint.h"
#include "model/checkpoint.h"
#include "model/janus_modules.h"
#include "model/lora.h"
#include "model/sampling.h"
#include "model/torch_runtime.h"

namespace unigap {

const char* const kJudgeQuestion = "Does this image describe \"{prompt}\"? Answer yes or no.";

namespace {

// janus/models/processing_vlm.py: the system prompt of the understanding template.
const char* const kSystemPrompt =
    "You are a helpful language and vision assistant. You are able to understand the visual content that the user "
    "provides, and assist the user with a variety of tasks using natural language.";

// ---- the weight files of a folder, whichever of the official forms it holds ----
class WeightFiles {
 public:
  static WeightFiles open(const std::string& dir) {
    WeightFiles w;
    for (const char* index : {"model.safetensors.index.json", "pytorch_model.bin.index.json"})
      if (file_exists(dir + "/" + index)) {
        w.source_ = dir + "/" + index;
        w.add_index(dir, index);
        return w;
      }
    for (const char* single : {"model.safetensors", "pytorch_model.bin"})
      if (file_exists(dir + "/" + single)) {
        w.source_ = dir + "/" + single;
        w.add_file(w.source_);
        return w;
      }
    throw UserError("no weights: none of model.safetensors(.index.json), pytorch_model.bin(.index.json)", dir,
                    "pass the folder of an official Janus-Pro download");
  }
  std::map<std::string, std::vector<int64_t>> shapes() const {
    std::map<std::string, std::vector<int64_t>> s;
    for (auto& file : files_)
      std::visit(
          [&](auto& f) {
            for (auto& [name, ref] : f.tensors()) s[name] = ref.shape;
          },
          file);
    return s;
  }
  // What a missing tensor is missing from: the single file, or the shard index.
  const std::string& source() const { return source_; }
  const std::map<std::string, size_t>& names() const { return owner_; }
  TensorData read(const std::string& name) const {
    return std::visit([&](auto& f) { return f.read(name); }, files_.at(owner_.at(name)));
  }
  std::string file_of(const std::string& name) const {
    return std::visit([](auto& f) { return f.path(); }, files_.at(owner_.at(name)));
  }

 private:
  using File = std::variant<TorchCheckpoint, LazySafetensors>;
  void add_file(const std::string& path) {
    const bool st = path.size() > 12 && path.substr(path.size() - 12) == ".safetensors";
    files_.push_back(st ? File(LazySafetensors::open(path)) : File(TorchCheckpoint::open(path)));
    std::visit(
        [&](auto& f) {
          for (auto& [name, ref] : f.tensors())
            if (!owner_.emplace(name, files_.size() - 1).second)
              throw UserError("tensor '" + name + "' is in two weight files", path);
        },
        files_.back());
  }
  // {"weight_map": {key: shard file}}: every shard once; each must hold exactly its keys.
  void add_index(const std::string& dir, const std::string& index) {
    const std::string path = dir + "/" + index;
    const json j = read_json(path);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      throw UserError("not a shard index: no 'weight_map' object", path);
    std::map<std::string, std::string> want;
    std::set<std::string> shards;
    for (auto& [key, file] : j["weight_map"].items()) {
      if (!file.is_string() || file.get<std::string>().find('/') != std::string::npos)
        throw UserError("weight_map['" + key + "'] must name a file in the folder, found " + file.dump(), path);
      want[key] = file.get<std::string>(), shards.insert(file.get<std::string>());
    }
    for (auto& s : shards) add_file(dir + "/" + s);
    for (auto& [key, file] : want)
      if (!owner_.count(key)) throw UserError("tensor '" + key + "' is not in its shard " + file, path);
    for (auto& [key, at] : owner_)
      if (!want.count(key)) throw UserError("tensor '" + key + "' of " + file_of(key) + " is not in the index", path);
  }
  std::vector<File> files_;
  std::map<std::string, size_t> owner_;
  std::string source_;
};

torch::ScalarType scalar_type(DType d, const std::string& where) {
  switch (d) {
    case DType::BF16: return torch::kBFloat16;
    case DType::F16: return torch::kHalf;
    case DType::F32: return torch::kFloat32;
    default: throw UserError(std::string("dtype ") + dtype_name(d) + " is not a weight dtype (BF16, F16, F32)", where);
  }
}

// Every parameter of the network from the weight files: shapes checked, bf16 converted into
// the float32 parameter in place (no second copy of the model); unused official keys
// skipped; an unexpected key is an error.
void load_weights_into(janus::Net& net, const WeightFiles& files, const ModelOptions& opt) {
  torch::NoGradGuard ng;
  std::set<std::string> used;
  for (auto& p : net.named_parameters()) {
    const std::string& name = p.key();
    if (!files.names().count(name))
      throw UserError("missing tensor '" + name + "'", files.source(), "the checkpoint does not match its config.json");
    const TensorData t = files.read(name);
    const std::string where = files.file_of(name) + ": tensor '" + name + "'";
    if (std::vector<int64_t>(t.shape.begin(), t.shape.end()) != p.value().sizes().vec())
      throw UserError("has shape " + c10::str(c10::IntArrayRef(t.shape)) + ", the model expects " + c10::str(p.value().sizes()), where);
    auto src = torch::from_blob(const_cast<uint8_t*>(t.bytes.data()), t.shape, scalar_type(t.dtype, where));
    // The parameter was created empty (no pages touched): its data becomes the converted
    // tensor, so the peak is the model in its compute dtype plus one tensor on disk.
    p.value().set_data(src.to(opt.device, opt.dtype, /*non_blocking=*/false, /*copy=*/true));
    used.insert(name);
  }
  for (auto& [name, at] : files.names())
    if (!used.count(name) && !janus::unused_official_key(name))
      throw UserError("unexpected tensor '" + name + "'", files.file_of(name), "the checkpoint does not match its config.json");
}

// Rows grouped by an integer key (a sequence length), in first-seen order: rows of one group
// batch without padding.
std::vector<std::vector<size_t>> group_by(const std::vector<size_t>& keys) {
  std::map<size_t, size_t> slot;
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto [it, fresh] = slot.emplace(keys[i], groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  return groups;
}

// Tokens a prompt's template may take besides the image, for the memory estimates below.
constexpr int64_t kPromptTokens = 64;

// MemAvailable of /proc/meminfo in bytes; 0 when it cannot be read.
double available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  double kb = 0;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024.0;
  return 0;
}

torch::Tensor ids_tensor(const std::vector<std::vector<int64_t>>& rows) {
  auto t = torch::empty({int64_t(rows.size()), int64_t(rows.at(0).size())}, torch::kLong);
  for (size_t r = 0; r < rows.size(); ++r) std::memcpy(t[int64_t(r)].data_ptr<int64_t>(), rows[r].data(), rows[r].size() * sizeof(int64_t));
  return t;
}

// (B, 3, S, S) in about [-1, 1] -> 8-bit images: clip((x + 1) / 2 * 255, 0, 255), truncated as
// the official code's assignment into a uint8 array does.
std::vector<Image> to_images(const torch::Tensor& x) {
  return images_from_hwc(((x.to(torch::kFloat32) + 1) / 2 * 255).clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}));
}

}  // namespace

JanusModel::~JanusModel() = default;

std::unique_ptr<JanusModel> JanusModel::load(const std::string& dir, const ModelOptions& opt) {
  std::unique_ptr<JanusModel> m(new JanusModel());
  m->dir_ = dir;
  m->opt_ = opt;
  const std::string cfg_path = dir + "/config.json";
  m->config_ = read_json(cfg_path);
  const WeightFiles files = WeightFiles::open(dir);
  m->dims_ = resolve_janus_dims(m->config_, files.shapes(), cfg_path);
  if (file_exists(dir + "/processor_config.json")) {
    const json pc = read_json(dir + "/processor_config.json");
    const auto n = json_as<int64_t>(pc.is_object() ? pc.value("num_image_tokens", json(m->dims_.und_tokens)) : json());
    if (!n || *n != m->dims_.und_tokens)
      throw UserError("num_image_tokens differs from the vision tower's " + std::to_string(m->dims_.und_tokens) + " tokens",
                      dir + "/processor_config.json");
  }
  m->image_cfg_ = std::make_unique<JanusImageConfig>(JanusImageConfig::read(dir + "/preprocessor_config.json"));
  if (m->image_cfg_->image_size != m->dims_.siglip.image_size)
    throw UserError("image_size differs from the vision tower's " + std::to_string(m->dims_.siglip.image_size),
                    dir + "/preprocessor_config.json");

  // Tokens, looked up by string (the 1B and 7B ids differ).
  const std::string tc = dir + "/tokenizer_config.json", sm = dir + "/special_tokens_map.json";
  m->tok_ = std::make_unique<HfTokenizer>(HfTokenizer::from_file(dir + "/tokenizer.json", tc));
  auto id = [&](const std::string& token, const std::string& where) {
    auto t = m->tok_->token_id(token);
    if (!t) throw UserError("token '" + token + "' is not in tokenizer.json", where);
    return *t;
  };
  if (!m->tok_->bos_id()) throw UserError("missing 'bos_token'", tc);
  m->bos_ = *m->tok_->bos_id();
  // The pad token of special_tokens_map.json, else VLChatProcessor's default.
  const auto pad = file_exists(sm) ? m->tok_->config_token_id(read_json(sm), "pad_token", sm) : std::nullopt;
  m->pad_ = pad ? *pad : id("<\xEF\xBD\x9C\xE2\x96\x81pad\xE2\x96\x81\xEF\xBD\x9C>", sm);
  m->image_tag_ = id("<image_placeholder>", dir + "/tokenizer.json");
  m->image_start_ = id("<begin_of_image>", dir + "/tokenizer.json");
  m->image_end_ = id("<end_of_image>", dir + "/tokenizer.json");
  // The judge's answer: the first token of each spelling of yes and of no.
  auto first_tokens = [&](std::initializer_list<const char*> words) {
    std::set<int64_t> s;
    for (auto w : words) {
      auto ids = m->tok_->encode(w);
      if (!ids.empty()) s.insert(ids[0]);
    }
    return s;
  };
  const auto yes = first_tokens({" Yes", "Yes", " yes", "yes"}), no = first_tokens({" No", "No", " no", "no"});
  for (auto t : yes)
    if (!no.count(t)) m->yes_ids_.push_back(t);
  for (auto t : no)
    if (!yes.count(t)) m->no_ids_.push_back(t);
  if (m->yes_ids_.empty() || m->no_ids_.empty())
    throw UserError("the tokenizer gives no first token that tells yes from no", dir + "/tokenizer.json");

  m->net_ = std::make_shared<janus::Net>(m->dims_);
  load_weights_into(*m->net_, files, opt);
  m->net_->eval();
  return m;
}

std::string JanusModel::name() const {
  return "janus-pro (" + std::to_string(dims_.llm.layers) + " x " + std::to_string(dims_.llm.hidden) + " LLM)";
}
int JanusModel::image_size() const { return int(dims_.image_size); }
int JanusModel::image_tokens() const { return int(dims_.image_tokens()); }
int JanusModel::codebook_size() const { return int(dims_.vq.codebook_size); }

// ---- prompts ----

std::vector<int64_t> JanusModel::generation_ids(const std::string& prompt, bool unconditional) const {
  std::vector<int64_t> ids = {bos_};
  for (auto t : tok_->encode("<|User|>: " + prompt + "\n\n<|Assistant|>:<begin_of_image>")) ids.push_back(t);
  if (unconditional)
    for (size_t i = 1; i + 1 < ids.size(); ++i) ids[i] = pad_;
  return ids;
}

std::vector<int64_t> JanusModel::understanding_ids(const std::string& question) const {
  const std::string text = std::string(kSystemPrompt) + "\n\n<|User|>: <image_placeholder>\n" + question + "\n\n<|Assistant|>:";
  std::vector<int64_t> ids = {bos_};
  for (auto t : tok_->encode(text)) {
    if (t != image_tag_) {
      ids.push_back(t);
      continue;
    }
    ids.push_back(image_start_);
    ids.insert(ids.end(), size_t(dims_.und_tokens), image_tag_);
    ids.push_back(image_end_);
  }
  return ids;
}

torch::Tensor JanusModel::pixel_values(const Image& image) const {
  auto p = preprocess_janus_image(image, *image_cfg_).pixel_values;
  const int64_t S = image_cfg_->image_size;
  return torch::from_blob(p.data(), {3, S, S}, torch::kFloat32).to(opt_.device, opt_.dtype, false, true);
}

torch::Tensor JanusModel::understanding_embeds(const std::vector<int64_t>& ids, const torch::Tensor& pixels) {
  auto ids_t = on_device(torch::tensor(ids, torch::kLong));
  auto emb = net_->llm->embed(ids_t);
  auto feats = net_->aligner->forward(net_->tower->forward(pixels.unsqueeze(0)))[0];  // (N, H)
  auto rows = (ids_t == image_tag_).nonzero().squeeze(1);
  if (rows.size(0) != feats.size(0)) throw UserError("the prompt holds " + std::to_string(rows.size(0)) + " image tokens, the tower gives " + std::to_string(feats.size(0)));
  return emb.index_put({rows}, feats);
}

// ---- memory: how many sequences one forward pass takes ----

// The batch `want` lowered, on the CPU, to what fits in half the memory available now at
// `bytes_per_row`: the model's batch options are the shapes model's (64 prompts), and 64
// Janus-Pro-1B sequences with guidance would need a 30 GB KV cache. The samples and scores do
// not depend on the batch (UnifiedMultimodal's contract), so this changes speed only; the
// first lowering is said on stderr. On a GPU the caller's batch stands.
size_t JanusModel::batch_that_fits(size_t want, double bytes_per_row, const char* what) const {
  if (!opt_.device.is_cpu()) return want;
  const double free = available_memory_bytes();
  if (free <= 0) return want;
  const size_t fit = std::max<size_t>(1, size_t(0.5 * free / bytes_per_row));
  if (fit >= want) return want;
  if (!batch_note_said_) {
    batch_note_said_ = true;
    std::cerr << "unigap: " << what << " batch " << want << " lowered to " << fit << " for this machine's memory ("
              << int(bytes_per_row / 1048576.0) << " MB per sequence, " << int(free / 1073741824.0) << " GB available)\n";
  }
  return fit;
}

// ---- understanding: the judge ----

torch::Tensor JanusModel::answer_logprobs(const std::vector<Image>& images, const std::vector<std::string>& prompts) {
  std::vector<std::vector<int64_t>> ids;
  std::vector<size_t> lengths;
  for (auto& p : prompts) {
    std::string q = kJudgeQuestion;
    q.replace(q.find("{prompt}"), 8, p);
    ids.push_back(understanding_ids(q)), lengths.push_back(ids.back().size());
  }
  std::vector<torch::Tensor> out(images.size());
  for (auto& g : group_by(lengths)) {
    std::vector<torch::Tensor> embeds;
    for (size_t i : g) embeds.push_back(understanding_embeds(ids[i], pixel_values(images[i])));
    auto h = net_->llm->forward(torch::stack(embeds));
    auto lp = torch::log_softmax(net_->llm->logits(h.select(1, h.size(1) - 1)).to(torch::kFloat32), -1);
    for (size_t r = 0; r < g.size(); ++r) out[g[r]] = lp[int64_t(r)];
  }
  return torch::stack(out);
}

std::vector<double> JanusModel::judge_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts, int want) {
  c10::InferenceMode guard;
  // Per sequence of T tokens: the hidden states, the MLP's three (T, I) tensors and one
  // layer's attention probabilities (heads, T, T), float32.
  const auto& l = dims_.llm;
  const double T = double(dims_.image_tokens() + kPromptTokens), elem = double(torch::elementSize(opt_.dtype));
  const double per_row = T * double(4 * l.hidden + 3 * l.intermediate) * elem + double(l.heads) * T * T * 4.0;
  const int batch = int(batch_that_fits(size_t(want), per_row, "judge"));
  std::vector<double> out;
  for (size_t s = 0; s < images.size(); s += size_t(batch)) {
    const size_t e = std::min(images.size(), s + size_t(batch));
    auto lp = answer_logprobs({images.begin() + s, images.begin() + e}, {prompts.begin() + s, prompts.begin() + e});
    auto yes = torch::logsumexp(lp.index_select(1, on_device(torch::tensor(yes_ids_))), 1);
    auto no = torch::logsumexp(lp.index_select(1, on_device(torch::tensor(no_ids_))), 1);
    auto sc = torch::sigmoid(yes - no).to(torch::kCPU, torch::kFloat64).contiguous();  // P(yes) / (P(yes) + P(no))
    out.insert(out.end(), sc.data_ptr<double>(), sc.data_ptr<double>() + sc.numel());
  }
  return out;
}

torch::Tensor JanusModel::judge_answer_logprobs_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts) {
  auto lp = answer_logprobs(images, prompts);
  return torch::stack({torch::logsumexp(lp.index_select(1, on_device(torch::tensor(yes_ids_))), 1),
                       torch::logsumexp(lp.index_select(1, on_device(torch::tensor(no_ids_))), 1)},
                      1);
}

// ---- generation ----

JanusModel::CodeSampler::CodeSampler(JanusModel& m, const std::vector<GenerationRequest>& requests, const SampleOptions& opt)
    : m_(m), opt_(opt), guided_(opt.cfg_weight != 1.0), B_(int64_t(requests.size())), N_(m.dims_.image_tokens()) {
  opt.validate();
  c10::InferenceMode guard;
  // Rows: the conditional ones, then (with guidance) their unconditional twins; one length.
  std::vector<std::vector<int64_t>> rows;
  for (auto& r : requests) rows.push_back(m.generation_ids(r.prompt, false));
  if (guided_)
    for (auto& r : requests) rows.push_back(m.generation_ids(r.prompt, true));
  for (auto& r : rows) UNIGAP_ASSERT(r.size() == rows[0].size(), "a sampling batch holds prompts of one token length");
  for (auto& r : requests) rngs_.emplace_back(r.seed);
  cache_ = std::make_unique<janus::KvCache>();
  cache_->capacity = int64_t(rows[0].size()) + N_;
  h_ = m.net_->llm->forward(m.net_->llm->embed(m.on_device(ids_tensor(rows))), cache_.get());
  codes_ = torch::empty({B_, N_}, torch::kLong);
}

void JanusModel::CodeSampler::step() {
  UNIGAP_ASSERT(!done(), "every code of the batch is drawn");
  c10::InferenceMode guard;
  auto logits = m_.net_->gen_head->forward(h_.select(1, h_.size(1) - 1)).to(torch::kFloat32);
  auto probs = guided_ ? guided_probs(logits.narrow(0, 0, B_), logits.narrow(0, B_, B_), opt_) : guided_probs(logits, {}, opt_);
  std::vector<double> u;
  for (auto& r : rngs_) u.push_back(r.uniform());
  auto picks = torch::tensor(draw_rows(probs.to(torch::kCPU), u), torch::kLong);
  codes_.select(1, t_).copy_(picks);
  if (++t_ == N_) return;
  picks = m_.on_device(picks);
  auto next = m_.net_->code_embeds(guided_ ? torch::cat({picks, picks}) : picks).unsqueeze(1);  // both rows see the code
  h_ = m_.net_->llm->forward(next, cache_.get());
}

JanusModel::CodeSampler::~CodeSampler() = default;

std::vector<GeneratedSample> JanusModel::generate(const std::vector<GenerationRequest>& requests, const SampleOptions& opt) {
  opt.validate();
  std::vector<size_t> lengths;
  for (auto& r : requests) lengths.push_back(generation_ids(r.prompt, false).size());
  // The KV cache of a prompt: keys and values of every layer for its rows (two with guidance).
  const auto& l = dims_.llm;
  const double positions = double(dims_.image_tokens() + kPromptTokens), elem = double(torch::elementSize(opt_.dtype));
  const double per_prompt = (opt.cfg_weight != 1.0 ? 2.0 : 1.0) * double(2 * l.layers * l.kv_heads * l.head_dim) * positions * elem;
  const size_t batch = batch_that_fits(size_t(opt.batch), per_prompt, "sampling");
  std::vector<GeneratedSample> out(requests.size());
  for (auto& group : group_by(lengths))
    for (size_t s = 0; s < group.size(); s += batch) {
      const std::vector<size_t> part(group.begin() + s, group.begin() + std::min(group.size(), s + batch));
      std::vector<GenerationRequest> reqs;
      for (size_t i : part) reqs.push_back(requests[i]);
      CodeSampler sampler(*this, reqs, opt);
      while (!sampler.done()) sampler.step();
      const auto& codes = sampler.codes();
      auto images = decode_codes(codes);
      for (size_t r = 0; r < part.size(); ++r) {
        auto& o = out[part[r]];
        o.codes.assign(codes[int64_t(r)].data_ptr<int64_t>(), codes[int64_t(r)].data_ptr<int64_t>() + codes.size(1));
        o.image = std::move(images[r]);
      }
    }
  return out;
}

std::vector<Image> JanusModel::decode_codes(const torch::Tensor& codes) {
  c10::InferenceMode guard;
  // oneDNN's convolutions: 1.6x faster than ATen's on the 1B VQ decoder (bench_janus vq). Only its backward
  // misbehaved (model/torch_runtime.h); decoding has none.
  OneDnnConvolutions onednn(true);
  const int64_t grid = dims_.image_size / dims_.vq.downsample();
  return to_images(net_->vq->decode_codes(on_device(codes.to(torch::kLong)), grid).to(torch::kCPU));
}

torch::Tensor JanusModel::encode_images_sized(const std::vector<Image>& images) {
  c10::InferenceMode guard;
  OneDnnConvolutions onednn(true);  // as decode_codes
  const int64_t S = dims_.image_size;
  auto x = torch::empty({int64_t(images.size()), S, S, 3}, torch::kUInt8);
  for (size_t b = 0; b < images.size(); ++b) std::memcpy(x[int64_t(b)].data_ptr(), images[b].rgb.data(), images[b].rgb.size());
  return net_->vq->encode((x.permute({0, 3, 1, 2}).to(torch::kFloat32) / 127.5 - 1.0).to(opt_.device, opt_.dtype)).to(torch::kCPU);
}

torch::Tensor JanusModel::image_token_logprobs(const std::vector<std::string>& prompts, const torch::Tensor& codes,
                                               const std::vector<bool>& unconditional) {
  UNIGAP_ASSERT(unconditional.empty() || unconditional.size() == prompts.size(), "one unconditional flag per prompt");
  const int64_t N = codes.size(1);
  std::vector<std::vector<int64_t>> ids;
  std::vector<size_t> lengths;
  for (size_t i = 0; i < prompts.size(); ++i)
    ids.push_back(generation_ids(prompts[i], !unconditional.empty() && unconditional[i])), lengths.push_back(ids.back().size());
  std::vector<torch::Tensor> out(prompts.size());
  for (auto& g : group_by(lengths)) {
    std::vector<std::vector<int64_t>> rows;
    for (size_t i : g) rows.push_back(ids[i]);
    auto gi = torch::tensor(std::vector<int64_t>(g.begin(), g.end()), torch::kLong);
    auto c = on_device(codes.index_select(0, gi));
    const int64_t T = int64_t(rows[0].size());
    // Teacher forcing: the prompt, then codes 0 .. N-2; the hidden state at T-1+i predicts code i.
    auto embeds = torch::cat({net_->llm->embed(on_device(ids_tensor(rows))), net_->code_embeds(c.narrow(1, 0, N - 1))}, 1);
    auto h = net_->llm->forward(embeds).narrow(1, T - 1, N);
    auto lp = torch::log_softmax(net_->gen_head->forward(h).to(torch::kFloat32), -1).gather(2, c.unsqueeze(-1)).squeeze(-1);
    for (size_t r = 0; r < g.size(); ++r) out[g[r]] = lp[int64_t(r)];
  }
  return torch::stack(out);
}

// ---- training ----

namespace {
const std::vector<std::pair<std::string, std::string>> kGroups = {
    {"llm", "language_model."}, {"siglip", "vision_model."}, {"aligner", "aligner."}, {"gen_embed", "gen_embed."},
    {"gen_aligner", "gen_aligner."}, {"gen_head", "gen_head."}, {"vq", "gen_vision_model."}};
std::string group_of(const std::string& name) {
  for (auto& [g, prefix] : kGroups)
    if (name.rfind(prefix, 0) == 0) return g;
  UNIGAP_ASSERT(false, "parameter " + name + " has no group");
  return "";
}
}  // namespace

std::map<std::string, std::vector<torch::Tensor>> JanusModel::parameter_groups() {
  std::map<std::string, std::vector<torch::Tensor>> g;
  for (auto& p : net_->named_parameters()) g[group_of(p.key())].push_back(p.value());
  for (auto& t : lora_) g["lora"].insert(g["lora"].end(), {t.delta->A, t.delta->B});
  return g;
}

std::vector<std::string> JanusModel::default_train_groups() const {
  return has_adapter() ? std::vector<std::string>{"lora"} : std::vector<std::string>{"llm"};
}

void JanusModel::train_only(const std::vector<std::string>& groups) {
  std::string known;
  for (auto& [g, prefix] : kGroups) known += (known.empty() ? "" : ", ") + g;
  const bool lora = has_adapter();
  if (lora) {
    if (groups != std::vector<std::string>{"lora"})
      throw UserError("with a LoRA adapter only the group 'lora' trains", "train groups",
                      "an adapter folder holds the adapter's tensors only; fine-tune groups (" + known + ") without --lora-rank");
  } else {
    for (auto& g : groups)
      if (std::none_of(kGroups.begin(), kGroups.end(), [&](auto& k) { return k.first == g; }))
        throw UserError("unknown parameter group '" + g + "'", "train groups",
                        "the Janus-Pro model has: " + known + (g == "lora" ? " (and 'lora' once it has an adapter: --lora-rank)" : ""));
  }
  for (auto& p : net_->named_parameters())
    p.value().set_requires_grad(!lora && std::find(groups.begin(), groups.end(), group_of(p.key())) != groups.end());
  for (auto& t : lora_) t.delta->A.set_requires_grad(true), t.delta->B.set_requires_grad(true);
}

std::vector<torch::Tensor> JanusModel::trainable_parameters() {
  std::vector<torch::Tensor> v;
  for (auto& p : named_parameters())
    if (p.value().requires_grad()) v.push_back(p.value());
  return v;
}

// The official parameters by their state-dict keys, then the adapter's by PEFT's keys.
torch::OrderedDict<std::string, torch::Tensor> JanusModel::named_parameters() {
  auto d = net_->named_parameters();
  for (auto& t : lora_) d.insert(peft_key(t.module, 'A'), t.delta->A), d.insert(peft_key(t.module, 'B'), t.delta->B);
  return d;
}
void JanusModel::set_training(bool on) { net_->train(on); }

// An official-layout folder: the weights as model.safetensors (the official key names, in the
// dtype the model computes in: float32, or BF16 under --dtype bf16, as the official files),
// streamed from the weights themselves; the original config.json (plus `extra` under
// "unigap") and the tokenizer and processor files copied. With an adapter: the adapter folder
// instead (janus_adapter.cpp).
void JanusModel::save(const std::string& dir, const json& extra) {
  if (has_adapter()) return save_adapter(dir, extra);
  make_dirs(dir);
  save_module(*net_, dir + "/model.safetensors", {{"format", "pt"}});
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json",
                        "processor_config.json"})
    if (file_exists(dir_ + "/" + f) && dir_ != dir) write_file_atomic(dir + "/" + f, read_file(dir_ + "/" + f));
  json c = config_;
  if (extra.is_object() && !extra.empty()) c["unigap"] = extra;
  c["unigap_provenance"] = provenance();
  write_json(dir + "/config.json", c);
}

void JanusModel::load_weights(const std::string& dir) {
  if (has_adapter()) return read_adapter_weights(dir + "/" + kAdapterWeightsFile);
  load_weights_into(*net_, WeightFiles::open(dir), opt_);
}

Backend janus_backend() {
  return {"janus-pro (config.json model_type multi_modality)",
          [](const json& c) { return c.is_object() && c.value("model_type", json()) == "multi_modality"; },
          [](const std::string& dir, const json&, const ModelOptions& opt) -> std::unique_ptr<UnifiedMultimodal> {
            return JanusModel::load(dir, opt);
          }};
}

}  // namespace unigap
