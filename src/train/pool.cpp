#include "train/pool.h"

#include <algorithm>
#include <map>
#include <optional>

#include "common/error.h"
#include "common/progress.h"
#include "io/jsonl.h"
#include "world/render.h"
#include "world/scene.h"

namespace unigap {

Supervision Supervision::parse(const std::string& s) {
  Supervision v;
  if (s == "self") return v;
  if (s == "oracle") {
    v.kind = Kind::External;
    return v;
  }
  if (s == "inverted") {
    v.kind = Kind::Inverted;
    return v;
  }
  if (s.rfind("flip:", 0) == 0) {
    v.kind = Kind::Flip;
    try {
      size_t used = 0;
      v.flip_p = std::stod(s.substr(5), &used);
      if (used != s.size() - 5) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw UserError("bad flip probability in '" + s + "'", "--supervision", "use flip:P with P in [0, 1], e.g. flip:0.5");
    }
    if (!(v.flip_p >= 0 && v.flip_p <= 1)) throw UserError("flip probability must be in [0, 1]", "--supervision");
    return v;
  }
  if (s.rfind("ckpt:", 0) == 0 && s.size() > 5) {
    v.kind = Kind::Checkpoint;
    v.ckpt = s.substr(5);
    return v;
  }
  if (s == "all") {
    v.kind = Kind::All;
    return v;
  }
  if (s == "render") {
    v.kind = Kind::Render;
    return v;
  }
  throw UserError("unknown supervision '" + s + "'", "--supervision", "use self, oracle, flip:P, inverted, ckpt:PATH, all or render");
}

std::string Supervision::name() const {
  switch (kind) {
    case Kind::Self: return "self";
    case Kind::External: return "oracle";
    case Kind::Inverted: return "inverted";
    case Kind::Flip: return "flip:" + std::to_string(flip_p);
    case Kind::Checkpoint: return "ckpt:" + ckpt;
    case Kind::All: return "all";
    case Kind::Render: return "render";
  }
  return "";
}

std::vector<size_t> Pool::accepted() const {
  std::vector<size_t> v;
  for (size_t i = 0; i < candidates.size(); ++i)
    if (candidates[i].verdict) v.push_back(i);
  return v;
}

std::vector<int> Pool::discard() const {
  std::vector<bool> any(prompts.size(), false);
  for (auto& c : candidates) any[c.prompt_index] = any[c.prompt_index] || c.verdict;
  std::vector<int> v;
  for (size_t i = 0; i < prompts.size(); ++i)
    if (!any[i]) v.push_back(int(i));
  return v;
}

std::vector<DpoPair> Pool::pairs() const {
  struct Best {
    std::optional<size_t> chosen, rejected;
  };
  std::map<int, Best> best;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    auto& p = best[c.prompt_index];
    if (c.verdict && (!p.chosen || c.score > candidates[*p.chosen].score)) p.chosen = i;
    if (!c.verdict && (!p.rejected || c.score < candidates[*p.rejected].score)) p.rejected = i;
  }
  std::vector<DpoPair> v;
  for (auto& [prompt, p] : best)
    if (p.chosen && p.rejected) v.push_back({*p.chosen, *p.rejected});
  return v;
}

void Pool::save(const std::string& path) const {
  std::vector<json> lines = {{{"type", "judge"}, {"name", judge}}};
  if (open_vocabulary) lines[0]["open_vocabulary"] = true;  // absent otherwise: earlier pools stay byte-identical
  for (size_t i = 0; i < prompts.size(); ++i) lines.push_back({{"type", "prompt"}, {"index", i}, {"metadata", prompts[i].to_json()}});
  for (auto& c : candidates)
    lines.push_back({{"type", "candidate"},
                     {"prompt_index", c.prompt_index},
                     {"k", c.k},
                     {"round", c.round},
                     {"codes", c.codes},
                     {"own_score", c.own_score},
                     {"score", c.score},
                     {"verdict", c.verdict},
                     {"oracle", c.oracle},
                     {"reason", c.reason}});
  write_jsonl(path, lines);
}

