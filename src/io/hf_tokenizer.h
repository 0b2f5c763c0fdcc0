// A Hugging Face `tokenizer.json` byte-level BPE tokenizer (Janus-Pro's text tokenizer is
// DeepSeek-LLM's), torch-free. It runs the pipeline the file declares, read step by step
// from the file, with the semantics of the Rust `tokenizers` crate:
//   1. added tokens are cut out of the raw text first (leftmost-longest; tokens with
//      "normalized": false before the normalizer, the others after it);
//   2. normalizer: none (null or an empty Sequence);
//   3. pre-tokenizer: Split (Regex or String pattern, any behavior, invert), Digits
//      (numeric = Rust's char::is_numeric), ByteLevel (last; use_regex false);
//   4. model: BPE, merges applied by rank; a character with no token is dropped, as the
//      crate does without unk_token;
//   5. decoder: ByteLevel (or null).
// encode() adds no special tokens: the caller prepends bos_id() (transformers' Llama
// tokenizer adds BOS from tokenizer_config.json, whatever post-processor the file names).
// Anything else in the file is refused with a UserError naming the file and the field.
//
// Text is any byte string, and encode never fails: well-formed UTF-8 is tokenized as HF
// does; a byte outside well-formed UTF-8 is a character of its own (io/unicode.h) that no
// Split pattern names, and ByteLevel encodes it as its byte symbol (dropped, like any
// character without a token, if the vocabulary lacks that symbol: the real DeepSeek one
// lacks the symbols of C0 C1 F5..FF). decode() repairs invalid UTF-8 in its output with
// U+FFFD, as the crate's ByteLevel decoder does.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/jsonl.h"

namespace unigap {

namespace hf_internal {
struct Tokenizer;  // io/hf_tokenizer_impl.h
}

class HfTokenizer {
 public:
  // Reads tokenizer.json; with `tokenizer_config_json` also that file's bos_token/eos_token.
  static HfTokenizer from_file(const std::string& tokenizer_json, const std::string& tokenizer_config_json = "");
  // The same from parsed JSON; `origin` names the source in errors.
  static HfTokenizer from_json(const json& tokenizer, const std::string& origin);

  std::vector<int64_t> encode(std::string_view text) const;      // no special tokens added
  std::vector<std::string> pieces(std::string_view text) const;  // the token strings of encode()
  // Ids with no token are skipped, as HF does (an LM head may be wider than the vocabulary).
  std::string decode(const std::vector<int64_t>& ids, bool skip_special) const;

  std::optional<int64_t> token_id(const std::string& token) const;  // added tokens, then the vocab
  std::optional<int64_t> bos_id() const;  // tokenizer_config.json's bos_token, when that file was read
  // The id of the token a tokenizer_config.json or special_tokens_map.json names under `key`
  // (a string, or transformers' {"content": ...}); none when the key is absent or null. A token
  // not in this tokenizer, or another JSON type, is a UserError naming `origin: key`.
  std::optional<int64_t> config_token_id(const json& config, const char* key, const std::string& origin) const;
  std::optional<int64_t> eos_id() const;  // tokenizer_config.json's eos_token, when that file was read
  int64_t vocab_size() const;             // 1 + the largest id, added tokens included

 private:
  HfTokenizer() = default;  // only the readers make one, so impl_ is never null
  std::shared_ptr<const hf_internal::Tokenizer> impl_;  // immutable once loaded, so copies share it
};

}  // namespace unigap
