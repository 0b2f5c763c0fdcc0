// Tests for io/hf_tokenizer and its regex engine (io/unicode_regex): every reference case of
// tests/data/janus (the tiny tokenizer's 33 npm cases and 4 Rust-derived ones; the real
// DeepSeek-LLM vocabulary's 46 HF-generated and 37 npm cases), special tokens by string,
// the Split behaviors against the Rust crate's own examples, invalid UTF-8, one test per
// refused field, and load/encode timings on the real vocabulary.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <random>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/hf_tokenizer.h"
#include "io/unicode.h"
#include "io/unicode_regex.h"
#include "core_test_util.h"

namespace unigap {
namespace {

const std::string kJanus = std::string(UNIGAP_TEST_DATA_DIR) + "/janus/";
const std::string kTinyJson = kJanus + "tiny/tokenizer.json";
const std::string kRealJson = kJanus + "deepseek-llm-vocab/tokenizer.json";

// Loaded once: the real vocabulary takes a few tenths of a second.
const HfTokenizer& tiny() {
  static const HfTokenizer t = HfTokenizer::from_file(kTinyJson, kJanus + "tiny/tokenizer_config.json");
  return t;
}
const HfTokenizer& real() {
  static const HfTokenizer t = HfTokenizer::from_file(kRealJson, kJanus + "deepseek-llm-vocab/tokenizer_config.json");
  return t;
}

std::vector<int64_t> ids_of(const json& v) { return v.get<std::vector<int64_t>>(); }

std::vector<int64_t> with_bos(const HfTokenizer& t, const std::string& text) {
  std::vector<int64_t> ids = {*t.bos_id()};
  for (int64_t id : t.encode(text)) ids.push_back(id);
  return ids;
}

// ---- Reference cases ----

TEST(HfTokenizer, TinyCasesMatchTheReference) {
  const json cases = read_json(kJanus + "reference/tokenizer_cases.json").at("cases");
  ASSERT_EQ(cases.size(), 33u);
  int passed = 0;
  for (const json& c : cases) {
    const std::string text = c.at("text");
    SCOPED_TRACE(json(text).dump());
    std::vector<std::string> tokens = c.at("tokens").get<std::vector<std::string>>();
    tokens.erase(tokens.begin());  // the BOS the reference added
    const std::vector<int64_t> ids = ids_of(c.at("ids")), plain = ids_of(c.at("ids_no_special"));
    bool ok = true;
    const auto check = [&](bool same) {
      EXPECT_TRUE(same);
      ok = ok && same;
    };
    check(with_bos(tiny(), text) == ids);
    check(tiny().encode(text) == plain);
    check(tiny().pieces(text) == tokens);
    if (c.contains("decode")) check(tiny().decode(plain, false) == c.at("decode").get<std::string>());
    if (c.contains("decode_skip_special"))
      check(tiny().decode(ids, true) == c.at("decode_skip_special").get<std::string>());
    passed += ok;
  }
  std::printf("tokenizer_cases.json cases: %d of %zu pass\n", passed, cases.size());
}

// Strings with non-ASCII numerics: the Rust pipeline's Digits isolates every char::is_numeric
// character; the reference ids are the concatenated encodings of the pieces it isolates.
TEST(HfTokenizer, TinyDerivedCasesFollowTheRustDigits) {
  const json cases = read_json(kJanus + "reference/tokenizer_cases.json").at("derived_cases");
  ASSERT_EQ(cases.size(), 4u);
  for (const json& c : cases) {
    const std::string text = c.at("text");
    SCOPED_TRACE(json(text).dump());
    EXPECT_EQ(with_bos(tiny(), text), ids_of(c.at("ids")));
    EXPECT_EQ(tiny().encode(text), ids_of(c.at("ids_no_special")));
    std::vector<int64_t> from_pieces;
    for (const json& piece : c.at("rust_pieces")) {
      for (int64_t id : tiny().encode(piece.get<std::string>())) from_pieces.push_back(id);
    }
    EXPECT_EQ(from_pieces, ids_of(c.at("ids_no_special")));
    EXPECT_EQ(tiny().decode(ids_of(c.at("ids_no_special")), false), c.at("decode"));
  }
}

TEST(HfTokenizer, RealVocabularyUpstreamCases) {
  const json cases = read_json(kJanus + "deepseek-llm-vocab/cases.json").at("upstream_cases").at("cases");
  ASSERT_EQ(cases.size(), 46u);
  int passed = 0;
  for (const json& c : cases) {
    const std::string text = c.at("text");
    const auto got = real().encode(text);
    EXPECT_EQ(got, ids_of(c.at("ids_no_special"))) << json(text).dump();
    passed += got == ids_of(c.at("ids_no_special"));
  }
  std::printf("deepseek-llm-vocab upstream (HF-generated) cases: %d of %zu pass\n", passed, cases.size());
}

TEST(HfTokenizer, RealVocabularyNpmCases) {
  const json cases = read_json(kJanus + "deepseek-llm-vocab/cases.json").at("npm_cases").at("cases");
  ASSERT_EQ(cases.size(), 37u);
  int passed = 0;
  for (const json& c : cases) {
    const std::string text = c.at("text");
    const bool ok =
        real().encode(text) == ids_of(c.at("ids_no_special")) && with_bos(real(), text) == ids_of(c.at("ids"));
    EXPECT_TRUE(ok) << json(text).dump();
    passed += ok;
  }
  std::printf("deepseek-llm-vocab npm cases: %d of %zu pass\n", passed, cases.size());
}

TEST(HfTokenizer, RealVocabularyPublishedVectors) {
  EXPECT_EQ(with_bos(real(), "Hello, how are you?"), (std::vector<int64_t>{100000, 17464, 11, 946, 418, 340, 30}));
  // ü is an added (non-special) token, matched in the raw text before the byte-level split.
  const std::vector<int64_t> fuehrer = {37, 100014, 71, 6245};
  EXPECT_EQ(real().encode("Führer"), fuehrer);
  // The crate's ByteLevel decoder turns the added token "ü" into its byte-symbol byte 0xFC,
  // which is not UTF-8 alone: U+FFFD, as transformers' fast tokenizer decodes it.
  EXPECT_EQ(real().decode(fuehrer, false), "F\xEF\xBF\xBDhrer");
  EXPECT_EQ(real().decode({100000, 17464, 11, 946, 418, 340, 30}, true), "Hello, how are you?");
  EXPECT_EQ(real().decode({100000, 17464}, false), "<｜begin▁of▁sentence｜>Hello");
}

TEST(HfTokenizer, SpecialTokensByString) {
  EXPECT_EQ(tiny().token_id("<｜begin▁of▁sentence｜>"), 556);
  EXPECT_EQ(tiny().token_id("<｜end▁of▁sentence｜>"), 557);
  EXPECT_EQ(tiny().token_id("<｜▁pad▁｜>"), 558);
  EXPECT_EQ(tiny().token_id("<begin_of_image>"), 559);
  EXPECT_EQ(tiny().token_id("<image_placeholder>"), 567);
  EXPECT_EQ(tiny().token_id("<|User|>"), 568);
  EXPECT_EQ(tiny().token_id("<|Assistant|>"), 569);
  EXPECT_EQ(tiny().token_id("Ġthe"), 260);  // a vocabulary token
  EXPECT_EQ(tiny().token_id("<|nope|>"), std::nullopt);
  EXPECT_EQ(tiny().bos_id(), 556);
  EXPECT_EQ(tiny().eos_id(), 557);
  EXPECT_EQ(tiny().vocab_size(), 570);

  EXPECT_EQ(real().bos_id(), 100000);
  EXPECT_EQ(real().eos_id(), 100001);
  EXPECT_EQ(real().token_id("ü"), 100014);
  EXPECT_EQ(real().token_id("<image_placeholder>"), std::nullopt);  // not in this file
  EXPECT_EQ(real().vocab_size(), 100015);

  // Without tokenizer_config.json there is no BOS: it comes from the loader.
  EXPECT_EQ(HfTokenizer::from_file(kTinyJson).bos_id(), std::nullopt);
  // Ids with no token (the LM head is wider than the vocabulary) are skipped.
  EXPECT_EQ(tiny().decode({457, 598, -1, 1 << 30}, false), "Hello");
}

// ---- Invalid UTF-8 ----

TEST(HfTokenizer, InvalidUtf8IsEncodedBytewise) {
  // Each byte outside well-formed UTF-8 is a character of its own, encoded as its byte symbol.
  EXPECT_EQ(tiny().encode("\xff"), std::vector<int64_t>{*tiny().token_id("ÿ")});
  EXPECT_EQ(tiny().pieces("a\xE4\xB8"), (std::vector<std::string>{"a", "ä", "¸"}));
  for (const std::string s : {"\xff",
                              "a\xE4\xB8"
                              "b",
                              "\xC0\x80", "\xED\xA0\x80", "\x80x", "\xF4\x90\x80\x80", "ok\xF0\x9F\x98"}) {
    SCOPED_TRACE(json(s).dump(-1, ' ', false, json::error_handler_t::replace));
    // decode returns the bytes with invalid UTF-8 replaced, as HF's decoder does.
    EXPECT_EQ(tiny().decode(tiny().encode(s), false), utf8_lossy(s));
  }
  EXPECT_EQ(tiny().decode(tiny().encode("a\xE4\xB8"
                                        "b"),
                          false),
            "a\xEF\xBF\xBD"
            "b");
  // The real vocabulary has no token for the symbol of byte 0xFF (the added "ÿ" matches
  // only the UTF-8 text "ÿ"): such a byte is dropped, as the crate drops a character with
  // no token when the model has no unk_token.
  EXPECT_EQ(real().encode("\xff"), std::vector<int64_t>{});
  // It still separates the letters around it, being no letter itself.
  EXPECT_EQ(real().encode("a\xff"
                          "b"),
            (std::vector<int64_t>{*real().token_id("a"), *real().token_id("b")}));

  // Random byte strings: never an exception, and a byte-exact round trip up to the repair.
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 24, '\0');
    for (char& ch : s) ch = char(rng() % 4 == 0 ? ' ' + rng() % 95 : rng() % 256);
    std::vector<int64_t> ids;
    ASSERT_NO_THROW(ids = tiny().encode(s));
    ASSERT_EQ(tiny().decode(ids, false), utf8_lossy(s));
    ASSERT_NO_THROW(real().encode(s));
  }
}

