// HfTokenizer's encoder and decoder: added tokens, the pre-tokenizer steps, BPE, and the
// ByteLevel decoder, each as the Rust `tokenizers` crate runs it (added_vocabulary.rs,
// normalizer.rs's split behaviors, pre_tokenizers/*.rs, models/bpe/word.rs).
#include <algorithm>
#include <queue>

#include "io/hf_tokenizer.h"
#include "io/hf_tokenizer_impl.h"
#include "io/unicode.h"

namespace unigap {
namespace hf_internal {

// Splits one piece by a Split or Digits step: the pattern's matches and the gaps between
// them, folded by the behavior exactly as normalizer.rs's NormalizedString::split does.
std::vector<Span> Tokenizer::split(std::string_view text, const PreTokenizerStep& step) const {
  std::vector<std::pair<Span, bool>> matches;  // (span, is_match), covering the text
  size_t prev = 0;
  const auto add_match = [&](size_t b, size_t e) {
    if (prev != b) matches.push_back({{prev, b}, false});
    matches.push_back({{b, e}, true});
    prev = e;
  };
  if (step.kind == PreTokenizerStep::Split) {
    for (const auto& [b, e] : step.regex->find_all(text)) add_match(b, e);
  } else {
    for (size_t pos = 0; pos < text.size();) {
      char32_t cp = 0;
      const size_t len = utf8_decode(text, pos, cp);
      if (is_unicode_numeric(cp)) add_match(pos, pos + len);
      pos += len;
    }
  }
  if (prev != text.size()) matches.push_back({{prev, text.size()}, false});
  if (step.invert) {
    for (auto& m : matches) m.second = !m.second;
  }

  std::vector<std::pair<Span, bool>> folded;  // (span, remove)
  bool previous_match = false;
  switch (step.behavior) {
    case Behavior::Isolated:
      for (const auto& m : matches) folded.push_back({m.first, false});
      break;
    case Behavior::Removed: folded = matches; break;
    case Behavior::Contiguous:
    case Behavior::MergedWithPrevious:
      for (const auto& [span, is_match] : matches) {
        const bool join =
            step.behavior == Behavior::Contiguous ? is_match == previous_match : (is_match && !previous_match);
        if (join && !folded.empty()) {
          folded.back().first.end = span.end;
        } else {
          folded.push_back({span, false});
        }
        previous_match = is_match;
      }
      break;
    case Behavior::MergedWithNext:
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->second && !previous_match && !folded.empty()) {
          folded.back().first.begin = it->first.begin;
        } else {
          folded.push_back({it->first, false});
        }
        previous_match = it->second;
      }
      std::reverse(folded.begin(), folded.end());
      break;
  }
  std::vector<Span> out;
  for (const auto& [span, remove] : folded) {
    if (!remove && span.end > span.begin) out.push_back(span);
  }
  return out;
}

