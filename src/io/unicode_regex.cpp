// The pattern parser (a flat sequence of quantified character sets and anchors), its
// compilation into Pike-VM instructions, and the leftmost-first search.
#include "io/unicode_regex.h"

#include <algorithm>

#include "common/error.h"
#include "io/unicode.h"

namespace unigap {

namespace {

// Bounds that keep a hostile pattern from building a huge program: search time is
// (program size) x (text length).
constexpr int kMaxRepeat = 1000;
constexpr size_t kMaxProgram = 4096;
constexpr int kUnbounded = -1;
// Every decoded character, invalid bytes included (see io/unicode.h).
constexpr char32_t kMaxChar = kInvalidUtf8Byte + 0xFF;

using Ranges = std::vector<std::pair<char32_t, char32_t>>;

Ranges normalized(Ranges r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (const auto& [lo, hi] : r) {
    if (!out.empty() && lo <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, hi);
    } else {
      out.emplace_back(lo, hi);
    }
  }
  return out;
}

Ranges complement(const Ranges& sorted) {
  Ranges out;
  char32_t next = 0;
  for (const auto& [lo, hi] : sorted) {
    if (lo > next) out.emplace_back(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMaxChar) out.emplace_back(next, kMaxChar);
  return out;
}

const Ranges& white_space() {
  static const Ranges ranges = [] {
    Ranges r;
    for (char32_t c = 0; c <= 0x3000; ++c) {
      if (is_unicode_white_space(c)) r.emplace_back(c, c);
    }
    return normalized(r);
  }();
  return ranges;
}

std::string describe(char32_t c) {
  std::string s = "'";
  if (c <= kMaxUnicode) utf8_append(s, c);
  return s + "'";
}

// One element of the flat pattern: a character set repeated min..max times, or an anchor.
struct RegexItem {
  enum Kind { Set, LineStart, LineEnd } kind = Set;
  Ranges set;
  int min = 1, max = 1;
};

struct Parser {
  std::vector<char32_t> p;
  size_t i = 0;
  const std::string& where;

  [[noreturn]] void fail(const std::string& what, size_t at) const {
    throw UserError("regex position " + std::to_string(at) + ": " + what, where,
                    "the tokenizer reader supports literal characters, classes [...], \\s \\S \\uHHHH, "
                    "? * + {m,n}, ^ $; no groups, alternation or \\p{..}");
  }
  bool at_end() const { return i >= p.size(); }

  uint32_t hex_digits(size_t count_min, size_t count_max, size_t at) {
    uint32_t v = 0;
    size_t n = 0;
    while (n < count_max && !at_end()) {
      const char32_t c = p[i];
      int d = -1;
      if (c >= '0' && c <= '9') d = int(c - '0');
      if (c >= 'a' && c <= 'f') d = int(c - 'a' + 10);
      if (c >= 'A' && c <= 'F') d = int(c - 'A' + 10);
      if (d < 0) break;
      v = v * 16 + uint32_t(d);
      if (v > kMaxUnicode) fail("code point above U+10FFFF in a hex escape", at);
      ++i;
      ++n;
    }
    if (n < count_min) fail("expected " + std::to_string(count_min) + " hex digits in an escape", at);
    return v;
  }

  char32_t code_point_escape(size_t at) {
    char32_t v = 0;
    if (p[i] == 'u') {
      ++i;
      v = hex_digits(4, 4, at);
    } else {  // 'x'
      ++i;
      if (!at_end() && p[i] == '{') {
        ++i;
        v = hex_digits(1, 8, at);
        if (at_end() || p[i] != '}') fail("expected '}' closing \\x{...}", at);
        ++i;
      } else {
        v = hex_digits(1, 2, at);
      }
    }
    if (v >= 0xD800 && v <= 0xDFFF) fail("a surrogate code point is not a character", at);
    return v;
  }

  // After a backslash: a set (\s \S) or a single character.
  Ranges escape() {
    const size_t at = i - 1;
    if (at_end()) fail("pattern ends with a lone backslash", at);
    const char32_t c = p[i];
    switch (c) {
      case 's': ++i; return white_space();
      case 'S': ++i; return complement(white_space());
      case 't': ++i; return {{'\t', '\t'}};
      case 'n': ++i; return {{'\n', '\n'}};
      case 'r': ++i; return {{'\r', '\r'}};
      case 'f': ++i; return {{'\f', '\f'}};
      case 'v': ++i; return {{'\v', '\v'}};
      case 'a': ++i; return {{'\a', '\a'}};
      case 'e': ++i; return {{0x1B, 0x1B}};
      case 'u':
      case 'x': {
        const char32_t v = code_point_escape(at);
        return {{v, v}};
      }
      default: break;
    }
    const bool ascii_alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (ascii_alnum) fail("escape '\\" + std::string(1, char(c)) + "' is not supported", at);
    ++i;
    return {{c, c}};  // an escaped punctuation or non-ASCII character stands for itself
  }

  Ranges char_class() {
    const size_t open = i - 1;
    bool negate = false;
    if (!at_end() && p[i] == '^') {
      negate = true;
      ++i;
    }
    Ranges set;
    bool first = true;
    for (;;) {
      if (at_end()) fail("unterminated character class", open);
      const size_t at = i;
      char32_t c = p[i];
      if (c == ']' && !first) {
        ++i;
        break;
      }
      first = false;
      if (c == '[') fail("nested character classes are not supported", at);
      if (c == '&' && i + 1 < p.size() && p[i + 1] == '&') fail("class intersection '&&' is not supported", at);
      Ranges item;
      ++i;
      if (c == '\\') {
        item = escape();
      } else {
        item = {{c, c}};
      }
      // A range needs a single character on both sides; '-' first or last is literal.
      if (!at_end() && p[i] == '-' && i + 1 < p.size() && p[i + 1] != ']') {
        if (item.size() != 1 || item[0].first != item[0].second) fail("a class escape cannot start a range", at);
        const size_t dash = i;
        ++i;
        Ranges last = {{p[i], p[i]}};
        if (p[i] == '[') fail("nested character classes are not supported", i);
        ++i;
        if (p[i - 1] == '\\') last = escape();
        if (last.size() != 1 || last[0].first != last[0].second) fail("a class escape cannot end a range", dash);
        if (last[0].first < item[0].first) {
          fail("range " + describe(item[0].first) + "-" + describe(last[0].first) + " is out of order", dash);
        }
        item = {{item[0].first, last[0].first}};
      }
      set.insert(set.end(), item.begin(), item.end());
    }
    set = normalized(set);
    return negate ? complement(set) : set;
  }

  int number(size_t at) {
    int v = 0;
    bool any = false;
    while (!at_end() && p[i] >= '0' && p[i] <= '9') {
      v = v * 10 + int(p[i] - '0');
      if (v > kMaxRepeat) fail("repetition count above " + std::to_string(kMaxRepeat), at);
      any = true;
      ++i;
    }
    return any ? v : kUnbounded;
  }

  // Reads an optional quantifier into item.min/max.
  void quantifier(RegexItem& item) {
    if (at_end()) return;
    const size_t at = i;
    const char32_t c = p[i];
    if (c == '?' || c == '*' || c == '+') {
      ++i;
      item.min = c == '+' ? 1 : 0;
      item.max = c == '?' ? 1 : kUnbounded;
    } else if (c == '{') {
      ++i;
      const int lo = number(at);
      int hi = lo;
      if (!at_end() && p[i] == ',') {
        ++i;
        hi = number(at);
      }
      if (at_end() || p[i] != '}' || (lo == kUnbounded && hi == kUnbounded)) {
        fail("expected {m}, {m,}, {m,n} or {,n}", at);
      }
      ++i;
      item.min = lo == kUnbounded ? 0 : lo;
      item.max = hi;
      if (hi != kUnbounded && hi < item.min) fail("repetition {m,n} with n < m", at);
    } else {
      return;
    }
    if (item.kind != RegexItem::Set) fail("an anchor cannot be repeated", at);
    if (!at_end() && (p[i] == '?' || p[i] == '+' || p[i] == '*' || p[i] == '{')) {
      fail("lazy, possessive or repeated quantifiers are not supported", i);
    }
  }

  std::vector<RegexItem> parse() {
    std::vector<RegexItem> items;
    while (!at_end()) {
      const size_t at = i;
      const char32_t c = p[i++];
      RegexItem item;
      switch (c) {
        case '[': item.set = char_class(); break;
        case '\\': item.set = normalized(escape()); break;
        case '.': item.set = complement({{'\n', '\n'}}); break;
        case '^': item.kind = RegexItem::LineStart; break;
        case '$': item.kind = RegexItem::LineEnd; break;
        case '(':
        case ')': fail("groups are not supported", at);
        case '|': fail("alternation '|' is not supported", at);
        case '?':
        case '*':
        case '+':
        case '{': fail("quantifier " + describe(c) + " with nothing to repeat", at);
        default: item.set = {{c, c}}; break;
      }
      quantifier(item);
      items.push_back(std::move(item));
    }
    return items;
  }
};

}  // namespace

bool UnicodeRegex::CharSet::contains(char32_t c) const {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), c,
                             [](char32_t v, const std::pair<char32_t, char32_t>& r) { return v < r.first; });
  return it != ranges.begin() && c <= std::prev(it)->second;
}

