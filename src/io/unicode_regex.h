// A small regular-expression engine over Unicode code points, for the Split patterns of
// HF tokenizer.json files (std::regex works on bytes or wchar_t and knows no code points
// beyond them). HF compiles these patterns with Oniguruma (Ruby syntax); this engine
// accepts the subset those tokenizers use and refuses the rest by name:
//   literal characters, `.` (any character but \n), escapes \t \n \r \f \v \a \e \s \S,
//   \uHHHH, \xHH, \x{H...}, an escaped punctuation or non-ASCII character (itself);
//   classes [...] and [^...] of characters, ranges and \s \S;
//   quantifiers ? * + {m} {m,} {m,n} {,n} (greedy);
//   anchors ^ and $, with Oniguruma's Ruby meaning: start/end of a line (after/before \n).
// Not accepted: groups, alternation, lazy or possessive quantifiers, \d \w \p{..} and the
// other class escapes, back-references, look-around, nested classes.
// Matching is leftmost-first with greedy quantifiers, as Oniguruma's find_iter (a Pike VM:
// time linear in the text for a given pattern, so no input can make it backtrack for ever).
// A repetition count is at most 1000 and a pattern at most 4096 instructions once expanded.
// Text is decoded as io/unicode.h does: an invalid byte is a character of its own that only
// negated sets (`.`, \S, [^...]) match.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace unigap {

class UnicodeRegex {
 public:
  // Compiles `pattern` (UTF-8). Throws UserError("<where>: ...") naming the construct and
  // its position (in code points) when the pattern is malformed or uses unsupported syntax.
  static UnicodeRegex compile(std::string_view pattern, const std::string& where);
  // A pattern that matches `literal` exactly (HF's pattern.String); the empty string
  // matches the empty string everywhere.
  static UnicodeRegex literal(std::string_view literal);

  // Byte ranges [begin, end) of the successive non-overlapping matches in `text`, as
  // Oniguruma's find_iter gives them: after a match the search resumes at its end, and an
  // empty match right where the previous match ended is skipped by one character.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  struct CharSet {
    std::vector<std::pair<char32_t, char32_t>> ranges;  // sorted, disjoint, inclusive
    bool contains(char32_t c) const;
  };
  enum class Op : uint8_t { Char, Split, Jump, LineStart, LineEnd, Match };
  struct Inst {
    Op op;
    int32_t x = 0;  // Char: index into sets_; Split/Jump: target (Split prefers x)
    int32_t y = 0;  // Split: the other target
  };
  struct Searcher;

  // Fills first_sets_: the sets a match can begin with, unless an anchor or an empty
  // match comes first (then every position must be tried).
  void find_first_sets();
  bool may_start_with(char32_t c) const;

  std::vector<Inst> program_;
  std::vector<CharSet> sets_;
  std::vector<int32_t> first_sets_;
  bool skip_ahead_ = false;  // first_sets_ is complete: positions no first set matches cannot start a match
};

}  // namespace unigap
