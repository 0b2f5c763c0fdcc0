#include "world/oracle.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"
#include "world/render.h"
#include "world/scene.h"

namespace unigap {

namespace {

constexpr int kBackground = -1;
constexpr int kOffPalette = -2;

struct PixelLabels {
  std::vector<int> label;      // colour index, kBackground or kOffPalette
  std::vector<float> residual; // distance from the chosen colour's line
};

// Per-pixel colour: project the pixel on each background->colour line; the pixel
// belongs to the colour whose line it is closest to, if it is at least alpha_min
// of the way there and within max_color_residual of the line.
PixelLabels label_pixels(const Image& img, const WorldSpec& spec) {
  const auto& th = spec.oracle;
  const int n = img.width * img.height;
  const size_t K = spec.colors.size();
  std::vector<std::array<double, 3>> e(K);
  std::vector<double> e2(K);
  for (size_t k = 0; k < K; ++k) {
    for (int c = 0; c < 3; ++c) e[k][c] = double(spec.colors[k].rgb[c]) - spec.background[c];
    e2[k] = e[k][0] * e[k][0] + e[k][1] * e[k][1] + e[k][2] * e[k][2];
  }
  PixelLabels out{std::vector<int>(n, kBackground), std::vector<float>(n, 0.f)};
  for (int i = 0; i < n; ++i) {
    const uint8_t* p = &img.rgb[size_t(i) * 3];
    const double d[3] = {double(p[0]) - spec.background[0], double(p[1]) - spec.background[1],
                         double(p[2]) - spec.background[2]};
    // The line that explains the pixel best (alpha clamped to the segment
    // background..colour), then: on it past alpha_min -> that colour; on it
    // before -> background; on no line -> off-palette.
    int best = 0;
    double best_res = 1e18, best_a = 0;
    for (size_t k = 0; k < K; ++k) {
      const double a = std::clamp((d[0] * e[k][0] + d[1] * e[k][1] + d[2] * e[k][2]) / e2[k], 0.0, 1.0);
      const double r0 = d[0] - a * e[k][0], r1 = d[1] - a * e[k][1], r2 = d[2] - a * e[k][2];
      const double res = std::sqrt(r0 * r0 + r1 * r1 + r2 * r2);
      if (res < best_res) best_res = res, best = int(k), best_a = a;
    }
    if (best_res > th.max_color_residual) {
      out.label[i] = kOffPalette;
    } else if (best_a >= th.alpha_min) {
      out.label[i] = best;
      out.residual[i] = float(best_res);
    }
  }
  return out;
}

struct Component {
  int label = 0, area = 0, x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
  double residual_sum = 0;
  std::vector<int> pixels;
};

// 8-connected components of equal, non-background labels.
// `comp` receives the component id of every pixel (-1 for background).
std::vector<Component> components(const PixelLabels& L, int W, int H, std::vector<int>& comp) {
  comp.assign(L.label.size(), -1);
  std::vector<Component> out;
  std::vector<int> stack;
  for (int start = 0; start < W * H; ++start) {
    if (L.label[start] == kBackground || comp[start] >= 0) continue;
    Component c;
    c.label = L.label[start];
    const int id = int(out.size());
    comp[start] = id;
    stack.assign(1, start);
    while (!stack.empty()) {
      int p = stack.back();
      stack.pop_back();
      c.pixels.push_back(p);
      const int x = p % W, y = p / W;
      c.area++;
      c.residual_sum += L.residual[p];
      c.x0 = std::min(c.x0, x), c.y0 = std::min(c.y0, y), c.x1 = std::max(c.x1, x), c.y1 = std::max(c.y1, y);
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int xx = x + dx, yy = y + dy;
          if ((dx | dy) == 0 || xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
          const int q = yy * W + xx;
          if (comp[q] < 0 && L.label[q] == c.label) {
            comp[q] = id;
            stack.push_back(q);
          }
        }
    }
    out.push_back(std::move(c));
  }
  return out;
}

// A soft shape template: the coverage map of `shape` rendered at side `size`,
// either sharp (0/1) or after a 3x3 box blur, with a one-pixel border so that
// blurred edges fit. Matching soft maps (not thresholded masks) keeps a sharp
// small circle apart from a blurred diamond, whose thresholded masks coincide.
struct Template {
  int size = 0, W = 0;  // W = size + 2
  std::vector<float> a;  // (W, W)
};

Template make_template(const std::string& shape, int size, bool blurred) {
  Template t;
  t.size = size;
  t.W = size + 2;
  std::vector<float> sharp(size_t(t.W) * t.W, 0.f);
  for (int j = 0; j < size; ++j)
    for (int i = 0; i < size; ++i) sharp[size_t(j + 1) * t.W + i + 1] = shape_contains(shape, size, size, i, j);
  if (!blurred) {
    t.a = sharp;
    return t;
  }
  t.a.assign(sharp.size(), 0.f);
  for (int y = 0; y < t.W; ++y)
    for (int x = 0; x < t.W; ++x) {
      float s = 0;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int xx = x + dx, yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < t.W && yy < t.W) s += sharp[size_t(yy) * t.W + xx];
        }
      t.a[size_t(y) * t.W + x] = s / 9.f;
    }
  return t;
}