TEST(HfTokenizer, Utf8LossyReplacesMaximalSubparts) {
  EXPECT_EQ(utf8_lossy("abc"), "abc");
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98"), "\xEF\xBF\xBD");                          // one truncated sequence
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate: 3 bytes
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
  EXPECT_EQ(utf8_lossy("\xE4\xB8"
                       "a"),
            "\xEF\xBF\xBD"
            "a");
}

// ---- Split behaviors, on the crate's own examples ----

// A tokenizer whose model returns each pre-tokenized piece whole (ignore_merges, every
// expected piece in the vocabulary), so pieces() shows the pre-tokenizer's output.
HfTokenizer piece_tokenizer(const json& pre_tokenizer, const std::string& text,
                            const std::vector<std::string>& expected) {
  json vocab = json::object();
  auto add = [&](const std::string& s) {
    if (!vocab.contains(s)) vocab[s] = int(vocab.size());
  };
  for (size_t pos = 0; pos < text.size();) {
    char32_t cp = 0;
    const size_t len = utf8_decode(text, pos, cp);
    add(text.substr(pos, len));
    pos += len;
  }
  for (const auto& p : expected) add(p);
  json j = {{"version", "1.0"},
            {"normalizer", nullptr},
            {"pre_tokenizer", pre_tokenizer},
            {"model", {{"type", "BPE"}, {"ignore_merges", true}, {"vocab", vocab}, {"merges", json::array()}}}};
  return HfTokenizer::from_json(j, "pieces.json");
}

