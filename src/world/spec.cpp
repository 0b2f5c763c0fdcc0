#include "world/spec.h"

#include <cmath>
#include <set>

#include "common/error.h"
#include "common/rng.h"

namespace unigap {

const std::vector<std::string>& known_shapes() {
  static const std::vector<std::string> k = {"circle", "square", "triangle", "diamond", "cross", "ring", "frame"};
  return k;
}

const std::vector<std::string>& location_names() {
  static const std::vector<std::string> k = {"top left",    "top",    "top right",    "left",       "center",
                                             "right",       "bottom left", "bottom",    "bottom right"};
  return k;
}

int location_index(const std::string& name) {
  const auto& k = location_names();
  for (size_t i = 0; i < k.size(); ++i)
    if (k[i] == name) return int(i);
  return -1;
}

WorldSpec WorldSpec::defaults() { return v2(); }

WorldSpec WorldSpec::v1() {
  WorldSpec s;
  // Six colours from GenEval's colour list, spread out in RGB (min pairwise distance ~90).
  s.colors = {{"red", {220, 30, 30}},    {"orange", {245, 140, 20}}, {"yellow", {240, 230, 40}},
              {"green", {30, 160, 60}},  {"blue", {30, 70, 220}},    {"purple", {140, 50, 180}}};
  s.shapes = {"circle", "square", "triangle", "diamond"};
  return s;
}

WorldSpec WorldSpec::v2() {
  WorldSpec s = v1();
  s.version = 2;
  s.shapes = known_shapes();
  // Small 8-9 px, large 12-13 px: a detected box may lose a pixel to the blur, so the
  // oracle's boundary at 10.5 px keeps a pixel and a half from either.
  s.min_size = 8, s.small_max = 9, s.large_min = 12, s.max_size = 13;
  // 21% eval and 11% validation: 189 two-object meaning groups give 40 eval, 21
  // validation and 128 train (3.2x the eval).
  s.eval_fraction = 0.21, s.val_fraction = 0.11;
  s.split_seed = 20261206;
  return s;
}

static double rgb_dist(const RGB& a, const RGB& b) {
  double s = 0;
  for (int i = 0; i < 3; ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s);
}

void WorldSpec::validate() const {
  auto fail = [](const std::string& field, const std::string& why) { throw UserError(why, "world spec field '" + field + "'"); };
  if (version != 1 && version != 2) fail("version", "must be 1 or 2, found " + std::to_string(version));
  if (canvas < 8 || canvas > 1024) fail("canvas", "must be in [8, 1024], found " + std::to_string(canvas));
  if (colors.size() < 2) fail("colors", "need at least 2 colors, found " + std::to_string(colors.size()));
  if (shapes.size() < 2) fail("shapes", "need at least 2 shapes, found " + std::to_string(shapes.size()));
  std::set<std::string> seen;
  for (size_t i = 0; i < colors.size(); ++i) {
    const auto& c = colors[i];
    std::string f = "colors[" + std::to_string(i) + "]";
    if (c.name.empty()) fail(f + ".name", "must not be empty");
    if (!seen.insert(c.name).second) fail(f + ".name", "duplicate color '" + c.name + "'");
    if (rgb_dist(c.rgb, background) < 120)
      fail(f + ".rgb", "'" + c.name + "' is too close to the background (distance " +
                           std::to_string(int(rgb_dist(c.rgb, background))) + " < 120)");
    for (size_t j = 0; j < i; ++j)
      if (rgb_dist(c.rgb, colors[j].rgb) < 60)
        fail(f + ".rgb", "'" + c.name + "' is too close to '" + colors[j].name + "' (distance " +
                             std::to_string(int(rgb_dist(c.rgb, colors[j].rgb))) + " < 60)");
  }
  seen.clear();
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::string f = "shapes[" + std::to_string(i) + "]";
    bool known = false;
    for (auto& k : known_shapes()) known |= (k == shapes[i]);
    if (!known) {
      std::string list;
      for (auto& k : known_shapes()) list += (list.empty() ? "" : ", ") + k;
      fail(f, "unknown shape '" + shapes[i] + "' (known: " + list + ")");
    }
    if (!seen.insert(shapes[i]).second) fail(f, "duplicate shape '" + shapes[i] + "'");
  }
  if (min_size < 5) fail("min_size", "must be >= 5 pixels (smaller shapes are not distinguishable), found " + std::to_string(min_size));
  if (max_size < min_size) fail("max_size", "must be >= min_size");
  // Sizes beyond the canvas are refused before any arithmetic on them (fuzz_world_config
  // found an int overflow in the room check below with min_gap = 2e9).
  if (max_size > canvas) fail("max_size", "must be <= canvas (" + std::to_string(canvas) + "), found " + std::to_string(max_size));
  if (min_gap > canvas) fail("min_gap", "must be <= canvas (" + std::to_string(canvas) + "), found " + std::to_string(min_gap));
  if (min_count < 2 || max_count < min_count || max_count > 9)
    fail("max_count", "counting range must satisfy 2 <= min_count <= max_count <= 9");
  if (min_gap < 1) fail("min_gap", "must be >= 1");
  // Room check: max_objects boxes of max_size (plus gaps) must fit on a square grid
  // inside the 1-pixel border, or random layout would rarely succeed.
  int k = 1;
  while (k * k < max_objects()) ++k;
  const int need = k * (max_size + min_gap) - min_gap + 2;
  if (need > canvas)
    fail("canvas", "too small for " + std::to_string(max_objects()) + " objects of size " + std::to_string(max_size) +
                       " (a " + std::to_string(k) + "x" + std::to_string(k) + " grid needs " + std::to_string(need) + " px)");
  if (!(eval_fraction > 0 && eval_fraction < 1)) fail("eval_fraction", "must be in (0, 1)");
  if (version == 1 && val_fraction != 0) fail("val_fraction", "version 1 has no validation split (use version 2)");
  if (version >= 2) {
    if (!(val_fraction > 0 && val_fraction < 1 && eval_fraction + val_fraction < 1))
      fail("val_fraction", "must be in (0, 1) with eval_fraction + val_fraction < 1");
    if (small_max < min_size) fail("small_max", "must be >= min_size");
    if (large_min > max_size) fail("large_min", "must be <= max_size");
    // The oracle reads a size word at the midpoint; a detected box may be a pixel off.
    if (large_min - small_max < 2)
      fail("large_min", "must exceed small_max by at least 2 pixels (found " + std::to_string(small_max) + " and " +
                            std::to_string(large_min) + ")");
  }
  const auto& o = oracle;
  if (!(o.alpha_min > 0 && o.alpha_min < 1)) fail("oracle.alpha_min", "must be in (0, 1)");
  if (!(o.max_color_residual > 0)) fail("oracle.max_color_residual", "must be > 0");
  if (o.speck_max_area < 0 || o.min_object_area <= o.speck_max_area)
    fail("oracle.min_object_area", "must be > speck_max_area >= 0");
  if (!(o.min_shape_iou > 0 && o.min_shape_iou <= 1)) fail("oracle.min_shape_iou", "must be in (0, 1]");
  if (!(o.max_aspect >= 1)) fail("oracle.max_aspect", "must be >= 1");
}