const std::vector<Template>& templates_for(const std::string& shape, const WorldSpec& spec) {
  // Cached per (shape, size range); the oracle runs on millions of images.
  static thread_local std::map<std::string, std::vector<Template>> cache;
  const std::string key = shape + "/" + std::to_string(spec.min_size) + "/" + std::to_string(spec.max_size) + "/" +
                          std::to_string(spec.oracle.size_slack);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::vector<Template> v;
  for (int size = std::max(3, spec.min_size - spec.oracle.size_slack); size <= spec.max_size + spec.oracle.size_slack; ++size)
    for (bool blurred : {false, true}) v.push_back(make_template(shape, size, blurred));
  return cache.emplace(key, std::move(v)).first->second;
}

// Best soft IoU, sum(min(a, t)) / sum(max(a, t)), between the component's coverage
// map `a` (an R x R window whose centre region holds the component's w x h box at
// offset `pad`) and any template of the shape whose side is within 2 pixels of the
// box, over placements whose sharp box lies within 1 pixel of the component's box.
double best_template_iou(const std::string& shape, const std::vector<float>& a, int R, int pad, int w, int h,
                         const WorldSpec& spec) {
  double total = 0;
  for (float v : a) total += v;
  double best = 0;
  const int side = std::max(w, h);
  for (const auto& t : templates_for(shape, spec)) {
    if (std::abs(t.size - side) > 2) continue;
    // Template window origin (its border pixel) in window coordinates: sharp box at origin + 1.
    for (int oy = pad - 2; oy <= pad + h - t.size; ++oy)
      for (int ox = pad - 2; ox <= pad + w - t.size; ++ox) {
        double mn = 0, tsum = 0, asum_in = 0;
        for (int y = 0; y < t.W; ++y) {
          const int wy = oy + y;
          for (int x = 0; x < t.W; ++x) {
            const int wx = ox + x;
            const float tv = t.a[size_t(y) * t.W + x];
            tsum += tv;
            if (wx < 0 || wy < 0 || wx >= R || wy >= R) continue;
            const float av = a[size_t(wy) * R + wx];
            mn += std::min(av, tv);
            asum_in += av;
          }
        }
        // sum(max) = sum(a) + sum(t) - sum(min) over the union of both supports.
        const double iou = mn / (total + tsum - mn);
        best = std::max(best, iou);
      }
  }
  return best;
}

double side_of(const Detection& d) { return std::max(d.box[2] - d.box[0], d.box[3] - d.box[1]); }

std::array<double, 4> box_of(const Component& c) { return {double(c.x0), double(c.y0), double(c.x1 + 1), double(c.y1 + 1)}; }

}  // namespace