// BPE on one pre-tokenized piece, as models/bpe/word.rs's merge_all: the pair of lowest
// rank (then leftmost) merges first, and the new pairs it forms join the queue.
void Tokenizer::bpe(std::string_view piece, bool prefix_space, std::vector<int32_t>& out) const {
  std::string symbols_text;  // the piece as the model sees it: ByteLevel symbols, or the text itself
  std::vector<int32_t> ids;
  const auto add_symbol = [&](const std::string& s) {
    auto it = vocab.find(s);
    if (it != vocab.end()) ids.push_back(it->second);  // no token: dropped, as without unk_token
  };
  if (byte_level) {
    const std::string bytes = (prefix_space ? " " : "") + std::string(piece);
    for (unsigned char b : bytes) {
      if (ignore_merges) utf8_append(symbols_text, byte_symbols().to_char[b]);
      if (byte_token[b] >= 0) ids.push_back(byte_token[b]);
    }
  } else {
    if (ignore_merges) symbols_text = piece;
    for (size_t pos = 0; pos < piece.size();) {
      char32_t cp = 0;
      const size_t len = utf8_decode(piece, pos, cp);
      add_symbol(std::string(piece.substr(pos, len)));
      pos += len;
    }
  }
  if (ignore_merges) {
    if (auto it = vocab.find(symbols_text); it != vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }

  struct Symbol {
    int32_t id;
    int32_t prev, next;  // neighbours in the list, -1 at the ends
    bool removed;
  };
  std::vector<Symbol> word;
  for (size_t i = 0; i < ids.size(); ++i)
    word.push_back({ids[i], int32_t(i) - 1, i + 1 < ids.size() ? int32_t(i + 1) : -1, false});
  struct Merge {
    int32_t rank, pos, merged;
    bool operator<(const Merge& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }  // min-heap
  };
  const auto find_merge = [&](int32_t a, int32_t b) -> const std::pair<int32_t, int32_t>* {
    auto it = merges.find((uint64_t(uint32_t(a)) << 32) | uint32_t(b));
    return it == merges.end() ? nullptr : &it->second;
  };
  std::priority_queue<Merge> queue;
  for (size_t i = 0; i + 1 < word.size(); ++i) {
    if (auto m = find_merge(word[i].id, word[i + 1].id)) queue.push({m->first, int32_t(i), m->second});
  }
  while (!queue.empty()) {
    const Merge top = queue.top();
    queue.pop();
    Symbol& left = word[size_t(top.pos)];
    if (left.removed || left.next < 0) continue;
    const Symbol right = word[size_t(left.next)];
    // A stale entry: the pair at this position changed since it was queued.
    const auto* current = find_merge(left.id, right.id);
    if (!current || current->second != top.merged) continue;
    left.id = top.merged;
    word[size_t(left.next)].removed = true;
    left.next = right.next;
    if (right.next >= 0) word[size_t(right.next)].prev = top.pos;
    if (left.prev >= 0) {
      if (auto m = find_merge(word[size_t(left.prev)].id, left.id)) queue.push({m->first, left.prev, m->second});
    }
    if (left.next >= 0) {
      if (auto m = find_merge(left.id, word[size_t(left.next)].id)) queue.push({m->first, top.pos, m->second});
    }
  }
  for (const Symbol& s : word) {
    if (!s.removed) out.push_back(s.id);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  // Added tokens first: non-normalized ones in the raw text, then normalized ones in the
  // pieces between (the normalizer is the identity, so both see the same bytes).
  struct Piece {
    Span span;
    int32_t added = -1;
  };
  std::vector<Piece> pieces = {{{0, text.size()}, -1}};
  for (const TokenTrie* trie : {&raw_trie, &normalized_trie}) {
    if (trie->empty()) continue;
    std::vector<Piece> next;
    for (const Piece& p : pieces) {
      if (p.added >= 0) {
        next.push_back(p);
        continue;
      }
      size_t start = p.span.begin;
      for (size_t pos = p.span.begin; pos < p.span.end;) {
        int32_t id = -1;
        const size_t len = trie->longest(text.substr(0, p.span.end), pos, id);
        if (len == 0) {
          ++pos;
          continue;
        }
        if (start < pos) next.push_back({{start, pos}, -1});
        next.push_back({{pos, pos + len}, id});
        pos += len;
        start = pos;
      }
      if (start < p.span.end) next.push_back({{start, p.span.end}, -1});
    }
    pieces = std::move(next);
  }

  std::vector<int32_t> ids;
  for (const Piece& p : pieces) {
    if (p.added >= 0) {
      ids.push_back(p.added);
      continue;
    }
    std::vector<Span> spans = {p.span};
    for (const PreTokenizerStep& step : steps) {
      std::vector<Span> next;
      for (const Span& s : spans) {
        for (const Span& sub : split(text.substr(s.begin, s.end - s.begin), step)) {
          next.push_back({s.begin + sub.begin, s.begin + sub.end});
        }
      }
      spans = std::move(next);
    }
    for (const Span& s : spans) {
      // ByteLevel's add_prefix_space: every piece that does not start with a space gets one.
      bpe(text.substr(s.begin, s.end - s.begin), byte_level && add_prefix_space && text[s.begin] != ' ', ids);
    }
  }
  return ids;
}

const std::string* Tokenizer::token(int64_t id) const {
  if (id < 0 || id > INT32_MAX) return nullptr;
  if (auto it = added_by_id.find(int32_t(id)); it != added_by_id.end()) return &it->second;
  if (auto it = vocab_r.find(int32_t(id)); it != vocab_r.end()) return &it->second;
  return nullptr;
}

std::optional<int64_t> Tokenizer::token_id(const std::string& token) const {
  if (auto it = added_ids.find(token); it != added_ids.end()) return it->second;
  if (auto it = vocab.find(token); it != vocab.end()) return it->second;
  return std::nullopt;
}

}  // namespace hf_internal

std::vector<int64_t> HfTokenizer::encode(std::string_view text) const {
  const std::vector<int32_t> ids = impl_->encode(text);
  return {ids.begin(), ids.end()};
}

std::vector<std::string> HfTokenizer::pieces(std::string_view text) const {
  std::vector<std::string> out;
  for (int32_t id : impl_->encode(text)) out.push_back(*impl_->token(id));
  return out;
}

std::string HfTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  std::vector<const std::string*> tokens;
  for (int64_t id : ids) {
    const std::string* t = impl_->token(id);
    if (t && !(skip_special && impl_->special.count(*t))) tokens.push_back(t);
  }
  std::string out;
  if (!impl_->byte_level_decoder) {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + *tokens[i];
    return out;
  }
  // Each token whose characters are all byte symbols becomes those bytes; any other token
  // (e.g. "<｜begin▁of▁sentence｜>") is kept as its UTF-8 text, as the crate's decoder does.
  for (const std::string* t : tokens) {
    std::string bytes;
    bool all_symbols = true;
    for (size_t pos = 0; pos < t->size() && all_symbols;) {
      char32_t cp = 0;
      pos += utf8_decode(*t, pos, cp);
      const int b = cp < hf_internal::byte_symbols().to_byte.size() ? hf_internal::byte_symbols().to_byte[cp] : -1;
      if (b < 0) {
        all_symbols = false;
      } else {
        bytes += char(b);
      }
    }
    out += all_symbols ? bytes : *t;
  }
  return utf8_lossy(out);
}

std::optional<int64_t> HfTokenizer::token_id(const std::string& token) const { return impl_->token_id(token); }

std::optional<int64_t> HfTokenizer::bos_id() const { return impl_->bos; }
std::optional<int64_t> HfTokenizer::eos_id() const { return impl_->eos; }
int64_t HfTokenizer::vocab_size() const { return impl_->size; }

}  // namespace unigap
