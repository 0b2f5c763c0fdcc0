#include "world/metadata.h"

#include <set>

#include "common/error.h"

namespace unigap {

const std::vector<std::string> kTags = {"single_object", "two_object", "counting", "colors", "position", "color_attr"};
const std::vector<std::string> kRelations = {"left of", "right of", "above", "below"};
const std::vector<std::string> kLevels = {"easy", "medium", "hard"};
const std::vector<std::string> kSizes = {"small", "large"};

namespace {
const char* kNumberWords[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};

std::string article(const std::string& next_word) {
  return (!next_word.empty() && std::string("aeiou").find(next_word[0]) != std::string::npos) ? "an" : "a";
}
std::string with_article(const std::string& phrase) { return article(phrase) + " " + phrase; }
std::string colored(const std::string& color, const std::string& shape) {
  return color.empty() ? shape : color + " " + shape;
}
// "[size] [colour] shape", the adjectives in English order.
std::string object_phrase(const IncludeClause& c, const std::string& noun) {
  return (c.size.empty() ? "" : c.size + " ") + colored(c.color, noun);
}
std::string location_phrase(const std::string& loc) {
  if (loc.empty()) return "";
  if (loc == "top" || loc == "bottom") return " at the " + loc;
  if (loc == "left" || loc == "right") return " on the " + loc;
  return " in the " + loc;  // corners and the centre
}
bool contains(const std::vector<std::string>& v, const std::string& s) {
  for (auto& x : v)
    if (x == s) return true;
  return false;
}
}  // namespace

int Metadata::object_count() const {
  int n = 0;
  for (auto& c : include) n += c.count;
  return n;
}

std::string plural(const std::string& shape) {
  const bool sibilant = shape.size() >= 2 && (shape.substr(shape.size() - 2) == "ss" || shape.back() == 'x');
  return shape + (sibilant ? "es" : "s");
}

std::string prompt_text(const Metadata& m) {
  const auto& in = m.include;
  if (m.tag == "single_object" || m.tag == "colors")
    return "a photo of " + with_article(object_phrase(in.at(0), in.at(0).cls)) + location_phrase(in.at(0).location);
  if (m.tag == "counting")
    return std::string("a photo of ") + kNumberWords[in.at(0).count] + " " + object_phrase(in.at(0), plural(in.at(0).cls));
  if (m.tag == "two_object" || m.tag == "color_attr")
    return "a photo of " + with_article(object_phrase(in.at(0), in.at(0).cls)) + " and " +
           with_article(object_phrase(in.at(1), in.at(1).cls));
  if (m.tag == "position")  // include[1] is the subject, include[0] the target
    return "a photo of " + with_article(object_phrase(in.at(1), in.at(1).cls)) + " " + in.at(1).relation + " " +
           with_article(object_phrase(in.at(0), in.at(0).cls));
  UNIGAP_ASSERT(false, "prompt_text: unknown tag " + m.tag);
  return "";
}

std::string difficulty_level(const Metadata& m) {
  // One constraint (an object, or an object with a colour): easy. Two objects or a
  // small count: medium. Larger counts, relations between coloured objects and
  // colour binding across two objects: hard.
  if (m.tag == "single_object" || m.tag == "colors") return "easy";
  if (m.tag == "two_object") return "medium";
  if (m.tag == "counting") return m.include.at(0).count <= 2 ? "medium" : "hard";
  if (m.tag == "position") return m.include.at(0).color.empty() ? "medium" : "hard";
  return "hard";  // color_attr
}

Metadata with_text(Metadata m) {
  m.prompt = prompt_text(m);
  m.level = difficulty_level(m);
  return m;
}
static Metadata finish(Metadata m) { return with_text(std::move(m)); }

Metadata make_single_object(const std::string& shape) {
  Metadata m;
  m.tag = "single_object";
  m.include = {clause(shape, 1, "", "", -1)};
  return finish(m);
}
Metadata make_two_object(const std::string& a, const std::string& b) {
  Metadata m;
  m.tag = "two_object";
  m.include = {clause(a, 1, "", "", -1), clause(b, 1, "", "", -1)};
  return finish(m);
}
Metadata make_counting(const std::string& shape, int count) {
  Metadata m;
  m.tag = "counting";
  m.include = {clause(shape, count, "", "", -1)};
  m.exclude = {{shape, count + 1}};
  return finish(m);
}
Metadata make_colors(const std::string& shape, const std::string& color) {
  Metadata m;
  m.tag = "colors";
  m.include = {clause(shape, 1, color, "", -1)};
  return finish(m);
}
Metadata make_position(const std::string& a, const std::string& relation, const std::string& b,
                       const std::string& color_a, const std::string& color_b) {
  Metadata m;
  m.tag = "position";
  m.include = {clause(b, 1, color_b, "", -1), clause(a, 1, color_a, relation, 0)};
  return finish(m);
}
Metadata make_color_attr(const std::string& a, const std::string& color_a, const std::string& b,
                         const std::string& color_b) {
  Metadata m;
  m.tag = "color_attr";
  m.include = {clause(a, 1, color_a, "", -1), clause(b, 1, color_b, "", -1)};
  return finish(m);
}

json Metadata::to_json() const {
  json inc = json::array();
  for (auto& c : include) {
    json o = {{"class", c.cls}, {"count", c.count}};
    if (!c.color.empty()) o["color"] = c.color;
    if (!c.relation.empty()) o["position"] = {c.relation, c.target};
    if (!c.size.empty()) o["size"] = c.size;
    if (!c.location.empty()) o["location"] = c.location;
    inc.push_back(o);
  }
  json j = {{"tag", tag}, {"include", inc}};
  if (!exclude.empty()) {
    json exc = json::array();
    for (auto& c : exclude) exc.push_back({{"class", c.cls}, {"count", c.count}});
    j["exclude"] = exc;
  }
  j["prompt"] = prompt;
  if (!level.empty()) j["level"] = level;
  return j;
}

Metadata Metadata::from_json(const json& j, const WorldSpec* spec, const std::string& where) {
  auto fail = [&](const std::string& field, const std::string& why) -> void {
    throw UserError(why, where + (field.empty() ? "" : ": field '" + field + "'"));
  };
  if (!j.is_object()) fail("", "metadata must be a JSON object, found " + std::string(j.type_name()));
  static const std::set<std::string> allowed = {"tag", "include", "exclude", "prompt", "level"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!allowed.count(it.key())) fail(it.key(), "unknown field (expected tag, include, exclude, prompt, level)");
  Metadata m;
  if (!j.contains("tag") || !j["tag"].is_string()) fail("tag", "missing or not a string");
  m.tag = j["tag"].get<std::string>();
  if (!contains(kTags, m.tag)) fail("tag", "unknown tag '" + m.tag + "'");
  if (!j.contains("prompt") || !j["prompt"].is_string() || j["prompt"].get<std::string>().empty())
    fail("prompt", "missing, empty or not a string");
  m.prompt = j["prompt"].get<std::string>();
  if (!j.contains("include") || !j["include"].is_array() || j["include"].empty())
    fail("include", "missing, empty or not an array");

  auto read_class = [&](const json& c, const std::string& f) {
    if (!c.is_object()) fail(f, "must be an object");
    if (!c.contains("class") || !c["class"].is_string()) fail(f + ".class", "missing or not a string");
    std::string cls = c["class"].get<std::string>();
    if (cls.empty()) fail(f + ".class", "empty class name");
    if (spec && spec->shape_index(cls) < 0) fail(f + ".class", "unknown shape '" + cls + "' in this world");
    return cls;
  };
  auto read_count = [&](const json& c, const std::string& f) {
    if (!c.contains("count")) return 1;
    if (!c["count"].is_number_integer()) fail(f + ".count", "must be an integer, found " + c["count"].dump());
    long long n = c["count"].get<long long>();
    const long long most = spec ? spec->max_objects() + 1 : 1000;
    if (n < 1 || n > most)
      fail(f + ".count", "impossible count " + std::to_string(n) +
                             (spec ? " (this world draws 1.." + std::to_string(spec->max_objects()) + " objects)" : std::string(" (1..1000)")));
    return int(n);
  };

  const auto& inc = j["include"];
  for (size_t i = 0; i < inc.size(); ++i) {
    std::string f = "include[" + std::to_string(i) + "]";
    IncludeClause c;
    c.cls = read_class(inc[i], f);
    c.count = read_count(inc[i], f);
    if (inc[i].contains("color")) {
      if (!inc[i]["color"].is_string()) fail(f + ".color", "must be a string");
      c.color = inc[i]["color"].get<std::string>();
      if (c.color.empty()) fail(f + ".color", "empty colour name");
      if (spec && spec->color_index(c.color) < 0) fail(f + ".color", "unknown color '" + c.color + "' in this world");
    }
    if (inc[i].contains("position")) {
      const auto& p = inc[i]["position"];
      if (!p.is_array() || p.size() != 2 || !p[0].is_string() || !p[1].is_number_integer())
        fail(f + ".position", "must be [relation, target index], found " + p.dump());
      c.relation = p[0].get<std::string>();
      if (!contains(kRelations, c.relation)) fail(f + ".position", "unknown relation '" + c.relation + "'");
      long long t = p[1].get<long long>();
      if (t < 0 || t >= (long long)i) fail(f + ".position", "target index " + std::to_string(t) + " must refer to an earlier include clause");
      c.target = int(t);
    }
    auto read_word = [&](const char* key, const std::vector<std::string>& words, const char* what) {
      if (!inc[i].contains(key)) return std::string();
      if (!inc[i][key].is_string()) fail(f + "." + key, "must be a string");
      std::string w = inc[i][key].get<std::string>();
      if (!contains(words, w)) {
        std::string list;
        for (auto& x : words) list += (list.empty() ? "" : ", ") + x;
        fail(f + "." + key, "unknown " + std::string(what) + " '" + w + "' (known: " + list + ")");
      }
      if (spec && !spec->has_attributes())
        fail(f + "." + key, "this world (version " + std::to_string(spec->version) + ") has no " + what + " words");
      return w;
    };
    c.size = read_word("size", kSizes, "size");
    c.location = read_word("location", location_names(), "location");
    for (auto k = inc[i].begin(); k != inc[i].end(); ++k)
      if (k.key() != "class" && k.key() != "count" && k.key() != "color" && k.key() != "position" &&
          k.key() != "size" && k.key() != "location")
        fail(f + "." + k.key(), "unknown field");
    m.include.push_back(c);
  }
  if (spec && m.object_count() > spec->max_objects())
    fail("include", "asks for " + std::to_string(m.object_count()) + " objects; this world draws at most " +
                        std::to_string(spec->max_objects()));
  if (j.contains("exclude")) {
    if (!j["exclude"].is_array()) fail("exclude", "must be an array");
    for (size_t i = 0; i < j["exclude"].size(); ++i) {
      std::string f = "exclude[" + std::to_string(i) + "]";
      ExcludeClause c;
      c.cls = read_class(j["exclude"][i], f);
      c.count = read_count(j["exclude"][i], f);
      for (auto& in : m.include)
        if (in.cls == c.cls && in.count >= c.count)
          fail(f + ".count", "contradicts include: asks for " + std::to_string(in.count) + " " + c.cls +
                                 " but excludes " + std::to_string(c.count) + " or more");
      m.exclude.push_back(c);
    }
  }
  if (j.contains("level")) {
    if (!j["level"].is_string() || !contains(kLevels, j["level"].get<std::string>()))
      fail("level", "must be one of easy, medium, hard");
    m.level = j["level"].get<std::string>();
  } else {
    m.level = difficulty_level(m);
  }
  return m;
}

std::vector<Metadata> read_metadata_file(const std::string& path, const WorldSpec* spec) {
  std::vector<Metadata> out;
  for (auto& line : read_jsonl(path)) out.push_back(Metadata::from_json(line.value, spec, path + ":" + std::to_string(line.line)));
  if (out.empty()) throw UserError("no prompts found", path, "expected one GenEval metadata JSON object per line");
  return out;
}

}  // namespace unigap
