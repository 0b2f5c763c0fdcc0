#include "world/suite.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/rng.h"

namespace unigap {

Split parse_split(const std::string& s) {
  if (s == "train") return Split::Train;
  if (s == "val" || s == "validation") return Split::Val;
  if (s == "eval") return Split::Eval;
  throw UserError("unknown split '" + s + "'", "--split", "use train, val or eval");
}
const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Eval: return "eval";
  }
  return "?";
}

namespace {
// Colour binding (both versions): two different shapes with two different colours.
void add_color_attr(std::vector<Metadata>& u, const std::vector<std::string>& S, const std::vector<std::string>& C) {
  for (auto& a : S)
    for (auto& b : S)
      if (a != b)
        for (auto& ca : C)
          for (auto& cb : C)
            if (ca != cb) u.push_back(make_color_attr(a, ca, b, cb));
}

// Version 2's universe: GenEval's six forms, with the attributes that give every tag
// at least 180 meaning groups (docs/world.md, "World version 2"): sizes on objects,
// locations on single objects, an optional colour on counted objects.
std::vector<Metadata> universe_v2(const WorldSpec& spec) {
  std::vector<Metadata> u;
  const auto& S = spec.shapes;
  std::vector<std::string> C;
  for (auto& c : spec.colors) C.push_back(c.name);
  const std::vector<std::string> Z = {"", "small", "large"};
  std::vector<std::string> L = {""};
  for (auto& l : location_names()) L.push_back(l);
  auto sized = [](Metadata m, std::initializer_list<std::string> sizes) {
    size_t k = 0;
    for (auto& z : sizes) m.include[k++].size = z;
    return m;
  };
  for (auto& s : S)
    for (auto& z : Z)
      for (auto& l : L) {
        Metadata m = make_single_object(s);
        m.include[0].size = z, m.include[0].location = l;
        u.push_back(with_text(m));
      }
  for (auto& a : S)
    for (auto& b : S)
      if (a != b)
        for (auto& za : Z)
          for (auto& zb : Z) u.push_back(with_text(sized(make_two_object(a, b), {za, zb})));
  std::vector<std::string> C0 = C;  // an optional colour
  C0.insert(C0.begin(), "");
  for (auto& s : S)
    for (int n = spec.min_count; n <= spec.max_count; ++n)
      for (auto& z : Z)
        for (auto& c : C0) {
          Metadata m = make_counting(s, n);
          m.include[0].size = z, m.include[0].color = c;
          u.push_back(with_text(m));
        }
  for (auto& s : S)
    for (auto& c : C)
      for (auto& l : L) {
        Metadata m = make_colors(s, c);
        m.include[0].location = l;
        u.push_back(with_text(m));
      }
  // Position: GenEval's plain form with optional sizes (include[0] is the target).
  for (auto& a : S)
    for (auto& b : S)
      if (a != b)
        for (auto& r : kRelations)
          for (auto& za : Z)
            for (auto& zb : Z) u.push_back(with_text(sized(make_position(a, r, b), {zb, za})));
  add_color_attr(u, S, C);
  return u;
}
}  // namespace

std::vector<Metadata> prompt_universe(const WorldSpec& spec) {
  if (spec.has_attributes()) return universe_v2(spec);
  std::vector<Metadata> u;
  const auto& S = spec.shapes;
  std::vector<std::string> C;
  for (auto& c : spec.colors) C.push_back(c.name);
  for (auto& s : S) u.push_back(make_single_object(s));
  for (auto& a : S)
    for (auto& b : S)
      if (a != b) u.push_back(make_two_object(a, b));
  for (auto& s : S)
    for (int n = spec.min_count; n <= spec.max_count; ++n) u.push_back(make_counting(s, n));
  for (auto& s : S)
    for (auto& c : C) u.push_back(make_colors(s, c));
  // Position: plain (GenEval's form, medium) and with both objects coloured (hard).
  for (auto& a : S)
    for (auto& b : S)
      if (a != b)
        for (auto& r : kRelations) u.push_back(make_position(a, r, b));
  for (auto& a : S)
    for (auto& b : S)
      if (a != b)
        for (auto& r : kRelations)
          for (auto& ca : C)
            for (auto& cb : C) u.push_back(make_position(a, r, b, ca, cb));
  add_color_attr(u, S, C);
  return u;
}

namespace {
double unit_hash(const std::string& text, uint64_t seed) {
  uint64_t st = stable_hash(text) ^ seed;
  return double(splitmix64(st) >> 11) * 0x1.0p-53;
}
// Split assignment for one tag's prompts, by a hash of the prompt text and split_seed.
}  // namespace

std::string canonical_key(const Metadata& m) {
  // (Version 1's keys, without sizes, are unchanged: its split stays as it was.)
  auto obj = [](const IncludeClause& c) { return c.color + " " + c.cls + (c.size.empty() ? "" : " " + c.size); };
  if (m.tag == "two_object" || m.tag == "color_attr") {
    std::string a = obj(m.include[0]), b = obj(m.include[1]);
    if (b < a) std::swap(a, b);
    return m.tag + "|" + a + "|" + b;
  }
  if (m.tag == "position") {
    std::string subj = obj(m.include[1]), tgt = obj(m.include[0]), rel = m.include[1].relation;
    const std::string inverse = rel == "left of" ? "right of" : rel == "right of" ? "left of" : rel == "above" ? "below" : "above";
    if (tgt < subj) std::swap(subj, tgt), rel = inverse;
    return m.tag + "|" + subj + "|" + rel + "|" + tgt;
  }
  return m.tag + "|" + m.prompt;
}

