// libFuzzer target: the tokenizer.json reader and the tokenizer it builds. The input is
// `tokenizer.json bytes, NUL, text bytes` (JSON text cannot hold a raw NUL). A bad file must
// be a UserError naming its field; a good one must encode any text (invalid UTF-8
// included), decode any ids, and never crash or throw anything else.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/hf_tokenizer.h"

namespace {

// Encoding is linear in the text for small added tokens and patterns, but a fuzzed file may
// hold kilobyte-long added tokens (trie walks) and kilo-instruction regexes; a short text
// keeps one input well under the runner's per-input timeout.
constexpr size_t kMaxText = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* begin = reinterpret_cast<const char*>(data);
  const char* nul = static_cast<const char*>(std::memchr(begin, '\0', size));
  const std::string json_text(begin, nul ? size_t(nul - begin) : size);
  std::string text = nul ? std::string(nul + 1, begin + size) : std::string();
  if (text.size() > kMaxText) text.resize(kMaxText);

  auto j = unigap::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    const unigap::HfTokenizer tok = unigap::HfTokenizer::from_json(j, "fuzz");
    const std::vector<int64_t> ids = tok.encode(text);
    (void)tok.pieces(text);
    (void)tok.decode(ids, false);
    (void)tok.decode(ids, true);
    (void)tok.token_id(text);
    (void)tok.vocab_size();
    // Arbitrary ids too, valid or not: two text bytes per id, some negative.
    std::vector<int64_t> raw;
    for (size_t i = 0; i + 1 < text.size(); i += 2)
      raw.push_back(int64_t(int16_t(uint8_t(text[i]) | (uint8_t(text[i + 1]) << 8))));
    (void)tok.decode(raw, false);
  } catch (const unigap::UserError&) {
  }
  return 0;
}
