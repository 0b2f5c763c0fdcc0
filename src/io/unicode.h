// The few Unicode facts the tokenizer needs: UTF-8 decoding that never fails, the repair
// of invalid UTF-8 that Rust's String::from_utf8_lossy does (HF tokenizers decodes with
// it), and two character properties, White_Space (regex \s) and Numeric (Rust's
// char::is_numeric, the Digits pre-tokenizer). Tables are from Unicode 15.0.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace unigap {

// A byte b that does not begin a well-formed UTF-8 sequence decodes to kInvalidUtf8Byte + b:
// a character of its own, outside Unicode, so that no class naming code points matches it
// and every byte of any input keeps a place in the text.
constexpr char32_t kInvalidUtf8Byte = 0x110000;
constexpr char32_t kMaxUnicode = 0x10FFFF;

// Decodes the character at text[pos] (pos < text.size()) into cp; returns its length in
// bytes: 1 to 4 for a well-formed sequence, 1 for an invalid byte (overlong forms,
// surrogates, values above U+10FFFF and truncated sequences are invalid).
size_t utf8_decode(std::string_view text, size_t pos, char32_t& cp);

// Appends the UTF-8 encoding of a code point (cp <= U+10FFFF, not a surrogate).
void utf8_append(std::string& out, char32_t cp);

// `bytes` with each maximal ill-formed subsequence replaced by U+FFFD, as Rust's
// String::from_utf8_lossy does; well-formed input comes back unchanged.
std::string utf8_lossy(std::string_view bytes);

// The White_Space property: what \s matches in Oniguruma and Rust's regex for Unicode text.
bool is_unicode_white_space(char32_t c);

// General category Nd, Nl or No: Rust's char::is_numeric.
bool is_unicode_numeric(char32_t c);

}  // namespace unigap