namespace {
std::map<std::string, Split> assign_tag(const std::vector<const Metadata*>& tag_prompts, const WorldSpec& spec) {
  std::map<std::string, Split> out;
  std::map<std::string, std::vector<std::string>> groups;  // canonical key -> prompt texts
  for (auto* m : tag_prompts) groups[canonical_key(*m)].push_back(m->prompt);
  std::vector<std::pair<double, std::string>> h;
  for (auto& [key, texts] : groups) h.push_back({unit_hash(key, spec.split_seed), key});
  std::sort(h.begin(), h.end());
  // Stratified by tag: round(eval_fraction * n) meaning-groups of each tag are held
  // out (at least one, and at least one left for training), the lowest hashes; then
  // round(val_fraction * n) for validation (version 2), the next hashes.
  size_t n_eval = size_t(std::lround(spec.eval_fraction * double(h.size())));
  if (h.size() >= 2) n_eval = std::clamp<size_t>(n_eval, 1, h.size() - 1);
  size_t n_val = size_t(std::lround(spec.val_fraction * double(h.size())));
  if (spec.val_fraction > 0 && h.size() >= 3) n_val = std::clamp<size_t>(n_val, 1, h.size() - 1 - n_eval);
  for (size_t i = 0; i < h.size(); ++i)
    for (auto& text : groups[h[i].second])
      out[text] = i < n_eval ? Split::Eval : i < n_eval + n_val ? Split::Val : Split::Train;
  return out;
}
}  // namespace

Split split_of(const Metadata& m, const WorldSpec& spec) {
  // Recompute for the tag (cheap enough: the universe has a few thousand prompts).
  static thread_local std::string cached_fp;
  static thread_local std::map<std::string, Split> cache;
  const std::string fp = spec.fingerprint();
  if (fp != cached_fp) {
    cache.clear();
    auto u = prompt_universe(spec);
    for (auto& tag : kTags) {
      std::vector<const Metadata*> tp;
      for (auto& x : u)
        if (x.tag == tag) tp.push_back(&x);
      for (auto& kv : assign_tag(tp, spec)) cache[kv.first] = kv.second;
    }
    cached_fp = fp;
  }
  auto it = cache.find(m.prompt);
  // Prompts outside the universe (hand-written) count as eval: they are never trained on.
  return it == cache.end() ? Split::Eval : it->second;
}

std::vector<Metadata> split_prompts(const WorldSpec& spec, Split split) {
  if (split == Split::Val && spec.val_fraction <= 0)
    throw UserError("world version " + std::to_string(spec.version) + " has no validation split", "--split val",
                    "use a version 2 world (--world v2)");
  std::vector<Metadata> out;
  for (auto& m : prompt_universe(spec))
    if (split_of(m, spec) == split) out.push_back(m);
  return out;
}

Split tuning_split(const WorldSpec& spec) { return spec.val_fraction > 0 ? Split::Val : Split::Eval; }

void refuse_outside_tuning_split(const std::vector<Metadata>& prompts, const WorldSpec& spec, const std::string& origin) {
  const Split want = tuning_split(spec);
  for (size_t i = 0; i < prompts.size(); ++i)
    if (split_of(prompts[i], spec) != want)
      throw UserError("prompt " + std::to_string(i + 1) + " \"" + prompts[i].prompt + "\" is in the " +
                          split_name(split_of(prompts[i], spec)) + " split; tuning reads only the " + split_name(want) + " split",
                      origin, "draw the tracking prompts with `unigap world sample --split " + std::string(split_name(want)) + "`");
}

const std::map<std::string, int>& geneval_tag_counts() {
  static const std::map<std::string, int> k = {{"single_object", 80}, {"two_object", 99}, {"counting", 80},
                                               {"colors", 94},        {"position", 100},  {"color_attr", 100}};
  return k;
}

std::vector<Metadata> sample_suite(const WorldSpec& spec, Split split, int n, uint64_t seed) {
  if (n <= 0) throw UserError("must be positive, found " + std::to_string(n), "--n");
  auto pool = split_prompts(spec, split);
  // Largest-remainder apportionment of n over the tags.
  int total = 0;
  for (auto& kv : geneval_tag_counts()) total += kv.second;
  std::map<std::string, int> quota;
  std::vector<std::pair<double, std::string>> rema;
  int assigned = 0;
  for (auto& tag : kTags) {
    double exact = double(n) * geneval_tag_counts().at(tag) / total;
    quota[tag] = int(std::floor(exact));
    assigned += quota[tag];
    rema.push_back({-(exact - std::floor(exact)), tag});
  }
  std::sort(rema.begin(), rema.end());
  for (size_t i = 0; assigned < n; ++i, ++assigned) quota[rema[i % rema.size()].second]++;

  std::vector<Metadata> out;
  for (auto& tag : kTags) {
    std::vector<Metadata> tp;
    for (auto& m : pool)
      if (m.tag == tag) tp.push_back(m);
    UNIGAP_ASSERT(!tp.empty(), "split has no prompt of tag " + tag);
    Rng rng(derive_seed(seed, std::string("suite/") + split_name(split) + "/" + tag));
    std::vector<size_t> order;
    for (int k = 0; k < quota[tag]; ++k) {
      if (order.empty()) {
        for (size_t i = 0; i < tp.size(); ++i) order.push_back(i);
        rng.shuffle(order);
        std::reverse(order.begin(), order.end());  // pop from the back = shuffled order
      }
      out.push_back(tp[order.back()]);
      order.pop_back();
    }
  }
  return out;
}

}  // namespace unigap