void expect_pieces(const json& pre_tokenizer, const std::string& text, const std::vector<std::string>& expected) {
  SCOPED_TRACE(pre_tokenizer.dump() + " on \"" + text + "\"");
  EXPECT_EQ(piece_tokenizer(pre_tokenizer, text, expected).pieces(text), expected);
}

json split(const json& pattern, const char* behavior, bool invert = false) {
  return {{"type", "Split"}, {"pattern", pattern}, {"behavior", behavior}, {"invert", invert}};
}

TEST(HfTokenizer, SplitBehaviorsFollowTheCrate) {
  const std::string how = "How are you doing?";
  const json space = {{"String", " "}};
  expect_pieces(split(space, "Removed"), how, {"How", "are", "you", "doing?"});
  expect_pieces(split(space, "Isolated"), how, {"How", " ", "are", " ", "you", " ", "doing?"});
  expect_pieces(split(space, "MergedWithPrevious"), how, {"How ", "are ", "you ", "doing?"});
  expect_pieces(split(space, "MergedWithNext"), how, {"How", " are", " you", " doing?"});
  expect_pieces(split(space, "Contiguous"), how, {"How", " ", "are", " ", "you", " ", "doing?"});
  // split.rs's invert test: removing inverted "Hello" matches equals removing the spaces.
  expect_pieces(split({{"String", "Hello"}}, "Removed", true), "Hello Hello Hello", {"Hello", "Hello", "Hello"});
  // Consecutive matches, where the folds of normalizer.rs differ.
  const json a = {{"Regex", "a"}};
  expect_pieces(split(a, "Contiguous"), "baaab", {"b", "aaa", "b"});
  expect_pieces(split(a, "MergedWithPrevious"), "baaab", {"ba", "a", "a", "b"});
  expect_pieces(split(a, "MergedWithNext"), "baaab", {"b", "a", "a", "ab"});
  expect_pieces(split(a, "Isolated", true), "baaab", {"b", "a", "a", "a", "b"});
  // Digits: runs of numerics (Contiguous) or each one alone; ½ and ② are numeric too.
  expect_pieces({{"type", "Digits"}, {"individual_digits", false}}, "ab123c45½②d", {"ab", "123", "c", "45½②", "d"});
  expect_pieces({{"type", "Digits"}, {"individual_digits", true}}, "ab12½c", {"ab", "1", "2", "½", "c"});
  // A Sequence applies each step to every piece of the previous one.
  const json seq = {
      {"type", "Sequence"},
      {"pretokenizers", {split({{"Regex", "[\r\n]"}}, "Isolated"), {{"type", "Digits"}, {"individual_digits", true}}}}};
  expect_pieces(seq, "a1\nb22", {"a", "1", "\n", "b", "2", "2"});
}