int WorldSpec::color_index(const std::string& name) const {
  for (size_t i = 0; i < colors.size(); ++i)
    if (colors[i].name == name) return int(i);
  return -1;
}
int WorldSpec::shape_index(const std::string& name) const {
  for (size_t i = 0; i < shapes.size(); ++i)
    if (shapes[i] == name) return int(i);
  return -1;
}

json WorldSpec::to_json() const {
  json cs = json::array();
  for (auto& c : colors) cs.push_back({{"name", c.name}, {"rgb", {c.rgb[0], c.rgb[1], c.rgb[2]}}});
  json j = {{"canvas", canvas},
          {"background", {background[0], background[1], background[2]}},
          {"colors", cs},
          {"shapes", shapes},
          {"min_size", min_size},
          {"max_size", max_size},
          {"min_count", min_count},
          {"max_count", max_count},
          {"min_gap", min_gap},
          {"eval_fraction", eval_fraction},
          {"split_seed", split_seed},
          {"relations", {"left of", "right of", "above", "below"}},
          {"tags", {"single_object", "two_object", "counting", "colors", "position", "color_attr"}},
          {"oracle",
           {{"alpha_min", oracle.alpha_min},
            {"max_color_residual", oracle.max_color_residual},
            {"speck_max_area", oracle.speck_max_area},
            {"min_object_area", oracle.min_object_area},
            {"min_shape_iou", oracle.min_shape_iou},
            {"min_iou_margin", oracle.min_iou_margin},
            {"size_slack", oracle.size_slack},
            {"max_aspect", oracle.max_aspect}}}};
  // Version 1 writes exactly the fields it always wrote, so its fingerprint is unchanged.
  if (version >= 2) {
    j["version"] = version;
    j["small_max"] = small_max;
    j["large_min"] = large_min;
    j["val_fraction"] = val_fraction;
    j["sizes"] = {"small", "large"};
    j["locations"] = location_names();
  }
  return j;
}

