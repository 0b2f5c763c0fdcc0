// HfTokenizer's reader: tokenizer.json into the pipeline's steps (hf_tokenizer_impl.h),
// refusing by name every component and option the encoder does not implement, and
// tokenizer_config.json's bos_token / eos_token. The semantics follow the Rust
// `tokenizers` crate (serialization.rs, added_vocabulary.rs, models/bpe/model.rs).
#include "io/hf_tokenizer.h"

#include <algorithm>
#include <map>
#include <memory>

#include "common/error.h"
#include "io/hf_tokenizer_impl.h"
#include "io/unicode.h"

namespace unigap {

using hf_internal::Behavior;
using hf_internal::PreTokenizerStep;
using hf_internal::Tokenizer;

namespace {

// A JSON value and its path in the file, so that every error names the file and field.
struct Field {
  const json& v;
  std::string path;
  const std::string& origin;

  [[noreturn]] void fail(const std::string& what) const {
    throw UserError(what, path.empty() ? origin : origin + ": " + path);
  }
  bool has(const char* key) const { return v.is_object() && v.contains(key) && !v.at(key).is_null(); }
  std::string child_path(const std::string& key) const { return path.empty() ? key : path + "." + key; }
  Field operator[](const char* key) const {
    if (!v.is_object()) fail("expected an object, found " + std::string(v.type_name()));
    if (!v.contains(key)) Field{v, child_path(key), origin}.fail("missing field");
    return {v.at(key), child_path(key), origin};
  }
  Field at(size_t i) const { return {v.at(i), path + "[" + std::to_string(i) + "]", origin}; }
  std::string str() const {
    if (!v.is_string()) fail("expected a string, found " + std::string(v.type_name()));
    return v.get<std::string>();
  }
  bool boolean() const {
    if (!v.is_boolean()) fail("expected true or false, found " + std::string(v.type_name()));
    return v.get<bool>();
  }
  bool boolean_or(const char* key, bool fallback) const { return has(key) ? (*this)[key].boolean() : fallback; }
  int32_t id() const {
    auto x = json_as<int32_t>(v);
    if (!x || *x < 0)
      fail("expected a token id (an integer in 0..2^31-1), found " +
           v.dump(-1, ' ', false, json::error_handler_t::replace));
    return *x;
  }
  const json& array() const {
    if (!v.is_array()) fail("expected an array, found " + std::string(v.type_name()));
    return v;
  }
  // Refuses keys outside `known`, naming the first unknown one.
  void only_keys(std::initializer_list<const char*> known) const {
    if (!v.is_object()) fail("expected an object, found " + std::string(v.type_name()));
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string& key = it.key();
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
        Field{*it, child_path(key), origin}.fail("unknown field (not supported by this reader)");
      }
    }
  }
  std::string type() const { return (*this)["type"].str(); }
};

void read_added_tokens(Tokenizer& tok, const Field& list) {
  list.array();
  for (size_t i = 0; i < list.v.size(); ++i) {
    const Field t = list.at(i);
    t.only_keys({"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"});
    const int32_t id = t["id"].id();
    const std::string content = t["content"].str();
    const bool is_special = t.boolean_or("special", false);
    const bool normalized = t.boolean_or("normalized", !is_special);
    for (const char* flag : {"single_word", "lstrip", "rstrip"}) {
      if (t.boolean_or(flag, false)) t[flag].fail("true is not supported (only false)");
    }
    if (content.empty()) continue;  // can never match; the crate skips it too
    if (auto it = tok.vocab.find(content); it != tok.vocab.end() && it->second != id) {
      t["id"].fail("'" + content + "' is token " + std::to_string(it->second) + " of model.vocab, not " +
                   std::to_string(id));
    }
    if (auto it = tok.vocab_r.find(id); it != tok.vocab_r.end() && it->second != content) {
      t["id"].fail("id " + std::to_string(id) + " is already model.vocab's '" + it->second + "'");
    }
    if (tok.added_ids.count(content) || tok.added_by_id.count(id)) t.fail("duplicate added token '" + content + "'");
    tok.added_ids[content] = id;
    tok.added_by_id[id] = content;
    if (is_special) tok.special.insert(content);
    (normalized ? tok.normalized_trie : tok.raw_trie).insert(content, id);
    tok.size = std::max<int64_t>(tok.size, int64_t(id) + 1);
  }
}