ParsedImage parse_image(const Image& img, const WorldSpec& spec, const std::string& origin) {
  if (img.width != spec.canvas || img.height != spec.canvas)
    throw UserError("image is " + std::to_string(img.width) + "x" + std::to_string(img.height) + ", this world's canvas is " +
                        std::to_string(spec.canvas) + "x" + std::to_string(spec.canvas),
                    origin, "check the world spec (--world) the images were made with");
  const auto& th = spec.oracle;
  ParsedImage out;
  PixelLabels L = label_pixels(img, spec);
  std::vector<int> owner;
  const auto comps = components(L, img.width, img.height, owner);
  for (int comp_id = 0; comp_id < int(comps.size()); ++comp_id) {
    const Component& c = comps[comp_id];
    if (c.area <= th.speck_max_area) {
      out.specks++;
      continue;
    }
    const auto box = box_of(c);
    if (c.label == kOffPalette) {
      out.junk.push_back({"off_palette", box, c.area, "colour not in the palette"});
      continue;
    }
    if (c.area < th.min_object_area) {
      out.junk.push_back({"fragment", box, c.area, spec.colors[c.label].name + " fragment of " + std::to_string(c.area) + " px"});
      continue;
    }
    const int w = c.x1 - c.x0 + 1, h = c.y1 - c.y0 + 1;
    const int lo = spec.min_size - th.size_slack, hi = spec.max_size + th.size_slack;
    if (w < lo || h < lo || w > hi || h > hi || double(std::max(w, h)) / std::min(w, h) > th.max_aspect) {
      out.junk.push_back({"bad_size", box, c.area,
                          spec.colors[c.label].name + " blob of " + std::to_string(w) + "x" + std::to_string(h) + " px"});
      continue;
    }
    // Shape by soft template IoU on the component's coverage map (alpha along its
    // colour's line, clamped to [0, 1]; pixels of other objects count as empty).
    const int pad = 2, R = std::max(w, h) + 2 * pad;
    std::vector<float> cov(size_t(R) * R, 0.f);
    const auto& col = spec.colors[c.label].rgb;
    double e[3], e2 = 0;
    for (int k = 0; k < 3; ++k) e[k] = double(col[k]) - spec.background[k], e2 += e[k] * e[k];
    for (int y = 0; y < R; ++y)
      for (int x = 0; x < R; ++x) {
        const int ix = c.x0 - pad + x, iy = c.y0 - pad + y;
        if (ix < 0 || iy < 0 || ix >= img.width || iy >= img.height) continue;
        const int lab = L.label[size_t(iy) * img.width + ix];
        if (lab >= 0 && lab != c.label) continue;
        if (lab == c.label && owner[size_t(iy) * img.width + ix] != comp_id) continue;
        const uint8_t* q = img.px(ix, iy);
        double dot = 0;
        for (int k = 0; k < 3; ++k) dot += (double(q[k]) - spec.background[k]) * e[k];
        cov[size_t(y) * R + x] = float(std::clamp(dot / e2, 0.0, 1.0));
      }
    double best = -1, second = -1;
    int best_shape = -1, second_shape = -1;
    for (size_t s = 0; s < spec.shapes.size(); ++s) {
      const double iou = best_template_iou(spec.shapes[s], cov, R, pad, w, h, spec);
      if (iou > best) second = best, second_shape = best_shape, best = iou, best_shape = int(s);
      else if (iou > second) second = iou, second_shape = int(s);
    }
    if (best < th.min_shape_iou || best - second < th.min_iou_margin) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s blob: best shape %s IoU %.2f, next %s IoU %.2f", spec.colors[c.label].name.c_str(),
                    spec.shapes[best_shape].c_str(), best, spec.shapes[second_shape].c_str(), second);
      out.junk.push_back({"unrecognized_shape", box, c.area, buf});
      continue;
    }
    Detection d;
    d.shape = best_shape;
    d.color = c.label;
    d.box = box;
    d.area = c.area;
    d.shape_iou = best;
    d.color_residual = c.residual_sum / c.area;
    out.objects.push_back(d);
  }
  std::stable_sort(out.objects.begin(), out.objects.end(), [](const Detection& a, const Detection& b) {
    if (a.shape_iou != b.shape_iou) return a.shape_iou > b.shape_iou;
    return a.area > b.area;
  });
  return out;
}

json ParsedImage::to_json(const WorldSpec& spec) const {
  json objs = json::array(), j = json::array();
  for (auto& d : objects)
    objs.push_back({{"class", spec.shapes[d.shape]},
                    {"color", spec.colors[d.color].name},
                    {"box", d.box},
                    {"area", d.area},
                    {"shape_iou", std::round(d.shape_iou * 1000) / 1000}});
  for (auto& k : junk) j.push_back({{"kind", k.kind}, {"box", k.box}, {"area", k.area}, {"detail", k.detail}});
  return {{"objects", objs}, {"junk", j}, {"specks", specks}};
}