TEST(HfTokenizer, ByteLevelPrefixSpaceGoesOnEveryPiece) {
  json j = read_json(kTinyJson);
  j["pre_tokenizer"]["pretokenizers"][6]["add_prefix_space"] = true;
  const HfTokenizer t = HfTokenizer::from_json(j, "prefix.json");
  // "Hello" gets a space; " world" already starts with one.
  EXPECT_EQ(t.encode("Hello world"), tiny().encode(" Hello world"));
  std::vector<int64_t> user_x = {568};
  for (int64_t id : tiny().encode(" x")) user_x.push_back(id);
  EXPECT_EQ(t.encode("<|User|>x"), user_x);
}

TEST(HfTokenizer, MergesAsPairsEqualMergesAsStrings) {
  json j = read_json(kTinyJson);
  json pairs = json::array();
  for (const json& m : j["model"]["merges"]) {
    const std::string s = m;
    pairs.push_back({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
  }
  j["model"]["merges"] = pairs;
  j["normalizer"] = nullptr;
  const HfTokenizer t = HfTokenizer::from_json(j, "pairs.json");
  const std::string text = "The quick brown fox jumps over the lazy dog. 12 CR\r\n";
  EXPECT_EQ(t.encode(text), tiny().encode(text));
}

// ---- The regex engine ----

std::vector<std::pair<size_t, size_t>> matches(const std::string& pattern, const std::string& text) {
  return UnicodeRegex::compile(pattern, "test").find_all(text);
}
using Matches = std::vector<std::pair<size_t, size_t>>;

TEST(HfTokenizerRegex, LeftmostGreedyMatches) {
  EXPECT_EQ(matches("\\s?[a-z]+", "ab  cd e"), (Matches{{0, 2}, {3, 6}, {6, 8}}));
  EXPECT_EQ(matches("[^a-c]+", "abxyzcq"), (Matches{{2, 5}, {6, 7}}));
  EXPECT_EQ(matches("x{2,3}", "xxxxxxxx"), (Matches{{0, 3}, {3, 6}, {6, 8}}));
  EXPECT_EQ(matches("x{2}", "xxxxx"), (Matches{{0, 2}, {2, 4}}));
  EXPECT_EQ(matches("x{2,}y", "xxxxyxy"), (Matches{{0, 5}}));
  EXPECT_EQ(matches("a.c", "abca\nc"), (Matches{{0, 3}}));
  EXPECT_EQ(matches("[\\u4e00-\\u9fa5]+", "ab中文c"), (Matches{{2, 8}}));  // byte offsets
  EXPECT_EQ(matches("\\x{1F680}", "a🚀"), (Matches{{1, 5}}));
  EXPECT_EQ(matches("[-a]+", "x-a-"), (Matches{{1, 4}}));
  EXPECT_EQ(matches("\\.", "a.b"), (Matches{{1, 2}}));
  // Oniguruma (Ruby syntax): $ and ^ are line anchors.
  EXPECT_EQ(matches("\\s+$", "a  \nb  "), (Matches{{1, 3}, {5, 7}}));
  EXPECT_EQ(matches("^b", "b\nb ab"), (Matches{{0, 1}, {2, 3}}));
  // Empty matches: skipped where the previous match ended, as onig's find_iter does.
  EXPECT_EQ(matches("o?", "foo"), (Matches{{0, 0}, {1, 2}, {2, 3}}));
  // \s is White_Space: NBSP and U+3000 included, U+200B (zero width space) not.
  EXPECT_EQ(matches("\\s", "\xC2\xA0\xE3\x80\x80\xE2\x80\x8B"), (Matches{{0, 2}, {2, 5}}));
  // An invalid byte matches only negated sets.
  EXPECT_EQ(matches("[a-z]+",
                    "ab\xFF"
                    "cd"),
            (Matches{{0, 2}, {3, 5}}));
  EXPECT_EQ(matches("\\S+",
                    "ab\xFF"
                    "cd e"),
            (Matches{{0, 5}, {6, 7}}));
  // A literal (pattern.String) is not a regex.
  EXPECT_EQ(UnicodeRegex::literal("a.").find_all("abca.a."), (Matches{{3, 5}, {5, 7}}));
}

TEST(HfTokenizerRegex, TheDeepSeekPatternsKeepTheirRanges) {
  // A range whose end NFC-normalization would change (README): U+1FD0-U+1FD3 stays a range.
  EXPECT_EQ(matches("[\xE1\xBF\x90-\xE1\xBF\x93]+", "\xE1\xBF\x91\xE1\xBF\x92x"), (Matches{{0, 6}}));
  EXPECT_EQ(matches("[!-/:-~\xEF\xBC\x81-\xEF\xBC\x8F]+",
                    "1!?\xEF\xBC\x81"
                    "2"),
            (Matches{{1, 6}}));
}

TEST(HfTokenizerRegex, UnsupportedSyntaxIsNamed) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"(a)", "groups"},         {"a|b", "alternation"},
      {"\\p{L}", "\\p"},         {"\\d+", "\\d"},
      {"a*?", "lazy"},           {"a++", "possessive"},
      {"[a", "unterminated"},    {"[z-a]", "out of order"},
      {"a{3,2}", "n < m"},       {"*a", "nothing to repeat"},
      {"a\\", "lone backslash"}, {"[[:alpha:]]", "nested"},
      {"^*", "anchor"},          {"\\uD800", "surrogate"},
      {"a{5000}", "above"},      {"[a-z]{1000}[a-z]{1000}[a-z]{1000}[a-z]{1000}[a-z]{1000}", "too large"},
  };
  for (const auto& [pattern, what] : bad) {
    try {
      UnicodeRegex::compile(pattern, "tok.json: pre_tokenizer.pattern.Regex");
      ADD_FAILURE() << "accepted " << pattern;
    } catch (const UserError& e) {
      EXPECT_CONTAINS(e.what(), what);
      EXPECT_CONTAINS(e.what(), "tok.json: pre_tokenizer.pattern.Regex");
    }
  }
}