void read_pre_tokenizer(Tokenizer& tok, const Field& f) {
  const std::string type = f.type();
  if (type == "Sequence") {
    f.only_keys({"type", "pretokenizers"});
    const Field list = f["pretokenizers"];
    list.array();
    for (size_t i = 0; i < list.v.size(); ++i) read_pre_tokenizer(tok, list.at(i));
    return;
  }
  if (tok.byte_level) f.fail("a pre-tokenizer after ByteLevel is not supported (ByteLevel must come last)");
  PreTokenizerStep step;
  if (type == "Split") {
    f.only_keys({"type", "pattern", "behavior", "invert"});
    const Field pattern = f["pattern"];
    pattern.only_keys({"Regex", "String"});
    if (pattern.v.size() != 1) pattern.fail("expected exactly one of 'Regex' or 'String'");
    if (pattern.has("Regex")) {
      const Field regex = pattern["Regex"];
      step.regex = UnicodeRegex::compile(regex.str(), tok.origin + ": " + regex.path);
    } else {
      step.regex = UnicodeRegex::literal(pattern["String"].str());
    }
    const std::string behavior = f["behavior"].str();
    static const std::map<std::string, Behavior> kBehaviors = {{"Removed", Behavior::Removed},
                                                               {"Isolated", Behavior::Isolated},
                                                               {"MergedWithPrevious", Behavior::MergedWithPrevious},
                                                               {"MergedWithNext", Behavior::MergedWithNext},
                                                               {"Contiguous", Behavior::Contiguous}};
    auto it = kBehaviors.find(behavior);
    if (it == kBehaviors.end()) f["behavior"].fail("unknown behavior '" + behavior + "'");
    step.behavior = it->second;
    step.invert = f.boolean_or("invert", false);
  } else if (type == "Digits") {
    f.only_keys({"type", "individual_digits"});
    step.kind = PreTokenizerStep::Digits;
    step.behavior = f.boolean_or("individual_digits", false) ? Behavior::Isolated : Behavior::Contiguous;
  } else if (type == "ByteLevel") {
    f.only_keys({"type", "add_prefix_space", "trim_offsets", "use_regex"});
    f.boolean_or("trim_offsets", true);  // offsets only: no effect on ids
    if (f.boolean_or("use_regex", true)) {
      f.fail("ByteLevel with use_regex true (GPT-2's split) is not supported; expected \"use_regex\": false");
    }
    tok.byte_level = true;
    tok.add_prefix_space = f.boolean_or("add_prefix_space", true);
    return;
  } else {
    f["type"].fail("pre-tokenizer '" + type + "' is not supported (Sequence, Split, Digits, ByteLevel are)");
  }
  tok.steps.push_back(std::move(step));
}

void read_model(Tokenizer& tok, const Field& f) {
  const std::string type = f.type();
  if (type != "BPE") f["type"].fail("model '" + type + "' is not supported (only BPE)");
  f.only_keys({"type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
               "byte_fallback", "ignore_merges", "vocab", "merges"});
  for (const char* unsupported : {"unk_token", "continuing_subword_prefix", "end_of_word_suffix"}) {
    if (f.has(unsupported)) f[unsupported].fail("expected null (this reader supports no such option)");
  }
  if (f.has("dropout") && !(f["dropout"].v.is_number() && f["dropout"].v.get<double>() == 0.0)) {
    f["dropout"].fail("expected null or 0 (BPE dropout is not supported)");
  }
  if (f.boolean_or("byte_fallback", false)) f["byte_fallback"].fail("true is not supported (only false)");
  f.boolean_or("fuse_unk", false);  // only matters with an unk token
  tok.ignore_merges = f.boolean_or("ignore_merges", false);

  const Field v = f["vocab"];
  if (!v.v.is_object()) v.fail("expected an object {token: id}, found " + std::string(v.v.type_name()));
  tok.vocab.reserve(v.v.size());
  tok.vocab_r.reserve(v.v.size());
  for (const auto& [token, value] : v.v.items()) {
    const int32_t id = Field{value, v.path + "['" + token + "']", tok.origin}.id();
    if (!tok.vocab_r.emplace(id, token).second) {
      v.fail("id " + std::to_string(id) + " is used by both '" + tok.vocab_r[id] + "' and '" + token + "'");
    }
    tok.vocab[token] = id;
    tok.size = std::max<int64_t>(tok.size, int64_t(id) + 1);
  }

  const Field m = f["merges"];
  m.array();
  tok.merges.reserve(m.v.size());
  int32_t rank = 0;
  for (size_t i = 0; i < m.v.size(); ++i) {
    const Field e = m.at(i);
    std::string left, right;
    if (e.v.is_string()) {
      const std::string s = e.str();
      if (s.rfind("#version", 0) == 0) continue;  // a merges.txt header line, skipped as the crate does
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        e.fail("expected \"left right\" (one space), found '" + s + "'");
      }
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (e.v.is_array() && e.v.size() == 2) {
      left = e.at(0).str();
      right = e.at(1).str();
    } else {
      e.fail("expected \"left right\" or [left, right]");
    }
    const auto lookup = [&](const std::string& token) {
      auto it = tok.vocab.find(token);
      if (it == tok.vocab.end()) e.fail("token '" + token + "' is not in model.vocab");
      return it->second;
    };
    const int32_t a = lookup(left), b = lookup(right), merged = lookup(left + right);
    // A repeated pair keeps its last rank, as the crate's map insertion does.
    tok.merges[(uint64_t(uint32_t(a)) << 32) | uint32_t(b)] = {rank++, merged};
  }
  for (int b = 0; b < 256; ++b) {
    std::string symbol;
    utf8_append(symbol, hf_internal::byte_symbols().to_char[size_t(b)]);
    auto it = tok.vocab.find(symbol);
    tok.byte_token[size_t(b)] = it == tok.vocab.end() ? -1 : it->second;
  }
}