namespace {
// Reads an optional field with the right type, or throws naming it.
template <class T>
void get_opt(const json& j, const char* key, T& out, const std::string& origin, const std::string& prefix = "") {
  read_field(j, key, out, "field " + prefix, origin);
}
RGB get_rgb(const json& v, const std::string& field, const std::string& origin) {
  if (!v.is_array() || v.size() != 3) throw UserError("field '" + field + "' must be [r, g, b]", origin);
  RGB c{};
  for (int i = 0; i < 3; ++i) {
    if (!v[i].is_number_integer() || v[i].get<int>() < 0 || v[i].get<int>() > 255)
      throw UserError("field '" + field + "' must hold integers in 0..255, found " + v.dump(), origin);
    c[i] = uint8_t(v[i].get<int>());
  }
  return c;
}
}  // namespace

WorldSpec WorldSpec::from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) throw UserError("world spec must be a JSON object", origin);
  static const std::set<std::string> allowed = {"canvas",    "background", "colors",  "shapes",        "min_size",
                                                "max_size",  "min_count",  "max_count", "min_gap",     "eval_fraction",
                                                "split_seed", "oracle",    "relations", "tags",     "version",
                                                "small_max", "large_min", "val_fraction", "sizes",  "locations"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!allowed.count(it.key())) throw UserError("unknown field '" + it.key() + "'", origin, "check spelling; see `unigap world spec --json`");
  int version = 1;
  get_opt(j, "version", version, origin);
  WorldSpec s = version == 2 ? v2() : v1();
  s.version = version;
  if (version == 1)
    for (const char* k : {"small_max", "large_min", "sizes", "locations"})
      if (j.contains(k)) throw UserError("field '" + std::string(k) + "' exists in version 2 only", origin, "add \"version\": 2");
  get_opt(j, "canvas", s.canvas, origin);
  if (j.contains("background")) s.background = get_rgb(j["background"], "background", origin);
  if (j.contains("colors")) {
    if (!j["colors"].is_array()) throw UserError("field 'colors' must be an array", origin);
    s.colors.clear();
    for (size_t i = 0; i < j["colors"].size(); ++i) {
      const auto& c = j["colors"][i];
      std::string f = "colors[" + std::to_string(i) + "]";
      if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || !c.contains("rgb"))
        throw UserError("field '" + f + "' must be {\"name\": str, \"rgb\": [r, g, b]}", origin);
      s.colors.push_back({c["name"].get<std::string>(), get_rgb(c["rgb"], f + ".rgb", origin)});
    }
  }
  get_opt(j, "shapes", s.shapes, origin);
  get_opt(j, "min_size", s.min_size, origin);
  get_opt(j, "max_size", s.max_size, origin);
  get_opt(j, "min_count", s.min_count, origin);
  get_opt(j, "max_count", s.max_count, origin);
  get_opt(j, "min_gap", s.min_gap, origin);
  get_opt(j, "eval_fraction", s.eval_fraction, origin);
  get_opt(j, "val_fraction", s.val_fraction, origin);
  get_opt(j, "small_max", s.small_max, origin);
  get_opt(j, "large_min", s.large_min, origin);
  get_opt(j, "split_seed", s.split_seed, origin);
  if (j.contains("oracle")) {
    const auto& o = j["oracle"];
    if (!o.is_object()) throw UserError("field 'oracle' must be an object", origin);
    get_opt(o, "alpha_min", s.oracle.alpha_min, origin, "oracle.");
    get_opt(o, "max_color_residual", s.oracle.max_color_residual, origin, "oracle.");
    get_opt(o, "speck_max_area", s.oracle.speck_max_area, origin, "oracle.");
    get_opt(o, "min_object_area", s.oracle.min_object_area, origin, "oracle.");
    get_opt(o, "min_shape_iou", s.oracle.min_shape_iou, origin, "oracle.");
    get_opt(o, "min_iou_margin", s.oracle.min_iou_margin, origin, "oracle.");
    get_opt(o, "size_slack", s.oracle.size_slack, origin, "oracle.");
    get_opt(o, "max_aspect", s.oracle.max_aspect, origin, "oracle.");
  }
  try {
    s.validate();
  } catch (const UserError& e) {
    throw UserError(e.bare_message(), origin + ": " + e.where(), e.hint());
  }
  return s;
}

std::string WorldSpec::fingerprint() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)stable_hash(to_json().dump()));
  return buf;
}

WorldSpec load_world_spec(const std::string& path) {
  if (path.empty()) return WorldSpec::defaults();
  if (path == "v1") return WorldSpec::v1();
  if (path == "v2") return WorldSpec::v2();
  return WorldSpec::from_json(read_json(path), path);
}

}  // namespace unigap
