// Prompt metadata in GenEval's evaluation_metadata.jsonl schema:
//   {"tag": "position", "prompt": "a photo of a circle right of a square",
//    "include": [{"class": "square", "count": 1},
//                {"class": "circle", "count": 1, "position": ["right of", 0]}],
//    "exclude": [{"class": "circle", "count": 2}],        // optional
//    "level": "medium"}                                    // unigap's addition
// `include` clauses combine with AND, `exclude` with OR (GenEval's rules).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "io/jsonl.h"
#include "world/spec.h"

namespace unigap {

extern const std::vector<std::string> kTags;       // the six GenEval task families
extern const std::vector<std::string> kRelations;  // "left of", "right of", "above", "below"
extern const std::vector<std::string> kLevels;     // "easy", "medium", "hard"
extern const std::vector<std::string> kSizes;      // "small", "large" (world version 2)

struct IncludeClause {
  std::string cls;  // shape name
  int count = 1;
  std::string color;     // empty: any colour
  std::string relation;  // empty: no position constraint
  int target = -1;       // index of the include clause the relation refers to
  // World version 2's attributes (unigap's additions to GenEval's schema):
  std::string size;      // "small" | "large"; empty: any size
  std::string location;  // one of location_names(); empty: anywhere
};

// A clause without the version 2 attributes.
inline IncludeClause clause(std::string cls, int count, std::string color = "", std::string relation = "", int target = -1) {
  IncludeClause c;
  c.cls = std::move(cls), c.count = count, c.color = std::move(color), c.relation = std::move(relation), c.target = target;
  return c;
}

struct ExcludeClause {
  std::string cls;
  int count = 1;  // the image is wrong if it has >= count objects of cls
};

struct Metadata {
  std::string tag;
  std::string prompt;
  std::vector<IncludeClause> include;
  std::vector<ExcludeClause> exclude;
  std::string level;  // easy | medium | hard

  json to_json() const;
  // Parses and validates against the world: unknown tag, shape, colour or relation,
  // impossible counts, a position target that does not precede its clause. Errors
  // name `where` (file:line) and the field. With `spec` null, GenEval's open vocabulary:
  // any class and colour name, any count >= 1 (the prompts of a model of the open world,
  // such as GenEval's own 553).
  static Metadata from_json(const json& j, const WorldSpec* spec, const std::string& where);
  static Metadata from_json(const json& j, const WorldSpec& spec, const std::string& where) { return from_json(j, &spec, where); }
  // Number of objects a scene for this prompt contains.
  int object_count() const;
};

// A shape's plural in prompt texts ("circles", "crosses").
std::string plural(const std::string& shape);

// The canonical prompt text for a metadata line (GenEval's templates:
// "a photo of a red circle", "a photo of three squares", ...).
std::string prompt_text(const Metadata& m);
// Difficulty level by the number of constraints (documented in docs/world.md).
std::string difficulty_level(const Metadata& m);

// Builders for each task family (text and level filled in).
Metadata make_single_object(const std::string& shape);
Metadata make_two_object(const std::string& a, const std::string& b);
Metadata make_counting(const std::string& shape, int count);
Metadata make_colors(const std::string& shape, const std::string& color);
// "a photo of a <a> <relation> a <b>"; colours optional (empty = any).
Metadata make_position(const std::string& a, const std::string& relation, const std::string& b,
                       const std::string& color_a = "", const std::string& color_b = "");
Metadata make_color_attr(const std::string& a, const std::string& color_a, const std::string& b,
                         const std::string& color_b);
// `m` with its prompt text and level recomputed from its clauses (after a builder's
// clauses were given sizes or locations, or a mistake changed one).
Metadata with_text(Metadata m);

// Reads a metadata JSONL file. Strict: the first bad line throws (file:line: field: why).
// `spec` null: the open vocabulary (from_json).
std::vector<Metadata> read_metadata_file(const std::string& path, const WorldSpec* spec);
inline std::vector<Metadata> read_metadata_file(const std::string& path, const WorldSpec& spec) {
  return read_metadata_file(path, &spec);
}

}  // namespace unigap