void read_decoder(Tokenizer& tok, const Field& f) {
  const std::string type = f.type();
  if (type != "ByteLevel") f["type"].fail("decoder '" + type + "' is not supported (only ByteLevel or null)");
  f.only_keys({"type", "add_prefix_space", "trim_offsets", "use_regex"});  // none changes decoding
  tok.byte_level_decoder = true;
}

std::shared_ptr<Tokenizer> read_tokenizer(const json& j, const std::string& origin) {
  auto impl = std::make_shared<Tokenizer>();
  impl->origin = origin;
  const Field root{j, "", origin};
  root.only_keys({"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor",
                  "decoder", "model"});
  if (root.has("version") && root["version"].str() != "1.0") root["version"].fail("expected \"1.0\"");
  for (const char* unsupported : {"truncation", "padding"}) {
    if (root.has(unsupported)) root[unsupported].fail("expected null (encode() neither truncates nor pads)");
  }
  read_model(*impl, root["model"]);
  if (root.has("added_tokens")) read_added_tokens(*impl, root["added_tokens"]);
  if (root.has("normalizer")) {
    const Field n = root["normalizer"];
    const std::string type = n.type();
    if (type != "Sequence" || !n["normalizers"].array().empty()) {
      const std::string name = type == "Sequence" ? n["normalizers"].at(0).type() : type;
      n.fail("normalizer '" + name + "' is not supported (only null or an empty Sequence)");
    }
    n.only_keys({"type", "normalizers"});
  }
  if (root.has("pre_tokenizer")) read_pre_tokenizer(*impl, root["pre_tokenizer"]);
  if (root.has("post_processor")) {
    // Not applied: encode() returns the ids without special tokens and the caller adds them.
    const Field p = root["post_processor"];
    const std::string type = p.type();
    if (type != "TemplateProcessing" && type != "ByteLevel") {
      p.fail("post-processor '" + type + "' is not supported (TemplateProcessing, ByteLevel)");
    }
  }
  if (root.has("decoder")) read_decoder(*impl, root["decoder"]);
  return impl;
}

}  // namespace

HfTokenizer HfTokenizer::from_json(const json& tokenizer, const std::string& origin) {
  HfTokenizer t;
  t.impl_ = read_tokenizer(tokenizer, origin);
  return t;
}

HfTokenizer HfTokenizer::from_file(const std::string& tokenizer_json, const std::string& tokenizer_config_json) {
  const std::shared_ptr<Tokenizer> impl = read_tokenizer(read_json(tokenizer_json), tokenizer_json);
  HfTokenizer t;
  t.impl_ = impl;  // config_token_id looks the tokens up through it
  if (!tokenizer_config_json.empty()) {
    const json config = read_json(tokenizer_config_json);
    if (!config.is_object()) throw UserError("expected a JSON object", tokenizer_config_json);
    impl->bos = t.config_token_id(config, "bos_token", tokenizer_config_json);
    impl->eos = t.config_token_id(config, "eos_token", tokenizer_config_json);
  }
  return t;
}

std::optional<int64_t> HfTokenizer::config_token_id(const json& config, const char* key, const std::string& origin) const {
  if (!config.is_object() || !config.contains(key) || config.at(key).is_null()) return std::nullopt;
  const json& v = config.at(key);
  const json& content = v.is_object() && v.contains("content") ? v.at("content") : v;
  if (!content.is_string()) throw UserError("expected a token string or {\"content\": ...}", origin + ": " + key);
  auto id = token_id(content.get<std::string>());
  if (!id) throw UserError("token '" + content.get<std::string>() + "' is not in the tokenizer", origin + ": " + key);
  return id;
}

}  // namespace unigap