void Pool::check_codes(int64_t tokens, int64_t vocab, const std::string& origin) const {
  for (size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    const std::string which = "candidate " + std::to_string(i) + " (prompt " + std::to_string(c.prompt_index) + ", k " +
                              std::to_string(c.k) + ", round " + std::to_string(c.round) + ")";
    if (int64_t(c.codes.size()) != tokens)
      throw UserError(which + " has " + std::to_string(c.codes.size()) + " image codes, the model uses " + std::to_string(tokens),
                      origin, "was the pool made by another model?");
    for (int64_t code : c.codes)
      if (code < 0 || code >= vocab)
        throw UserError(which + " holds code " + std::to_string(code) + ", the model's codebook has " + std::to_string(vocab),
                        origin, "was the pool made by another model?");
  }
}

Pool Pool::load(const std::string& path, const WorldSpec& spec) {
  Pool p;
  for (auto& line : read_jsonl(path)) {
    const std::string where = path + ":" + std::to_string(line.line);
    const json& j = line.value;
    // Each field with its type and range checked (json_as): a bad value names the field.
    auto field = [&](const char* k, auto& out) { read_required_field(j, k, out, where); };
    try {
      std::string type;
      field("type", type);
      if (type == "judge") {
        if (line.line != 1) throw UserError("the judge line must come first", where);
        field("name", p.judge);
        if (j.contains("open_vocabulary")) field("open_vocabulary", p.open_vocabulary);
      } else if (type == "prompt") {
        size_t index = 0;
        field("index", index);
        if (index != p.prompts.size()) throw UserError("prompt lines out of order", where);
        p.prompts.push_back(Metadata::from_json(j.at("metadata"), p.open_vocabulary ? nullptr : &spec, where));
      } else if (type == "candidate") {
        Candidate c;
        field("prompt_index", c.prompt_index);
        if (c.prompt_index < 0 || c.prompt_index >= int(p.prompts.size()))
          throw UserError("prompt_index " + std::to_string(c.prompt_index) + " out of range", where);
        field("k", c.k);
        field("round", c.round);
        if (!j.contains("codes") || !j.at("codes").is_array()) throw UserError("field 'codes' must be an array of image codes", where);
        for (auto& e : j.at("codes")) {
          auto code = json_as<int64_t>(e);
          if (!code || *code < 0) throw UserError("field 'codes' holds " + e.dump() + ", not an image code (an integer >= 0)", where);
          c.codes.push_back(*code);
        }
        field("own_score", c.own_score);
        field("score", c.score);
        field("verdict", c.verdict);
        field("oracle", c.oracle);
        if (j.contains("reason")) field("reason", c.reason);
        p.candidates.push_back(std::move(c));
      } else {
        throw UserError("unknown line type '" + type + "'", where);
      }
    } catch (const json::exception& e) {
      throw UserError(std::string("malformed pool line: ") + e.what(), where);
    }
  }
  if (p.prompts.empty()) throw UserError("pool has no prompts", path);
  return p;
}

void label_candidate(Candidate& c, const Supervision& sup, double ext, const PoolOptions& opt) {
  const double own = c.own_score;
  switch (sup.kind) {
    case Supervision::Kind::Self: c.score = own; break;
    // The external judge has no confidence: rank by it first, then by the model's own score.
    case Supervision::Kind::External: c.score = (c.oracle ? 1.0 : 0.0) + 0.5 * own; break;
    case Supervision::Kind::Inverted: c.score = 1.0 - own; break;
    case Supervision::Kind::Flip: {
      Rng rng(derive_seed(opt.seed, "flip/" + std::to_string(c.round) + "/" + std::to_string(c.prompt_index), uint64_t(c.k)));
      c.score = rng.bernoulli(sup.flip_p) ? 1.0 - own : own;
      break;
    }
    case Supervision::Kind::Checkpoint: c.score = ext; break;
    case Supervision::Kind::All:
    case Supervision::Kind::Render: c.score = 1.0; break;  // nothing is selected: every candidate trains
  }
  c.verdict = sup.kind == Supervision::Kind::External ? c.oracle : c.score > opt.threshold;
}