// Each set item becomes `min` copies of Char, then either a loop (unbounded) or max - min
// optional copies that all exit to the same place.
UnicodeRegex UnicodeRegex::compile(std::string_view pattern, const std::string& where) {
  Parser parser{{}, 0, where};
  for (size_t pos = 0; pos < pattern.size();) {
    char32_t cp = 0;
    pos += utf8_decode(pattern, pos, cp);
    if (cp > kMaxUnicode) throw UserError("regex is not valid UTF-8", where);
    parser.p.push_back(cp);
  }
  const std::vector<RegexItem> items = parser.parse();

  UnicodeRegex re;
  auto& prog = re.program_;
  auto emit = [&](Op op, int32_t x = 0, int32_t y = 0) {
    if (prog.size() >= kMaxProgram) {
      throw UserError(
          "regex too large: more than " + std::to_string(kMaxProgram) + " instructions once repetitions are expanded",
          where);
    }
    prog.push_back({op, x, y});
    return int32_t(prog.size() - 1);
  };
  for (const RegexItem& item : items) {
    if (item.kind != RegexItem::Set) {
      emit(item.kind == RegexItem::LineStart ? Op::LineStart : Op::LineEnd);
      continue;
    }
    const int32_t set = int32_t(re.sets_.size());
    re.sets_.push_back({item.set});
    for (int k = 0; k < item.min; ++k) emit(Op::Char, set);
    if (item.max == kUnbounded) {
      const int32_t loop = emit(Op::Split, 0, 0);
      emit(Op::Char, set);
      emit(Op::Jump, loop);
      prog[size_t(loop)].x = loop + 1;
      prog[size_t(loop)].y = int32_t(prog.size());
      continue;
    }
    std::vector<int32_t> exits;
    for (int k = item.min; k < item.max; ++k) {
      exits.push_back(emit(Op::Split, 0, 0));
      prog[size_t(exits.back())].x = exits.back() + 1;
      emit(Op::Char, set);
    }
    for (int32_t e : exits) prog[size_t(e)].y = int32_t(prog.size());
  }
  emit(Op::Match);
  re.find_first_sets();
  return re;
}