// ---- Malformed files ----

// Applies `edit` to the tiny tokenizer.json and returns from_json's UserError message.
template <class Edit>
std::string load_error(Edit edit) {
  json j = read_json(kTinyJson);
  edit(j);
  try {
    HfTokenizer::from_json(j, "bad/tokenizer.json");
  } catch (const UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST(HfTokenizer, BadFilesNameTheField) {
  struct Case {
    std::function<void(json&)> edit;
    std::string field, what;
  };
  const std::vector<Case> cases = {
      {[](json& j) { j["model"]["type"] = "WordPiece"; }, "model.type", "WordPiece"},
      {[](json& j) { j["model"]["merges"][0] = "Ġ zzz"; }, "model.merges[0]", "zzz"},
      {[](json& j) { j["model"]["merges"][1] = "a b c"; }, "model.merges[1]", "one space"},
      {[](json& j) { j["model"]["merges"][2] = 7; }, "model.merges[2]", "expected"},
      {[](json& j) { j["model"]["unk_token"] = "<unk>"; }, "model.unk_token", "null"},
      {[](json& j) { j["model"]["byte_fallback"] = true; }, "model.byte_fallback", "not supported"},
      {[](json& j) { j["model"]["dropout"] = 0.1; }, "model.dropout", "dropout"},
      {[](json& j) { j["model"]["vocab"]["!"] = -1; }, "model.vocab['!']", "token id"},
      {[](json& j) { j["model"]["vocab"]["!"] = 1; }, "model.vocab", "used by both"},
      {[](json& j) { j["model"]["frobnicate"] = 1; }, "model.frobnicate", "unknown field"},
      {[](json& j) { j.erase("model"); }, "model", "missing field"},
      {[](json& j) { j["pre_tokenizer"]["pretokenizers"][1]["pattern"]["Regex"] = "(a|b)"; },
       "pre_tokenizer.pretokenizers[1].pattern.Regex", "groups"},
      {[](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Bogus"; },
       "pre_tokenizer.pretokenizers[0].behavior", "Bogus"},
      {[](json& j) {
         j["pre_tokenizer"]["pretokenizers"][2] = {{"type", "Whitespace"}};
       },
       "pre_tokenizer.pretokenizers[2].type", "Whitespace"},
      {[](json& j) { j["pre_tokenizer"]["pretokenizers"][6]["use_regex"] = true; }, "pre_tokenizer.pretokenizers[6]",
       "use_regex"},
      {[](json& j) {
         j["pre_tokenizer"]["pretokenizers"].push_back({{"type", "Digits"}});
       },
       "pre_tokenizer.pretokenizers[7]", "ByteLevel must come last"},
      {[](json& j) {
         j["normalizer"] = {{"type", "NFC"}};
       },
       "normalizer", "NFC"},
      {[](json& j) {
         j["normalizer"]["normalizers"].push_back({{"type", "Lowercase"}});
       },
       "normalizer", "Lowercase"},
      {[](json& j) { j["added_tokens"][0]["lstrip"] = true; }, "added_tokens[0].lstrip", "not supported"},
      {[](json& j) { j["added_tokens"][0]["id"] = 5; }, "added_tokens[0].id", "already"},
      {[](json& j) { j["added_tokens"][1]["content"] = j["added_tokens"][0]["content"]; }, "added_tokens[1]",
       "duplicate"},
      {[](json& j) {
         j["decoder"] = {{"type", "WordPiece"}};
       },
       "decoder.type", "WordPiece"},
      {[](json& j) {
         j["post_processor"] = {{"type", "RobertaProcessing"}};
       },
       "post_processor", "RobertaProcessing"},
      {[](json& j) {
         j["truncation"] = {{"max_length", 8}};
       },
       "truncation", "null"},
      {[](json& j) { j["version"] = "2.0"; }, "version", "1.0"},
      {[](json& j) { j["extra"] = 1; }, "extra", "unknown field"},
      {[](json& j) { j = json::array(); }, "", "expected an object"},
  };
  for (const Case& c : cases) {
    const std::string msg = load_error(c.edit);
    SCOPED_TRACE(msg);
    EXPECT_CONTAINS(msg, "bad/tokenizer.json: " + c.field);
    EXPECT_CONTAINS(msg, c.what);
  }
}

TEST(HfTokenizer, BadFilesOnDisk) {
  const std::string dir = ::testing::TempDir();
  const std::string bad_json = dir + "/unigap_bad_tokenizer.json";
  write_file_atomic(bad_json, "{\"model\": ");
  try {
    HfTokenizer::from_file(bad_json);
    ADD_FAILURE() << "accepted truncated JSON";
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), bad_json);
  }
  const std::string config = dir + "/unigap_bad_tokenizer_config.json";
  write_file_atomic(config, "{\"bos_token\": \"<s>\"}");
  try {
    HfTokenizer::from_file(kTinyJson, config);
    ADD_FAILURE() << "accepted an unknown bos_token";
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), config + ": bos_token");
    EXPECT_CONTAINS(e.what(), "<s>");
  }
  // transformers' older AddedToken form of bos_token.
  write_file_atomic(config, "{\"bos_token\": {\"__type\": \"AddedToken\", \"content\": \"<｜begin▁of▁sentence｜>\"}}");
  EXPECT_EQ(HfTokenizer::from_file(kTinyJson, config).bos_id(), 556);
  std::remove(bad_json.c_str());
  std::remove(config.c_str());
}

// ---- Speed on the real vocabulary (100k tokens, 100k merges) ----

TEST(HfTokenizer, RealVocabularyLoadAndEncodeTimes) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const HfTokenizer t = HfTokenizer::from_file(kRealJson);
  const double load_s = std::chrono::duration<double>(clock::now() - t0).count();
  const std::string prompt =
      "A photo of a red apple on a wooden table, next to a glass of water. Is there a red circle? Answer 42.";
  const int reps = 200;
  size_t n = 0;
  const auto t1 = clock::now();
  for (int i = 0; i < reps; ++i) n += t.encode(prompt).size();
  const double encode_us = std::chrono::duration<double, std::micro>(clock::now() - t1).count() / reps;
  std::printf("real vocabulary: load %.3f s, encode %zu chars -> %zu ids in %.1f us\n", load_s, prompt.size(), n / reps,
              encode_us);
  RecordProperty("load_s", std::to_string(load_s));
  RecordProperty("encode_us", std::to_string(encode_us));
  // Loose bounds (sanitizer builds and a shared machine are several times slower).
  EXPECT_LT(load_s, 10.0);
  EXPECT_LT(encode_us, 10000.0);
}

}  // namespace
}  // namespace unigap
