// Internals of HfTokenizer (io/hf_tokenizer.h), shared by its reader (hf_tokenizer.cpp)
// and its encoder/decoder (hf_tokenizer_encode.cpp). Not an API: include io/hf_tokenizer.h.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "io/unicode_regex.h"

namespace unigap::hf_internal {

// ---- GPT-2's byte <-> character table (ByteLevel) ----
// Printable bytes stand for themselves; the others map to U+0100 onwards, in byte order.
struct ByteSymbols {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 324> to_byte{};  // -1: not a byte symbol
  ByteSymbols() {
    to_byte.fill(-1);
    char32_t extra = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_char[size_t(b)] = printable ? char32_t(b) : extra++;
      to_byte[to_char[size_t(b)]] = int16_t(b);
    }
  }
};
inline const ByteSymbols& byte_symbols() {
  static const ByteSymbols table;
  return table;
}

// ---- Added tokens: a byte trie for leftmost-longest matching ----
class TokenTrie {
 public:
  bool empty() const { return nodes_.size() == 1; }
  void insert(const std::string& s, int32_t id) {
    size_t node = 0;
    for (unsigned char b : s) {
      auto it = nodes_[node].next.find(b);
      if (it == nodes_[node].next.end()) {
        nodes_[node].next[b] = int32_t(nodes_.size());
        node = nodes_.size();
        nodes_.emplace_back();
      } else {
        node = size_t(it->second);
      }
    }
    nodes_[node].id = id;
  }
  // The longest token starting at text[pos]: its length, or 0.
  size_t longest(std::string_view text, size_t pos, int32_t& id) const {
    size_t node = 0, best = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      auto it = nodes_[node].next.find(static_cast<unsigned char>(text[i]));
      if (it == nodes_[node].next.end()) break;
      node = size_t(it->second);
      if (nodes_[node].id >= 0) {
        best = i + 1 - pos;
        id = nodes_[node].id;
      }
    }
    return best;
  }

 private:
  struct Node {
    std::map<unsigned char, int32_t> next;
    int32_t id = -1;
  };
  std::vector<Node> nodes_ = std::vector<Node>(1);
};

// ---- Pre-tokenizer steps ----
enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct PreTokenizerStep {
  enum Kind { Split, Digits } kind = Split;
  std::optional<UnicodeRegex> regex;  // Split
  Behavior behavior = Behavior::Isolated;
  bool invert = false;
};

// A piece of the text, as byte offsets [begin, end).
struct Span {
  size_t begin = 0, end = 0;
};

// Everything tokenizer.json declares, ready to run. Immutable once read.
struct Tokenizer {
  std::string origin;  // the file, for messages
  // Added tokens by id and by content; tries of the non-normalized and normalized ones.
  std::unordered_map<int32_t, std::string> added_by_id;
  std::unordered_map<std::string, int32_t> added_ids;
  std::unordered_set<std::string> special;  // contents of special tokens (decode skips these strings)
  TokenTrie raw_trie, normalized_trie;
  // Pre-tokenizer.
  std::vector<PreTokenizerStep> steps;
  bool byte_level = false, add_prefix_space = false;
  // BPE model.
  std::unordered_map<std::string, int32_t> vocab;
  std::unordered_map<int32_t, std::string> vocab_r;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;  // (left, right) -> (rank, merged id)
  std::array<int32_t, 256> byte_token{};                             // id of each byte's symbol, -1: none
  bool ignore_merges = false;
  // Decoder and the ids the loader gives.
  bool byte_level_decoder = false;
  int64_t size = 0;
  std::optional<int64_t> bos, eos;

  // One Split or Digits step on one piece: the sub-pieces it keeps, relative to `text`.
  std::vector<Span> split(std::string_view text, const PreTokenizerStep& step) const;
  // BPE of one pre-tokenized piece, appended to `out`.
  void bpe(std::string_view piece, bool prefix_space, std::vector<int32_t>& out) const;
  std::vector<int32_t> encode(std::string_view text) const;
  const std::string* token(int64_t id) const;  // added tokens first, as the crate looks ids up
  std::optional<int64_t> token_id(const std::string& token) const;
};

}  // namespace unigap::hf_internal