Verdict evaluate_metadata(const Metadata& m, const ParsedImage& parsed, const WorldSpec& spec, const OracleOptions& opt) {
  std::vector<std::string> reasons;
  // Detected objects per class, in confidence order (as GenEval's detector output).
  std::map<std::string, std::vector<const Detection*>> by_class;
  for (auto& d : parsed.objects) by_class[spec.shapes[d.shape]].push_back(&d);

  std::vector<std::vector<const Detection*>> matched_groups;
  std::vector<bool> group_ok;
  for (const auto& req : m.include) {
    bool matched = true;
    const auto& all = by_class[req.cls];
    std::vector<const Detection*> found(all.begin(), all.begin() + std::min<size_t>(all.size(), req.count));
    if (int(found.size()) < req.count) {
      matched = false;
      reasons.push_back("expected " + req.cls + ">=" + std::to_string(req.count) + ", found " + std::to_string(found.size()));
    } else {
      if (!req.color.empty()) {
        int ok = 0;
        std::map<std::string, int> seen;
        for (auto* d : found) {
          ok += (spec.colors[d->color].name == req.color);
          seen[spec.colors[d->color].name]++;
        }
        if (ok < req.count) {
          matched = false;
          std::string s;
          for (auto& kv : seen) s += (s.empty() ? "" : ", ") + std::to_string(kv.second) + " " + kv.first;
          reasons.push_back("expected " + req.color + " " + req.cls + ">=" + std::to_string(req.count) + ", found " +
                            std::to_string(ok) + " " + req.color + "; and " + s);
        }
      }
      // Version 2's attributes: every counted object must have the size word's side
      // and sit in the asked location.
      auto check_each = [&](bool (*ok_of)(const IncludeClause&, const Detection&, const WorldSpec&), const std::string& what,
                            std::string (*show)(const Detection&, const WorldSpec&)) {
        int ok = 0;
        std::string seen;
        for (auto* d : found) {
          ok += ok_of(req, *d, spec);
          seen += (seen.empty() ? "" : ", ") + show(*d, spec);
        }
        if (ok < req.count) {
          matched = false;
          reasons.push_back("expected " + what + " " + req.cls + ">=" + std::to_string(req.count) + ", found " +
                            std::to_string(ok) + " (" + seen + ")");
        }
      };
      if (!req.size.empty())
        check_each([](const IncludeClause& r, const Detection& d, const WorldSpec& w) { return side_is(r.size, side_of(d), w); },
                   req.size, [](const Detection& d, const WorldSpec&) { return "side " + std::to_string(int(side_of(d))); });
      if (!req.location.empty())
        check_each(
            [](const IncludeClause& r, const Detection& d, const WorldSpec& w) {
              return location_names()[size_t(location_of(d.box, w.canvas))] == r.location;
            },
            "in the " + req.location, [](const Detection& d, const WorldSpec& w) {
              return "in the " + location_names()[size_t(location_of(d.box, w.canvas))];
            });
      if (!req.relation.empty() && matched) {
        if (!group_ok[req.target]) {
          matched = false;
          reasons.push_back("no target for " + req.cls + " to be " + req.relation);
        } else {
          for (auto* obj : found) {
            for (auto* tgt : matched_groups[req.target]) {
              auto rels = relative_position(obj->box, tgt->box);
              if (std::find(rels.begin(), rels.end(), req.relation) == rels.end()) {
                matched = false;
                std::string r;
                for (auto& x : rels) r += (r.empty() ? "" : " and ") + x;
                reasons.push_back("expected " + req.cls + " " + req.relation + " target, found " + (r.empty() ? "no relation" : r) + " target");
                break;
              }
            }
            if (!matched) break;
          }
        }
      }
    }
    matched_groups.push_back(found);
    group_ok.push_back(matched);
  }
  for (const auto& req : m.exclude) {
    const auto it = by_class.find(req.cls);
    const int n = it == by_class.end() ? 0 : int(it->second.size());
    if (n >= req.count) reasons.push_back("expected " + req.cls + "<" + std::to_string(req.count) + ", found " + std::to_string(n));
  }
  if (opt.strict) {
    // Closed world: every detected object must be asked for, and nothing unparseable.
    std::map<std::string, int> asked;
    for (const auto& req : m.include) asked[req.cls] += req.count;
    for (auto& [cls, v] : by_class) {
      const int extra = int(v.size()) - asked[cls];
      if (extra > 0) reasons.push_back("unexpected " + std::to_string(extra) + " extra " + cls);
    }
    for (auto& j : parsed.junk) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " at [%g, %g, %g, %g]", j.box[0], j.box[1], j.box[2], j.box[3]);
      reasons.push_back("junk: " + j.kind + " (" + j.detail + ")" + buf);
    }
  }
  Verdict v;
  v.correct = reasons.empty();
  for (auto& r : reasons) v.reason += (v.reason.empty() ? "" : "; ") + r;
  return v;
}

}  // namespace unigap