namespace {
// The render baseline's candidates: each request's scene laid out and drawn from its own seed
// (the candidate's), as the model's tokenizer encodes it.
std::vector<GeneratedSample> renders(UnifiedMultimodal& model, const std::vector<Metadata>& prompts,
                            const std::vector<GenerationRequest>& part, const std::vector<std::pair<int, int>>& id, size_t first,
                            const PoolOptions& opt) {
  if (!opt.world) throw UserError("needs a world to draw the prompts' scenes", "--supervision render");
  std::vector<GeneratedSample> out(part.size());
  std::vector<Image> images;
  for (size_t j = 0; j < part.size(); ++j) {
    Rng rng(part[j].seed);
    out[j].image = render_scene(layout_scene(prompts[size_t(id[first + j].first)], *opt.world, rng), *opt.world);
    images.push_back(out[j].image);
  }
  const torch::Tensor codes = model.encode_images(images).to(torch::kCPU).contiguous();
  for (size_t j = 0; j < part.size(); ++j) {
    const auto row = codes[int64_t(j)];
    out[j].codes.assign(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  return out;
}
}  // namespace

std::vector<Candidate> sample_candidates(UnifiedMultimodal& model, UnifiedMultimodal& own_judge, UnifiedMultimodal* other,
                                         const Supervision& sup,
                                         ExternalJudge& judge, const std::vector<Metadata>& prompts,
                                         const std::vector<int>& which, const PoolOptions& opt, int round) {
  std::vector<GenerationRequest> req;
  std::vector<std::pair<int, int>> id;  // (prompt index, k)
  for (int i : which)
    for (int k = 0; k < opt.candidates; ++k) {
      req.push_back({prompts[i].prompt, derive_seed(opt.seed, "candidate/" + std::to_string(round) + "/" + std::to_string(i),
                                                    uint64_t(k))});
      id.push_back({i, k});
    }
  std::vector<Candidate> out;
  Progress prog("candidates r" + std::to_string(round), int64_t(req.size()), "img");
  const size_t chunk = 256;
  for (size_t s = 0; s < req.size(); s += chunk) {
    std::vector<GenerationRequest> part(req.begin() + s, req.begin() + std::min(req.size(), s + chunk));
    std::vector<GeneratedSample> samples = sup.kind == Supervision::Kind::Render ? renders(model, prompts, part, id, s, opt)
                                                                        : model.generate(part, opt.sampling);
    std::vector<Image> images;
    std::vector<std::string> texts;
    std::vector<Metadata> meta;
    for (size_t j = 0; j < samples.size(); ++j)
      images.push_back(samples[j].image), texts.push_back(part[j].prompt), meta.push_back(prompts[id[s + j].first]);
    auto own = own_judge.judge(images, texts);
    const auto truth = judge.verdicts(images, meta);
    std::vector<double> ext;
    if (sup.kind == Supervision::Kind::Checkpoint) {
      UNIGAP_ASSERT(other, "ckpt supervision without a judge model");
      ext = other->judge(images, texts);
    }
    for (size_t j = 0; j < samples.size(); ++j) {
      Candidate c;
      c.prompt_index = id[s + j].first;
      c.k = id[s + j].second;
      c.round = round;
      c.codes = samples[j].codes;
      c.own_score = own[j];
      c.oracle = truth[j].correct;
      c.reason = truth[j].reason;
      label_candidate(c, sup, ext.empty() ? 0.0 : ext[j], opt);
      out.push_back(std::move(c));
    }
    prog.update(int64_t(part.size()));
  }
  prog.finish();
  return out;
}

}  // namespace unigap
