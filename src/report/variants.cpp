#include "report/variants.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"
#include "dynamics/entk.h"
#include "eval/stats.h"
#include "report/study.h"
#include "report/svg.h"

namespace unigap {

namespace {

// One arm's model in one seed of one variant, as its held-out dynamics measured it.
struct Point {
  std::string variant, arm;
  int seed = 0;
  double cos_yes_no = NAN, cos_bayes = NAN;        // alignment at the base
  double change_yes_no = NAN, change_bayes = NAN;  // mean change on the base's false positives
  int64_t fp_to_tn = 0, tn_to_fp = 0;              // the yes/no judge's transitions on them
  double d_gen = NAN;                              // Gen change against the base
  json to_json() const {
    auto num = [](double v) { return std::isfinite(v) ? json(v) : json(); };
    return {{"variant", variant}, {"arm", arm}, {"seed", seed}, {"cos_gen_yes_no", num(cos_yes_no)},
            {"cos_gen_bayes", num(cos_bayes)}, {"change_on_base_fp_yes_no", num(change_yes_no)},
            {"change_on_base_fp_bayes", num(change_bayes)}, {"fp_to_tn", fp_to_tn}, {"tn_to_fp", tn_to_fp}, {"d_gen", num(d_gen)}};
  }
};

Point point_of(const std::string& variant, const Arm& a, const ArmSeed& s) {
  const json& h = s.held_out;
  const json judges = h.value("judges", json::object()), kernel = h.value("kernel", json::object());
  const json yes_no = judges.value("yes_no", json::object()), bayes = judges.value("bayes", json::object());
  Point p;
  p.variant = variant, p.arm = a.name, p.seed = s.seed, p.d_gen = s.d_gen;
  p.cos_yes_no = number_or(kernel.value("mean_cos_gen_und", json()));
  p.cos_bayes = number_or(kernel.value("mean_cos_gen_bayes", json()));
  p.change_yes_no = number_or(yes_no.value("change_on_base_fp", json::object()).value("mean", json()));
  p.change_bayes = number_or(bayes.value("change_on_base_fp", json::object()).value("mean", json()));
  const json t = yes_no.value("transitions", json::object());
  p.fp_to_tn = json_as<int64_t>(t.value("fp_corrected", json(0))).value_or(0);
  p.tn_to_fp = json_as<int64_t>(t.value("newly_wrong_tn_to_fp", json(0))).value_or(0);
  return p;
}

struct Correlation {
  int n = 0;
  double r = NAN;
  Interval ci{-1, 1};
  std::string reading() const {
    if (n < 4) return "too few points (" + std::to_string(n) + ")";
    if (!std::isfinite(r)) return "undefined: one of the two does not vary";
    if (ci.hi < 0) return "co-improvement grows with alignment";
    if (ci.lo > 0) return "co-improvement shrinks with alignment";
    return "no relation detected";
  }
};

Correlation correlate(const std::vector<Point>& pts, double Point::*x, double Point::*y) {
  std::vector<double> xs, ys;
  for (auto& p : pts)
    if (std::isfinite(p.*x) && std::isfinite(p.*y)) xs.push_back(p.*x), ys.push_back(p.*y);
  Correlation c;
  c.n = int(xs.size());
  auto varies = [](const std::vector<double>& v) { return std::any_of(v.begin(), v.end(), [&](double a) { return a != v.front(); }); };
  if (c.n < 2 || !varies(xs) || !varies(ys)) return c;
  c.r = fit(xs, ys).pearson;
  c.ci = pearson_ci95(c.r, c.n);
  return c;
}

}  // namespace

ResultsTable build_variants(const std::vector<std::pair<std::string, std::string>>& variants, const std::string& figure_stem) {
  if (variants.empty()) throw UserError("no variant given", "--variant", "name each base's study as NAME=DIR");
  std::vector<Point> points;
  std::vector<std::string> arms;  // in the order the studies list them
  std::map<std::string, std::string> folder_of;
  for (auto& [name, dir] : variants) {
    if (!folder_of.emplace(name, dir).second) throw UserError("variant named twice", "--variant " + name);
    const Study st = read_study(dir);
    for (const Arm* a : st.find_all([](const Arm&) { return true; })) {  // tuning runs left out
      bool any = false;
      for (auto& s : a->seeds)
        if (s.held_out.is_object()) points.push_back(point_of(name, *a, s)), any = true;
      if (any && std::find(arms.begin(), arms.end(), a->name) == arms.end()) arms.push_back(a->name);
    }
  }
  ResultsTable out;
  json& data = out.data;
  std::string& md = out.markdown;
  md += "# The mechanism study: what generation and understanding share (E2)\n\n";
  md += "Written by `unigap results --variant` from the studies of the variant bases (docs/mechanism.md); do not edit by hand.\n";
  md += "Each variant is one base with its fine-tuning arms and their held-out dynamics (`dynamics --held-out`: the base's "
        "own images of eval prompts, which no arm trained on). Tuning runs (arms at a learning rate their method did not "
        "choose on validation, docs/metrics.md) are left out.\n\n";
  md += "| variant | runs |\n|---|---|\n";
  for (auto& [name, dir] : variants) md += "| " + name + " | `" + dir + "` |\n";

  // Alignment at the start: a property of the base and a seed's probes, which every arm's run of
  // that seed shares; so the mean over a seed's runs, then over seeds.
  md += "\n## Alignment at the start\n\nMean cosine, over the held-out probes at the base, of the generation gradient "
        "(log pi(x|y)) with the yes/no judge's (log-odds) and with the Bayes judge's (log pi(y|x)): per seed the mean over "
        "its arms' held-out runs, then the mean over seeds with its 95% t-interval.\n\n"
        "| variant | cos(G, yes/no) | cos(G, Bayes) | seeds |\n|---|---|---|---|\n";
  data["variants"] = json::array();
  for (auto& [name, dir] : variants) {
    std::map<int, std::vector<double>> cu_of, cb_of;
    for (auto& p : points)
      if (p.variant == name) cu_of[p.seed].push_back(p.cos_yes_no), cb_of[p.seed].push_back(p.cos_bayes);
    auto per_seed = [](const std::map<int, std::vector<double>>& by_seed) {
      std::vector<double> v;
      for (auto& [seed, runs] : by_seed) {
        const std::vector<double> f = finite_values(runs);
        v.push_back(f.empty() ? NAN : mean_std(f).mean);
      }
      return v;
    };
    const std::vector<double> cu = per_seed(cu_of), cb = per_seed(cb_of);
    md += "| " + name + " | " + mean_ci_text(cu, "%.4f") + " | " + mean_ci_text(cb, "%.4f") + " | " + std::to_string(cu.size()) + " |\n";
    const auto mu = mean_std(finite_values(cu)), mb = mean_std(finite_values(cb));
    data["variants"].push_back({{"name", name}, {"runs", dir}, {"seeds", cu.size()},
                                {"cos_gen_yes_no", mu.n ? json(mu.mean) : json()}, {"cos_gen_bayes", mb.n ? json(mb.mean) : json()}});
  }

  md += "\n## Co-improvement per arm\n\nOver the arm's seeds: the mean change of the judge's statistic on the base's false "
        "positives (yes/no: log-odds; Bayes: log posterior of the prompt) with its 95% t-interval over seeds (a fall is "
        "co-improvement), the yes/no judge's FP&rarr;TN / TN&rarr;FP transitions on them summed over seeds, and the Gen "
        "change against the base in points.\n\n"
        "| variant | arm | seeds | yes/no: change on FP | FP&rarr;TN / TN&rarr;FP | Bayes: change on FP | Gen change |\n"
        "|---|---|---|---|---|---|---|\n";
  for (auto& [name, dir] : variants)
    for (auto& arm : arms) {
      std::vector<double> yn, by, dg;
      int64_t fptn = 0, tnfp = 0;
      for (auto& p : points)
        if (p.variant == name && p.arm == arm) yn.push_back(p.change_yes_no), by.push_back(p.change_bayes), dg.push_back(p.d_gen),
                                               fptn += p.fp_to_tn, tnfp += p.tn_to_fp;
      if (yn.empty()) continue;
      md += "| " + name + " | " + arm + " | " + std::to_string(yn.size()) + " | " + mean_ci_text(yn, "%+.3f") + " | " +
            std::to_string(fptn) + " / " + std::to_string(tnfp) + " | " + mean_ci_text(by, "%+.3f") + " | " +
            mean_ci_text(dg, "%+.1f", 100) + " |\n";
    }
  data["points"] = json::array();
  for (auto& p : points) data["points"].push_back(p.to_json());

  // Across variants and seeds, per arm: alignment against the change on false positives.
  md += "\n## Alignment against co-improvement\n\nPer arm, over every variant and seed: the Pearson correlation of the "
        "alignment at the start with the change on the base's false positives, with its 95% Fisher interval (points: "
        "variant x seed). The paper's mechanism predicts a negative correlation for arms trained on right images (more "
        "sharing, a larger fall) and a positive one under inverted supervision.\n\n"
        "| arm | judge | points | r [95% CI] | reading |\n|---|---|---|---|---|\n";
  data["correlations"] = json::array();
  std::vector<Series> yes_no_series, bayes_series;
  for (auto& arm : arms) {
    std::vector<Point> mine;
    for (auto& p : points)
      if (p.arm == arm) mine.push_back(p);
    const std::pair<const char*, Correlation> judged[] = {
        {"yes/no", correlate(mine, &Point::cos_yes_no, &Point::change_yes_no)},
        {"Bayes", correlate(mine, &Point::cos_bayes, &Point::change_bayes)}};
    for (auto& [judge, c] : judged) {
      md += "| " + arm + " | " + judge + " | " + std::to_string(c.n) + " | " +
            (std::isfinite(c.r) && c.n >= 4 ? fmt("%+.2f", c.r) + " [" + fmt("%+.2f", c.ci.lo) + ", " + fmt("%+.2f", c.ci.hi) + "]" : std::string("-")) +
            " | " + c.reading() + " |\n";
      data["correlations"].push_back({{"arm", arm}, {"judge", judge}, {"points", c.n}, {"r", std::isfinite(c.r) && c.n >= 4 ? json(c.r) : json()},
                                      {"ci95", {c.ci.lo, c.ci.hi}}, {"reading", c.reading()}});
    }
    Series yn{arm, {}, {}, "", false}, by{arm, {}, {}, "", false};
    for (auto& p : mine) {
      if (std::isfinite(p.cos_yes_no) && std::isfinite(p.change_yes_no)) yn.x.push_back(p.cos_yes_no), yn.y.push_back(p.change_yes_no);
      if (std::isfinite(p.cos_bayes) && std::isfinite(p.change_bayes)) by.x.push_back(p.cos_bayes), by.y.push_back(p.change_bayes);
    }
    if (!yn.x.empty()) yes_no_series.push_back(yn);
    if (!by.x.empty()) bayes_series.push_back(by);
  }
  auto figure = [&](const std::vector<Series>& series, const std::string& what, const std::string& judge, const std::string& stat) {
    if (series.empty()) return;
    ChartOptions o;
    o.title = judge + " judge: alignment at the start against the change on the base's false positives";
    o.x_label = "cos(G, " + judge + ") at the base";
    o.y_label = "change of " + stat + " on FP";
    const std::string path = figure_stem + "-" + what + ".svg";
    out.figures[path] = scatter_chart(series, o);
    md += "\n![" + o.title + "](" + path + ")\n";
  };
  figure(yes_no_series, "yes-no", "yes/no", "log-odds");
  figure(bayes_series, "bayes", "Bayes", "log pi(y|x)");
  return out;
}

}  // namespace unigap
