// The world's text tokenizer: one token per word of the world's language (GenEval
// prompt templates, the judge's question, yes/no), built from the world spec, plus
// special tokens. Unknown words are an error naming the word, not a silent <unk>:
// a prompt from another world must not be scored as if it were ours.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "world/spec.h"

namespace unigap {

class TextTokenizer {
 public:
  explicit TextTokenizer(const WorldSpec& spec);

  // Special tokens.
  int pad() const { return pad_; }
  int bos() const { return bos_; }
  int boi() const { return boi_; }  // begin of image
  int eoi() const { return eoi_; }  // end of image
  int yes() const { return yes_; }
  int no() const { return no_; }
  int size() const { return int(words_.size()); }
  const std::vector<std::string>& words() const { return words_; }

  // Splits on spaces (and "?"); UserError naming the word if it is not in the vocabulary.
  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;  // skips <pad>
  // Left-pads (or rejects, if too long) to exactly `len` tokens.
  std::vector<int> encode_padded(const std::string& text, int len) const;
  // The judge's question stem placed before the prompt: "does this image describe".
  const std::vector<int>& question_stem() const { return stem_; }
  int question_mark() const { return qmark_; }

 private:
  std::vector<std::string> words_;
  std::map<std::string, int> index_;
  std::vector<int> stem_;
  int pad_, bos_, boi_, eoi_, yes_, no_, qmark_;
};

}  // namespace unigap
