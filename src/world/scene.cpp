#include "world/scene.h"

#include <cmath>

#include "common/error.h"

namespace unigap {

json Scene::to_json(const WorldSpec& spec) const {
  json a = json::array();
  for (auto& o : objects)
    a.push_back({{"class", spec.shapes[o.shape]}, {"color", spec.colors[o.color].name}, {"box", o.box()}});
  return a;
}

std::vector<std::string> relative_position(const std::array<double, 4>& a, const std::array<double, 4>& b,
                                           double threshold) {
  const double cax = (a[0] + a[2]) / 2, cay = (a[1] + a[3]) / 2;
  const double cbx = (b[0] + b[2]) / 2, cby = (b[1] + b[3]) / 2;
  const double dax = std::abs(a[2] - a[0]), day = std::abs(a[3] - a[1]);
  const double dbx = std::abs(b[2] - b[0]), dby = std::abs(b[3] - b[1]);
  const double ox = cax - cbx, oy = cay - cby;
  auto sign = [](double v) { return double((v > 0) - (v < 0)); };
  const double rx = std::max(std::abs(ox) - threshold * (dax + dbx), 0.0) * sign(ox);
  const double ry = std::max(std::abs(oy) - threshold * (day + dby), 0.0) * sign(oy);
  std::vector<std::string> rel;
  if (std::abs(rx) < 1e-3 && std::abs(ry) < 1e-3) return rel;
  const double norm = std::sqrt(ox * ox + oy * oy);
  const double dx = rx / norm, dy = ry / norm;
  if (dx < -0.5) rel.push_back("left of");
  if (dx > 0.5) rel.push_back("right of");
  if (dy < -0.5) rel.push_back("above");
  if (dy > 0.5) rel.push_back("below");
  return rel;
}

static bool has_relation(const std::vector<std::string>& rels, const std::string& r) {
  for (auto& x : rels)
    if (x == r) return true;
  return false;
}

// The relation must still hold when either box is off by a pixel in any direction
// (soft edges move detected boxes), so rendered truth is never borderline.
static bool relation_is_robust(const SceneObject& a, const SceneObject& b, const std::string& relation) {
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx)
      for (int grow = -1; grow <= 1; ++grow) {
        auto ba = a.box();
        ba[0] += dx, ba[1] += dy, ba[2] += dx + grow, ba[3] += dy + grow;
        if (!has_relation(relative_position(ba, b.box()), relation)) return false;
      }
  return true;
}