void UnicodeRegex::find_first_sets() {
  std::vector<bool> seen(program_.size(), false);
  std::vector<int32_t> stack = {0};
  skip_ahead_ = true;
  while (!stack.empty()) {
    const int32_t pc = stack.back();
    stack.pop_back();
    if (seen[size_t(pc)]) continue;
    seen[size_t(pc)] = true;
    const Inst& in = program_[size_t(pc)];
    switch (in.op) {
      case Op::Char: first_sets_.push_back(in.x); break;
      case Op::Jump: stack.push_back(in.x); break;
      case Op::Split:
        stack.push_back(in.x);
        stack.push_back(in.y);
        break;
      default: skip_ahead_ = false; break;  // an anchor or Match
    }
  }
}

bool UnicodeRegex::may_start_with(char32_t c) const {
  return std::any_of(first_sets_.begin(), first_sets_.end(), [&](int32_t s) { return sets_[size_t(s)].contains(c); });
}

UnicodeRegex UnicodeRegex::literal(std::string_view literal) {
  UnicodeRegex re;
  for (size_t pos = 0; pos < literal.size();) {
    char32_t cp = 0;
    pos += utf8_decode(literal, pos, cp);
    re.program_.push_back({Op::Char, int32_t(re.sets_.size()), 0});
    re.sets_.push_back({{{cp, cp}}});
  }
  re.program_.push_back({Op::Match, 0, 0});
  re.find_first_sets();
  return re;
}

