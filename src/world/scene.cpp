#include "world/scene.h"

#include <algorithm>
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

int location_of(const std::array<double, 4>& box, int canvas) {
  const double cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
  const int col = std::clamp(int(std::floor(cx * 3 / canvas)), 0, 2), row = std::clamp(int(std::floor(cy * 3 / canvas)), 0, 2);
  return row * 3 + col;
}

bool side_is(const std::string& size, double side, const WorldSpec& spec) {
  const double mid = (spec.small_max + spec.large_min) / 2.0;
  if (size == "small") return side <= mid;
  if (size == "large") return side > mid;
  return true;
}

// Like relations, a location must survive a detected box off by a pixel.
static bool location_is_robust(const SceneObject& o, int loc, int canvas) {
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx)
      for (int grow = -1; grow <= 1; ++grow) {
        auto b = o.box();
        b[0] += dx, b[1] += dy, b[2] += dx + grow, b[3] += dy + grow;
        if (location_of(b, canvas) != loc) return false;
      }
  return true;
}

Scene layout_scene(const Metadata& m, const WorldSpec& spec, Rng& rng) {
  // Objects per clause, with their colours (random where the prompt says none), side
  // ranges (the size word's, or the whole range) and locations (-1: anywhere).
  struct Want {
    int clause, shape, color, lo, hi, loc;
  };
  std::vector<Want> want;
  for (size_t c = 0; c < m.include.size(); ++c) {
    const auto& cl = m.include[c];
    int shape = spec.shape_index(cl.cls);
    if (shape < 0) throw UserError("unknown shape '" + cl.cls + "'", "metadata include[" + std::to_string(c) + "]");
    for (int k = 0; k < cl.count; ++k) {
      int color = cl.color.empty() ? int(rng.uniform_int(0, int(spec.colors.size()) - 1)) : spec.color_index(cl.color);
      if (color < 0) throw UserError("unknown color '" + cl.color + "'", "metadata include[" + std::to_string(c) + "]");
      int lo = spec.min_size, hi = spec.max_size;
      if (cl.size == "small") hi = spec.small_max;
      if (cl.size == "large") lo = spec.large_min;
      const int loc = cl.location.empty() ? -1 : location_index(cl.location);
      want.push_back({int(c), shape, color, lo, hi, loc});
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
        o.size = int(rng.uniform_int(w.lo, w.hi));
        int x0 = margin, x1 = spec.canvas - margin - o.size, y0 = x0, y1 = x1;
        if (w.loc >= 0) {
          // Corners whose box centre falls in the cell (a third of the canvas).
          const double third = spec.canvas / 3.0;
          auto range = [&](int cell, int& a, int& b) {
            a = std::max(a, int(std::ceil(cell * third - o.size / 2.0)));
            b = std::min(b, int(std::floor((cell + 1) * third - o.size / 2.0)));
          };
          range(w.loc % 3, x0, x1);
          range(w.loc / 3, y0, y1);
          if (x0 > x1 || y0 > y1) continue;
        }
        o.x = int(rng.uniform_int(x0, x1));
        o.y = int(rng.uniform_int(y0, y1));
        if (w.loc >= 0 && !location_is_robust(o, w.loc, spec.canvas)) continue;
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
    case Mistake::SizeSwap: return "size_swap";
    case Mistake::Move: return "move";
  }
  return "?";
}

const std::vector<Mistake>& all_mistakes() {
  static const std::vector<Mistake> k = {Mistake::ColorSwap, Mistake::ShapeSwap,    Mistake::AddObject, Mistake::RemoveObject,
                                         Mistake::FlipRelation, Mistake::SizeSwap, Mistake::Move};
  return k;
}

const std::vector<Mistake>& mistakes_of(const WorldSpec& spec) {
  static const std::vector<Mistake> v1 = {Mistake::ColorSwap, Mistake::ShapeSwap, Mistake::AddObject,
                                          Mistake::RemoveObject, Mistake::FlipRelation};
  return spec.has_attributes() ? all_mistakes() : v1;
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
// A clause of `m` that has `pred`, drawn uniformly; null when none has it.
template <class Pred>
IncludeClause* pick_clause(Metadata& m, Pred pred, Rng& rng) {
  std::vector<size_t> with;
  for (size_t i = 0; i < m.include.size(); ++i)
    if (pred(m.include[i])) with.push_back(i);
  return with.empty() ? nullptr : &m.include[rng.pick(with)];
}
const char* opposite(const std::string& r) {
  if (r == "left of") return "right of";
  if (r == "right of") return "left of";
  if (r == "above") return "below";
  return "above";
}
}  // namespace

std::optional<Metadata> mutate(const Metadata& m, Mistake k, const WorldSpec& spec, Rng& rng) {
  // Each mistake edits a copy of `m` (keeping the attributes it does not touch) and
  // recomputes the text. The random draws are those of version 1's builders, so a
  // version 1 world's negatives are what they always were.
  const auto& in = m.include;
  Metadata w = m;
  auto one_object = [&](const IncludeClause& c) {  // a clause's object alone
    Metadata o = c.color.empty() ? make_single_object(c.cls) : make_colors(c.cls, c.color);
    o.include[0].size = c.size;
    return with_text(o);
  };
  switch (k) {
    case Mistake::ColorSwap: {
      if (m.tag == "colors" || (m.tag == "counting" && !in[0].color.empty())) {
        w.include[0].color = other_of(color_names(spec), {in[0].color}, rng);
        return with_text(w);
      }
      if (m.tag == "color_attr") {
        // Either swap the two colours (a binding error) or replace one colour.
        if (rng.bernoulli(0.5)) {
          std::swap(w.include[0].color, w.include[1].color);
          return with_text(w);
        }
        int which = int(rng.uniform_int(0, 1));
        std::string nc = other_of(color_names(spec), {in[0].color, in[1].color}, rng);
        if (nc.empty()) return std::nullopt;
        w.include[which].color = nc;
        return with_text(w);
      }
      if (m.tag == "position" && !in[0].color.empty()) {
        std::string ca = in[1].color, cb = in[0].color;
        if (rng.bernoulli(0.5)) {
          std::swap(ca, cb);
          if (ca == cb) ca = other_of(color_names(spec), {ca}, rng);
        } else {
          ca = other_of(color_names(spec), {ca}, rng);
        }
        w.include[1].color = ca, w.include[0].color = cb;
        return with_text(w);
      }
      return std::nullopt;
    }
    case Mistake::ShapeSwap: {
      if (m.tag == "single_object" || m.tag == "colors" || m.tag == "counting") {
        w.include[0].cls = other_of(spec.shapes, {in[0].cls}, rng);
        if (m.tag == "counting") w.exclude[0].cls = w.include[0].cls;
        return with_text(w);
      }
      // Two-object families: replace one shape by one that is in neither clause.
      std::string ns = other_of(spec.shapes, {in[0].cls, in[1].cls}, rng);
      if (ns.empty()) return std::nullopt;
      w.include[int(rng.uniform_int(0, 1))].cls = ns;
      return with_text(w);
    }
    case Mistake::AddObject: {
      if (m.tag == "counting") {
        if (in[0].count + 1 > spec.max_count) return std::nullopt;
        w.include[0].count++, w.exclude[0].count++;
        return with_text(w);
      }
      if (m.tag == "single_object" || m.tag == "colors") {
        // Two of the asked object instead of one (anywhere: two objects fill no one cell).
        if (spec.min_count > 2) return std::nullopt;
        Metadata two = make_counting(in[0].cls, 2);
        two.include[0].color = in[0].color;
        two.include[0].size = in[0].size;
        return with_text(two);
      }
      // Two-object families: a third object of any shape. The metadata keeps the
      // original prompt text; it only serves to draw the wrong scene.
      if (spec.max_objects() < 3) return std::nullopt;
      w.include.push_back(clause(rng.pick(spec.shapes), 1, "", "", -1));
      return w;
    }
    case Mistake::RemoveObject: {
      if (m.tag == "counting") {
        if (in[0].count - 1 >= spec.min_count) {
          w.include[0].count--, w.exclude[0].count--;
          return with_text(w);
        }
        return one_object(in[0]);
      }
      if (m.tag == "two_object" || m.tag == "color_attr" || m.tag == "position")
        return one_object(in[int(rng.uniform_int(0, 1))]);
      return std::nullopt;
    }
    case Mistake::FlipRelation: {
      if (m.tag != "position") return std::nullopt;
      w.include[1].relation = opposite(in[1].relation);
      return with_text(w);
    }
    case Mistake::SizeSwap: {
      IncludeClause* c = pick_clause(w, [](const IncludeClause& x) { return !x.size.empty(); }, rng);
      if (!c) return std::nullopt;
      c->size = c->size == "small" ? "large" : "small";
      return with_text(w);
    }
    case Mistake::Move: {
      IncludeClause* c = pick_clause(w, [](const IncludeClause& x) { return !x.location.empty(); }, rng);
      if (!c) return std::nullopt;
      c->location = other_of(location_names(), {c->location}, rng);
      return with_text(w);
    }
  }
  return std::nullopt;
}

}  // namespace unigap