Scene layout_scene(const Metadata& m, const WorldSpec& spec, Rng& rng) {
  // Objects per clause, with their colours (random where the prompt says none).
  struct Want {
    int clause, shape, color;
  };
  std::vector<Want> want;
  for (size_t c = 0; c < m.include.size(); ++c) {
    const auto& cl = m.include[c];
    int shape = spec.shape_index(cl.cls);
    if (shape < 0) throw UserError("unknown shape '" + cl.cls + "'", "metadata include[" + std::to_string(c) + "]");
    for (int k = 0; k < cl.count; ++k) {
      int color = cl.color.empty() ? int(rng.uniform_int(0, int(spec.colors.size()) - 1)) : spec.color_index(cl.color);
      if (color < 0) throw UserError("unknown color '" + cl.color + "'", "metadata include[" + std::to_string(c) + "]");
      want.push_back({int(c), shape, color});
    }
  }
  const int margin = 1;  // keep shapes off the border so a blur does not cut them
  for (int attempt = 0; attempt < 2000; ++attempt) {
    Scene s;
    bool ok = true;
    for (auto& w : want) {
      bool placed = false;
      for (int t = 0; t < 100 && !placed; ++t) {
        SceneObject o;
        o.shape = w.shape;
        o.color = w.color;
        o.size = int(rng.uniform_int(spec.min_size, spec.max_size));
        o.x = int(rng.uniform_int(margin, spec.canvas - margin - o.size));
        o.y = int(rng.uniform_int(margin, spec.canvas - margin - o.size));
        placed = true;
        for (auto& p : s.objects) {
          const int g = spec.min_gap;
          bool apart = o.x >= p.x + p.size + g || p.x >= o.x + o.size + g || o.y >= p.y + p.size + g ||
                       p.y >= o.y + o.size + g;
          if (!apart) placed = false;
        }
        if (placed) s.objects.push_back(o);
      }
      if (!placed) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    // Position relations: every object of clause c relative to every object of its target.
    size_t base = 0;
    std::vector<size_t> first(m.include.size());
    for (size_t c = 0; c < m.include.size(); ++c) first[c] = base, base += m.include[c].count;
    for (size_t c = 0; c < m.include.size() && ok; ++c) {
      const auto& cl = m.include[c];
      if (cl.relation.empty()) continue;
      for (int i = 0; i < cl.count && ok; ++i)
        for (int j = 0; j < m.include[cl.target].count && ok; ++j)
          ok = relation_is_robust(s.objects[first[c] + i], s.objects[first[cl.target] + j], cl.relation);
    }
    if (ok) return s;
  }
  throw UserError("could not lay out a scene for \"" + m.prompt + "\" in 2000 attempts", "layout",
                  "the canvas may be too small for this many objects");
}

const char* mistake_name(Mistake k) {
  switch (k) {
    case Mistake::ColorSwap: return "color_swap";
    case Mistake::ShapeSwap: return "shape_swap";
    case Mistake::AddObject: return "add_object";
    case Mistake::RemoveObject: return "remove_object";
    case Mistake::FlipRelation: return "flip_relation";
  }
  return "?";
}

const std::vector<Mistake>& all_mistakes() {
  static const std::vector<Mistake> k = {Mistake::ColorSwap, Mistake::ShapeSwap, Mistake::AddObject,
                                         Mistake::RemoveObject, Mistake::FlipRelation};
  return k;
}

namespace {
std::string other_of(const std::vector<std::string>& all, const std::vector<std::string>& avoid, Rng& rng) {
  std::vector<std::string> cand;
  for (auto& x : all) {
    bool bad = false;
    for (auto& a : avoid) bad |= (a == x);
    if (!bad) cand.push_back(x);
  }
  return cand.empty() ? "" : rng.pick(cand);
}
std::vector<std::string> color_names(const WorldSpec& spec) {
  std::vector<std::string> v;
  for (auto& c : spec.colors) v.push_back(c.name);
  return v;
}
const char* opposite(const std::string& r) {
  if (r == "left of") return "right of";
  if (r == "right of") return "left of";
  if (r == "above") return "below";
  return "above";
}
}  // namespace

std::optional<Metadata> mutate(const Metadata& m, Mistake k, const WorldSpec& spec, Rng& rng) {
  const auto& in = m.include;
  switch (k) {
    case Mistake::ColorSwap: {
      if (m.tag == "colors") return make_colors(in[0].cls, other_of(color_names(spec), {in[0].color}, rng));
      if (m.tag == "color_attr") {
        // Either swap the two colours (a binding error) or replace one colour.
        if (rng.bernoulli(0.5)) return make_color_attr(in[0].cls, in[1].color, in[1].cls, in[0].color);
        int which = int(rng.uniform_int(0, 1));
        std::string nc = other_of(color_names(spec), {in[0].color, in[1].color}, rng);
        if (nc.empty()) return std::nullopt;
        return which == 0 ? make_color_attr(in[0].cls, nc, in[1].cls, in[1].color)
                          : make_color_attr(in[0].cls, in[0].color, in[1].cls, nc);
      }
      if (m.tag == "position" && !in[0].color.empty()) {
        std::string ca = in[1].color, cb = in[0].color;
        if (rng.bernoulli(0.5)) {
          std::swap(ca, cb);
          if (ca == cb) ca = other_of(color_names(spec), {ca}, rng);
        } else {
          ca = other_of(color_names(spec), {ca}, rng);
        }
        return make_position(in[1].cls, in[1].relation, in[0].cls, ca, cb);
      }
      return std::nullopt;
    }
    case Mistake::ShapeSwap: {
      if (m.tag == "single_object") return make_single_object(other_of(spec.shapes, {in[0].cls}, rng));
      if (m.tag == "colors") return make_colors(other_of(spec.shapes, {in[0].cls}, rng), in[0].color);
      if (m.tag == "counting") return make_counting(other_of(spec.shapes, {in[0].cls}, rng), in[0].count);
      // Two-object families: replace one shape by one that is in neither clause.
      std::string ns = other_of(spec.shapes, {in[0].cls, in[1].cls}, rng);
      if (ns.empty()) return std::nullopt;
      int which = int(rng.uniform_int(0, 1));
      std::string a = in[0].cls, b = in[1].cls;
      (which == 0 ? a : b) = ns;
      if (m.tag == "two_object") return make_two_object(a, b);
      if (m.tag == "color_attr") return make_color_attr(a, in[0].color, b, in[1].color);
      return make_position(b, in[1].relation, a, in[1].color, in[0].color);
    }
    case Mistake::AddObject: {
      if (m.tag == "counting")
        return in[0].count + 1 <= spec.max_count ? std::optional<Metadata>(make_counting(in[0].cls, in[0].count + 1))
                                                 : std::nullopt;
      if (m.tag == "single_object" || m.tag == "colors") {
        // Two of the asked object instead of one.
        if (spec.min_count > 2) return std::nullopt;
        Metadata w = make_counting(in[0].cls, 2);
        w.include[0].color = in[0].color;
        return w;
      }
      // Two-object families: a third object of any shape. The metadata keeps the
      // original prompt text; it only serves to draw the wrong scene.
      if (spec.max_objects() < 3) return std::nullopt;
      Metadata w = m;
      w.include.push_back({rng.pick(spec.shapes), 1, "", "", -1});
      return w;
    }
    case Mistake::RemoveObject: {
      if (m.tag == "counting") {
        if (in[0].count - 1 >= spec.min_count) return make_counting(in[0].cls, in[0].count - 1);
        return make_single_object(in[0].cls);
      }
      if (m.tag == "two_object") return make_single_object(in[int(rng.uniform_int(0, 1))].cls);
      if (m.tag == "color_attr") {
        int which = int(rng.uniform_int(0, 1));
        return make_colors(in[which].cls, in[which].color);
      }
      if (m.tag == "position") {
        int which = int(rng.uniform_int(0, 1));
        return in[which].color.empty() ? make_single_object(in[which].cls) : make_colors(in[which].cls, in[which].color);
      }
      return std::nullopt;
    }
    case Mistake::FlipRelation: {
      if (m.tag != "position") return std::nullopt;
      return make_position(in[1].cls, opposite(in[1].relation), in[0].cls, in[1].color, in[0].color);
    }
  }
  return std::nullopt;
}

}  // namespace unigap