// Pike VM: threads in priority order; a thread that reaches Match ends every thread of
// lower priority (leftmost-first), and new threads start at each position only until a
// match is found (leftmost).
struct UnicodeRegex::Searcher {
  const UnicodeRegex& re;
  const std::vector<char32_t>& text;
  struct Thread {
    int32_t pc;
    size_t start;
  };
  std::vector<Thread> current, next;
  std::vector<uint32_t> mark;  // generation in which an instruction was last added to a list
  std::vector<int32_t> stack;
  uint32_t generation = 0;

  Searcher(const UnicodeRegex& r, const std::vector<char32_t>& t) : re(r), text(t), mark(r.program_.size(), 0) {}

  // Adds pc and everything reachable from it without consuming input, in priority order.
  void add(std::vector<Thread>& list, int32_t pc, size_t start, size_t pos) {
    stack.assign(1, pc);
    while (!stack.empty()) {
      const int32_t at = stack.back();
      stack.pop_back();
      if (mark[size_t(at)] == generation) continue;
      mark[size_t(at)] = generation;
      const Inst& in = re.program_[size_t(at)];
      switch (in.op) {
        case Op::Jump: stack.push_back(in.x); break;
        case Op::Split:
          stack.push_back(in.y);
          stack.push_back(in.x);
          break;
        case Op::LineStart:
          if (pos == 0 || text[pos - 1] == '\n') stack.push_back(at + 1);
          break;
        case Op::LineEnd:
          if (pos == text.size() || text[pos] == '\n') stack.push_back(at + 1);
          break;
        case Op::Char:
        case Op::Match: list.push_back({at, start}); break;
      }
    }
  }

  // The leftmost-first match starting at or after `from`, as character indices.
  bool search(size_t from, size_t& match_begin, size_t& match_end) {
    bool matched = false;
    current.clear();
    ++generation;
    for (size_t pos = from; pos <= text.size(); ++pos) {
      if (!matched && current.empty() && re.skip_ahead_) {
        size_t start = pos;
        while (start < text.size() && !re.may_start_with(text[start])) ++start;
        if (start != pos) {
          pos = start;
          ++generation;  // the marks of the list were for the old position
        }
      }
      if (!matched) add(current, 0, pos, pos);
      if (current.empty() && matched) break;
      next.clear();
      ++generation;
      for (const Thread& t : current) {
        const Inst& in = re.program_[size_t(t.pc)];
        if (in.op == Op::Match) {
          matched = true;
          match_begin = t.start;
          match_end = pos;
          break;
        }
        if (pos < text.size() && re.sets_[size_t(in.x)].contains(text[pos])) add(next, t.pc + 1, t.start, pos + 1);
      }
      std::swap(current, next);
    }
    return matched;
  }
};

std::vector<std::pair<size_t, size_t>> UnicodeRegex::find_all(std::string_view text) const {
  std::vector<char32_t> chars;
  std::vector<size_t> offsets;  // byte offset of each character, and of the end
  chars.reserve(text.size());
  offsets.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    char32_t cp = 0;
    offsets.push_back(pos);
    pos += utf8_decode(text, pos, cp);
    chars.push_back(cp);
  }
  offsets.push_back(text.size());

  std::vector<std::pair<size_t, size_t>> out;
  Searcher searcher(*this, chars);
  size_t from = 0;
  bool have_last = false;
  size_t last_end = 0;
  while (from <= chars.size()) {
    size_t b = 0, e = 0;
    if (!searcher.search(from, b, e)) break;
    if (b == e && have_last && last_end == e) {
      ++from;  // an empty match where the last one ended: try one character further
      continue;
    }
    out.emplace_back(offsets[b], offsets[e]);
    from = e;
    have_last = true;
    last_end = e;
  }
  return out;
}

}  // namespace unigap
