#include "model/text_tokenizer.h"

#include <sstream>

#include "common/error.h"
#include "world/metadata.h"

namespace unigap {

TextTokenizer::TextTokenizer(const WorldSpec& spec) {
  auto add = [&](const std::string& w) {
    if (!index_.count(w)) {
      index_[w] = int(words_.size());
      words_.push_back(w);
    }
    return index_[w];
  };
  pad_ = add("<pad>");
  bos_ = add("<bos>");
  boi_ = add("<boi>");
  eoi_ = add("<eoi>");
  yes_ = add("yes");
  no_ = add("no");
  qmark_ = add("?");
  for (auto w : {"a", "an", "photo", "of", "and", "left", "right", "above", "below", "does", "this", "image", "describe"})
    add(w);
  for (auto w : {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}) add(w);
  for (auto& s : spec.shapes) add(s), add(plural(s));
  for (auto& c : spec.colors) add(c.name);
  // World version 2's size words and location phrases (version 1's vocabulary, and so
  // its models' embedding tables, stay as they were).
  if (spec.has_attributes())
    for (auto w : {"small", "large", "in", "at", "on", "the", "top", "bottom", "center"}) add(w);
  for (auto w : {"does", "this", "image", "describe"}) stem_.push_back(index_.at(w));
}

std::vector<int> TextTokenizer::encode(const std::string& text) const {
  std::string t;
  for (char c : text) {
    if (c == '?') t += " ? ";
    else t += c;
  }
  std::istringstream in(t);
  std::vector<int> ids;
  std::string w;
  while (in >> w) {
    auto it = index_.find(w);
    if (it == index_.end())
      throw UserError("word '" + w + "' is not in this world's vocabulary", "prompt \"" + text + "\"",
                      "the prompt must come from the same world spec as the model");
    ids.push_back(it->second);
  }
  return ids;
}

std::string TextTokenizer::decode(const std::vector<int>& ids) const {
  std::string s;
  for (int id : ids) {
    if (id == pad_) continue;
    if (id < 0 || id >= size()) s += (s.empty() ? "" : " ") + std::string("<?>");
    else s += (s.empty() ? "" : " ") + words_[id];
  }
  return s;
}

std::vector<int> TextTokenizer::encode_padded(const std::string& text, int len) const {
  auto ids = encode(text);
  if (int(ids.size()) > len)
    throw UserError("prompt has " + std::to_string(ids.size()) + " tokens, the model's text slot holds " +
                        std::to_string(len),
                    "prompt \"" + text + "\"");
  std::vector<int> out(len - ids.size(), pad_);
  out.insert(out.end(), ids.begin(), ids.end());
  return out;
}

}  // namespace unigap
