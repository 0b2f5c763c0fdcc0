#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "common/build_info.h"
#include "common/image_resize.h"
#include "eval/gap_eval.h"
#include "eval/gap_metrics.h"
#include "io/atomic_file.h"
#include "io/jsonl.h"
#include "io/png.h"
#include "io/run_dir.h"
#include "report/claims.h"
#include "report/study.h"
#include "report/svg.h"
#include "train/reward_monitor.h"

namespace unigap {

namespace {

json load_or_null(const std::string& path) {
  if (!file_exists(path)) return nullptr;
  try {
    return read_json(path);
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::string esc(const std::string& s) { return svg_escape(s); }

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += t[v >> 18], out += t[(v >> 12) & 63], out += t[(v >> 6) & 63], out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += t[v >> 18], out += t[(v >> 12) & 63], out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += t[v >> 18], out += t[(v >> 12) & 63], out += t[(v >> 6) & 63], out += '=';
  }
  return out;
}

// "12.3% [10.1, 14.8]" from a Rate json ({value, ci95, k, n}); "n/a" when undefined.
std::string rate(const json& r) {
  if (r.is_null() || !r.contains("value") || r["value"].is_null()) return "n/a";
  char b[96];
  std::snprintf(b, sizeof b, "%.1f%% [%.1f, %.1f]", 100 * r["value"].get<double>(), 100 * r["ci95"][0].get<double>(),
                100 * r["ci95"][1].get<double>());
  return b;
}
double value(const json& r, double fallback = NAN) {
  return (r.is_object() && r.contains("value") && !r["value"].is_null()) ? r["value"].get<double>() : fallback;
}

std::string tag_table(const json& e) {
  std::string h = "<table><tr><th>group</th><th>images</th><th>Gen</th><th>Und (rendered pairs)</th><th>Non</th><th>WeakGen</th><th>TP</th><th>FP</th><th>TN</th><th>FN</th></tr>";
  auto row = [&](const std::string& name, const json& g, const json& u) {
    const auto& c = g["confusion"];
    h += "<tr><td>" + esc(name) + "</td><td>" + std::to_string(g["gen"]["n"].get<int64_t>()) + "</td><td>" + rate(g["gen"]) +
         "</td><td>" + (u.is_null() ? "n/a" : rate(u["accuracy"])) + "</td><td>" + rate(g["non"]) + "</td><td>" +
         rate(g["weakgen"]) + "</td><td>" + std::to_string(c["tp"].get<int64_t>()) + "</td><td>" +
         std::to_string(c["fp"].get<int64_t>()) + "</td><td>" + std::to_string(c["tn"].get<int64_t>()) + "</td><td>" +
         std::to_string(c["fn"].get<int64_t>()) + "</td></tr>";
  };
  for (auto& [t, g] : e["gap"]["by_tag"].items()) row(t, g, e["und"]["by_tag"].contains(t) ? e["und"]["by_tag"][t] : json(nullptr));
  for (auto& [l, g] : e["gap"]["by_level"].items())
    row("level: " + l, g, e["und"]["by_level"].contains(l) ? e["und"]["by_level"][l] : json(nullptr));
  row("all", e["gap"]["pooled"], e["und"]["overall"]);
  char b[240];
  const json& ci = e["gap"]["gen_overall_ci95"];
  const int groups = e["gap"].value("groups", 0);
  if (ci.is_array())
    std::snprintf(b, sizeof b,
                  "</table><p>GenEval overall (mean of tags): <b>%.1f%%</b> [%.1f, %.1f] (bootstrap over %d distinct prompts).</p>",
                  100 * e["gap"]["gen_overall"].get<double>(), 100 * ci[0].get<double>(), 100 * ci[1].get<double>(), groups);
  else
    std::snprintf(b, sizeof b, "</table><p>GenEval overall (mean of tags): <b>%.1f%%</b> (no interval: %d distinct prompt).</p>",
                  100 * e["gap"]["gen_overall"].get<double>(), groups);
  return h + b;
}

std::string confusion_box(const std::string& name, const json& e) {
  if (e.is_null()) return "";
  const auto& c = e["gap"]["pooled"]["confusion"];
  return "<table class=\"confusion\"><caption>" + esc(name) +
         "</caption><tr><th></th><th>judged right</th><th>judged wrong</th></tr><tr><th>own: accept</th><td>TP " +
         std::to_string(c["tp"].get<int64_t>()) + "</td><td>FP " + std::to_string(c["fp"].get<int64_t>()) +
         "</td></tr><tr><th>own: reject</th><td>FN " + std::to_string(c["fn"].get<int64_t>()) + "</td><td>TN " +
         std::to_string(c["tn"].get<int64_t>()) + "</td></tr></table>";
}

std::string curves(const std::string& dir, const std::string& title) {
  if (!file_exists(dir + "/metrics.jsonl")) return "<p>" + esc(title) + ": not run.</p>";
  Series gen{"Gen", {}, {}, "", false}, und{"Und", {}, {}, "", false}, non{"Non", {}, {}, "", true};
  // Online RL (GRPO): the reward-hacking monitor, the self reward against the oracle's accuracy
  // on the same samples, step by step; an alarm marks where their gap left its interval.
  Series reward{"self reward", {}, {}, "", false}, oracle{"oracle accuracy", {}, {}, "", false},
      precision{"precision of favoured", {}, {}, "", true}, alarms{"alarm", {}, {}, "#c0392b", false};
  const auto lines = read_jsonl(dir + "/metrics.jsonl");
  for (const MonitorPoint& m : monitor_points(lines, dir + "/metrics.jsonl")) {
    const double st = double(m.step);
    reward.x.push_back(st), reward.y.push_back(m.self_reward);
    oracle.x.push_back(st), oracle.y.push_back(m.oracle_accuracy);
    if (m.favoured_precision) precision.x.push_back(st), precision.y.push_back(*m.favoured_precision);
    if (m.alarm) alarms.x.push_back(st), alarms.y.push_back(m.self_reward);
  }
  for (auto& l : lines) {
    const json& j = l.value;
    if (j.value("kind", "") != "eval") continue;
    const double ep = j["epoch"].get<double>();
    gen.x.push_back(ep), gen.y.push_back(j["gen"].get<double>());
    und.x.push_back(ep), und.y.push_back(value(j["und"]));
    non.x.push_back(ep), non.y.push_back(value(j["non"]));
  }
  ChartOptions o;
  o.title = title;
  o.x_label = "epoch";
  o.y_label = "rate";
  o.width = 440;
  std::string h = line_chart({gen, und, non}, o);
  if (!reward.x.empty()) {
    ChartOptions m = o;
    m.title = title + ": reward-hacking monitor";
    m.x_label = "step";
    std::vector<Series> s{reward, oracle, precision};
    if (!alarms.x.empty()) s.push_back(alarms);
    h += line_chart(s, m);
  }
  return h;
}

// Images up to this size are embedded as they are and shown enlarged with square pixels (the
// shapes model's 32 px); larger ones (Janus-Pro's 384 px) as smooth thumbnails of this size,
// so that a grid of them stays a few megabytes.
constexpr int kThumbnail = 160;

// One figure per image: green/red border for the external judge, caption with both
// verdicts, the score and the judge's reason on hover.
std::string figure(const json& r) {
  const std::string f = r["filename"].get<std::string>();
  if (!file_exists(f)) return "";
  const bool ok = r["correct"].get<bool>(), own = r["verdict"].get<bool>();
  char title[320];
  std::string png = read_file(f);
  const Image image = decode_png(reinterpret_cast<const uint8_t*>(png.data()), png.size(), f);
  const bool large = std::max(image.width, image.height) > kThumbnail;
  if (large) {
    const double s = double(kThumbnail) / std::max(image.width, image.height);
    const auto bytes = encode_png(resize_image(image, std::max(1, int(image.width * s)), std::max(1, int(image.height * s))));
    png.assign(bytes.begin(), bytes.end());
  }
  std::snprintf(title, sizeof title, "%dx%d; own score %.2f; external judge: %s", image.width, image.height, r["score"].get<double>(),
                ok ? "right" : esc(r["reason"].get<std::string>()).c_str());
  return std::string("<figure class=\"") + (ok ? "right" : "wrong") + (large ? " large" : "") + "\" title=\"" + title +
         "\"><img alt=\"sample\" src=\"data:image/png;base64," + base64(png) + "\"><figcaption>" +
         (own ? "own &#10003;" : "own &#10007;") + " | " + (ok ? "judge &#10003;" : "judge &#10007;") + "</figcaption></figure>";
}

// The first `prompts` distinct prompts of the first evaluation, each with `per_prompt` samples of
// every evaluation given (same suite and seeds: the same prompt lines), one row per model.
std::string image_grid(const std::vector<std::pair<std::string, std::string>>& evals, int prompts, int per_prompt) {
  std::vector<std::map<int, std::vector<json>>> by(evals.size());
  for (size_t e = 0; e < evals.size(); ++e)
    if (file_exists(evals[e].second + "/results.jsonl"))
      for (auto& l : read_jsonl(evals[e].second + "/results.jsonl")) by[e][l.value["prompt_index"].get<int>()].push_back(l.value);
  if (by.empty() || by[0].empty()) return "<p>No images.</p>";
  std::string h = "<div class=\"grid\">";
  std::set<std::string> seen;
  int shown = 0;
  for (auto& [i, v] : by[0]) {
    const std::string prompt = v[0]["prompt"].get<std::string>();
    if (shown >= prompts) break;
    if (!seen.insert(prompt).second) continue;  // the suite repeats prompts of small tags
    ++shown;
    h += "<div class=\"cell\"><div class=\"prompt\">" + esc(prompt) + "</div>";
    for (size_t e = 0; e < evals.size(); ++e) {
      if (!by[e].count(i)) continue;
      h += "<div class=\"row\"><span class=\"who\">" + esc(evals[e].first) + "</span>";
      for (int k = 0; k < per_prompt && k < int(by[e].at(i).size()); ++k) h += figure(by[e].at(i)[k]);
      h += "</div>";
    }
    h += "</div>";
  }
  return h + "</div>";
}

std::string claim_row(const Claim& c) {
  const std::string cls = c.verdict.rfind("reproduced", 0) == 0 ? "ok" : c.verdict.rfind("not reproduced", 0) == 0 ? "bad" : "na";
  return "<tr><td>" + esc(c.text) + "</td><td class=\"" + cls + "\">" + esc(c.verdict) + "</td><td>" + esc(c.evidence) + "</td></tr>";
}

const char* kStyle =
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>unigap report</title><style>"
    "body{font-family:sans-serif;max-width:1100px;margin:24px auto;color:#222}table{border-collapse:collapse;margin:8px 0}"
    "td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}th{background:#f3f3f3}.ok{color:#176d17;font-weight:bold}"
    ".bad{color:#b01010;font-weight:bold}.na{color:#777}.grid{display:flex;flex-wrap:wrap;gap:10px}.cell{border:1px solid #ddd;padding:4px;width:330px}"
    ".prompt{font-size:12px;height:32px}.row{display:flex;align-items:center}.who{font-size:10px;width:54px}"
    "figure{display:inline-block;margin:2px;text-align:center}figure img{width:56px;height:56px;image-rendering:pixelated}figure.large img{width:160px;height:auto;image-rendering:auto}.cell:has(figure.large){width:auto}"
    "figure.right img{border:3px solid #2a2}figure.wrong img{border:3px solid #c22}figcaption{font-size:9px}.confusion{display:inline-table;margin-right:16px}"
    "section{margin-bottom:28px}details{margin:6px 0}</style></head><body><h1>unigap: the generation-understanding gap, measured and closed</h1>";

std::string setup_section(const std::string& D, const json& cfg) {
  std::string h = "<section id=\"setup\"><h2>Setup</h2><table>";
  if (cfg.is_object() && cfg.contains("provenance"))
    h += "<tr><th>run by commit</th><td>" + esc(cfg["provenance"].value("commit", std::string("not recorded"))) + "</td></tr>";
  h += "<tr><th>report by commit</th><td>" + esc(build_info::commit()) + "</td></tr>";
  if (!cfg.is_null()) {
    h += "<tr><th>seed</th><td>" + cfg.value("seed", json(0)).dump() + "</td></tr>";
    const bool quick = cfg.value("quick", false), own_base = cfg.value("base", std::string()).empty();
    h += "<tr><th>size</th><td>" +
         std::string(!quick ? "default"
                     : own_base ? "--quick --pretrain (a tiny model pretrained on the spot: figures are not meaningful)"
                                : "--quick (the shipped base, small budgets: real figures, but differences of a few points are noise)") +
         "</td></tr>";
    h += "<tr><th>base model</th><td>" + esc(own_base ? std::string("pretrained in this run") : cfg["base"].get<std::string>()) + "</td></tr>";
    if (cfg.contains("plan")) {
      std::string b;
      for (auto& [k, v] : cfg["plan"].items()) b += (b.empty() ? "" : ", ") + k + " " + (v.is_string() ? v.get<std::string>() : v.dump());
      h += "<tr><th>budget</th><td>" + esc(b) + "</td></tr>";
    }
    if (cfg.contains("provenance")) {
      const json& p = cfg["provenance"];
      h += "<tr><th>machine</th><td>" + esc(p.value("host", "") + " (" + machine_text(p) + ")") + ", run at " +
           esc(p.value("time_utc", "")) + "</td></tr>";
    }
  }
  return h + "<tr><th>run directory</th><td>" + esc(D) + "</td></tr></table></section>";
}

std::string methods_section(const Study& st, const json& base) {
  std::string h =
      "<section id=\"methods\"><h2>Before and after self-improvement</h2><p>Every model on the same held-out prompts and seeds "
      "as the base. Differences are paired with the base: Gen and Non by a bootstrap over prompts that keeps both models' "
      "images of a prompt together; Und (rendered pairs) by Newcombe's interval. The win rate: both models judge the base's "
      "images. External judge: " + esc(judge_of(base)) + ".</p>"
      "<table><tr><th>model</th><th>Gen (overall)</th><th>Gen vs base</th><th>Und</th><th>Und vs base</th><th>Non</th><th>Non vs base</th>"
      "<th>WeakGen</th><th>win rate vs base</th><th>FP&rarr;TN</th><th>TN&rarr;FP</th><th>guidance</th></tr>";
  auto guidance = [](const json& e) {
    const double w = chosen_guidance(e);
    return "<td>" + (std::isfinite(w) ? fmt("%g", w) : std::string("-")) + "</td>";
  };
  if (!base.is_null()) {
    h += "<tr><td>base</td><td>" + fmt("%.1f%%", 100 * base["gap"]["gen_overall"].get<double>()) + "</td><td></td><td>" +
         rate(base["und"]["overall"]["accuracy"]) + "</td><td></td><td>" + rate(base["gap"]["pooled"]["non"]) + "</td><td></td><td>" +
         rate(base["gap"]["pooled"]["weakgen"]) + "</td><td></td><td></td><td></td>" + guidance(base) + "</tr>";
  }
  for (const Arm& a : st.arms) {
    const ArmSeed& s = a.seeds.front();
    const json& e = s.eval;
    std::string win = "-", fptn = "-", tnfp = "-";
    if (e.contains("vs_ref")) {
      const Rate w = Rate::from_json(e["vs_ref"]["win_rate"]);
      win = w.n ? rate_text(w) : "undefined (no disagreement)";
      fptn = std::to_string(s.fp_to_tn), tnfp = std::to_string(s.tn_to_fp);
    }
    h += "<tr><td>" + esc(a.name + ": " + a.description()) + "</td><td>" + fmt("%.1f%%", 100 * s.gen) + "</td><td>" +
         diff_text(gen_diff(a)) + "</td><td>" + rate(e["und"]["overall"]["accuracy"]) + "</td><td>" + diff_text(und_diff(a)) +
         "</td><td>" + rate(e["gap"]["pooled"]["non"]) + "</td><td>" + diff_text(non_diff(a)) + "</td><td>" +
         rate(e["gap"]["pooled"]["weakgen"]) + "</td><td>" + win + "</td><td>" + fptn + "</td><td>" + tnfp + "</td>" + guidance(e) + "</tr>";
  }
  for (auto& [name, why] : st.failed) h += "<tr><td>" + esc(name) + "</td><td colspan=\"11\">failed: " + esc(why) + "</td></tr>";
  h += "</table><p>Differences in points; <i>p</i>: the interval is this run's, over the eval prompts (one seed). Guidance: "
       "the weight each model was evaluated at, chosen on the validation split (- where the world has none and the default "
       "was used); the win rate reads the base's images at the base's weight.</p>";
  // Gen per tag, base and each arm, as bars; then each arm's full per-tag table.
  if (!base.is_null()) {
    std::vector<std::string> tags;
    for (auto& [t, g] : base["gap"]["by_tag"].items()) tags.push_back(t);
    std::vector<Series> bars;
    auto series = [&](const std::string& name, const json& e) {
      Series s{name, {}, {}, "", false};
      for (size_t i = 0; i < tags.size(); ++i) {
        s.x.push_back(double(i));
        s.y.push_back(e["gap"]["by_tag"].contains(tags[i]) ? value(e["gap"]["by_tag"][tags[i]]["gen"], 0) : 0);
      }
      return s;
    };
    bars.push_back(series("base", base));
    for (const Arm& a : st.arms) bars.push_back(series(a.name, a.seeds.front().eval));
    ChartOptions o;
    o.title = "Gen per tag, before and after";
    o.y_label = "Gen";
    o.y_from_zero = true;
    o.width = 760;
    h += bar_chart(tags, bars, o);
  }
  for (const Arm& a : st.arms)
    h += "<details><summary>" + esc(a.name + ": " + a.description()) + ": per tag and level</summary>" + tag_table(a.seeds.front().eval) +
         "</details>";
  return h + "</section>";
}

std::string audit_section(const Study& st) {
  std::string h =
      "<section id=\"audit\"><h2>Data-quality check</h2><p>Each pool, before training: a random sample of its candidates "
      "checked by the external judge. <code>improve --audit-min-precision X</code> refuses to train below X.</p><table><tr><th>run</th>"
      "<th>judge</th><th>accepted</th><th>precision of accepted</th><th>WeakGen of rejected</th></tr>";
  for (const Arm& a : st.arms) {
    const json& au = a.seeds.front().audit;
    if (au.is_null()) continue;
    h += "<tr><td>" + esc(a.name + ": " + a.description()) + "</td><td>" + esc(au.value("judge", std::string("oracle (not recorded)"))) +
         "</td><td>" + rate(au["accept_rate"]) + "</td><td>" + rate(au["precision"]) + "</td><td>" + rate(au["weakgen"]) + "</td></tr>";
  }
  return h + "</table></section>";
}

std::string dynamics_section(const json& dyn) {
  std::string h = "<section id=\"dynamics\"><h2>Learning dynamics (eNTK)</h2>";
  if (dyn.is_null() || dyn.contains("failed"))
    return h + "<p>Not measured" + (dyn.is_null() ? std::string(".") : ": " + esc(dyn["failed"].get<std::string>())) + "</p></section>";
  h += "<table><tr><th>eta</th><th>dG: r, slope</th><th>dU (judge): r, slope</th><th>dU (Bayes): r, slope</th></tr>";
  for (auto& f : dyn["fits"]) {
    char b[256];
    std::snprintf(b, sizeof b, "<tr><td>%g</td><td>%.3f, %.3f</td><td>%.3f, %.3f</td><td>%.3f, %.3f</td></tr>", f["eta"].get<double>(),
                  f["dG"]["pearson"].get<double>(), f["dG"]["slope"].get<double>(), f["dU_judge"]["pearson"].get<double>(),
                  f["dU_judge"]["slope"].get<double>(), f["dU_bayes"]["pearson"].get<double>(), f["dU_bayes"]["slope"].get<double>());
    h += b;
  }
  h += "</table>";
  Series pg{"dG", {}, {}, "", false}, pu{"dU (judge)", {}, {}, "", false};
  for (auto& p : dyn["probes"]) {
    pg.x.push_back(p["pred_dG"][0]), pg.y.push_back(p["meas_dG"][0]);
    pu.x.push_back(p["pred_dU"][0]), pu.y.push_back(p["meas_dU"][0]);
  }
  ChartOptions o;
  o.diagonal = true;
  o.x_label = "predicted (first order)";
  o.y_label = "measured";
  o.width = 440;
  o.title = "one SFT step, smallest eta: dG";
  h += scatter_chart({pg}, o);
  o.title = "one SFT step, smallest eta: dU (judge)";
  h += scatter_chart({pu}, o);
  if (dyn.contains("groups")) {
    h += "<p>Groups by the external verdict (" + esc(dyn.value("judge", std::string("oracle"))) +
         ") and the two models' verdicts on the base's images.</p><table><tr><th>group (base -> improved)</th><th>n</th><th>mean dG</th>"
         "<th>dG &lt; 0</th><th>mean dU</th><th>same sign</th></tr>";
    for (auto& [g, v] : dyn["groups"].items()) {
      char b[256];
      std::snprintf(b, sizeof b, "<tr><td>%s</td><td>%d</td><td>%+.3f</td><td>%d</td><td>%+.3f</td><td>%d</td></tr>", esc(g).c_str(),
                    v["n"].get<int>(), v["mean_dG"].get<double>(), v["dG_negative"].get<int>(), v["mean_dU"].get<double>(),
                    v["dG_dU_same_sign"].get<int>());
      h += b;
    }
    h += "</table>";
    // Each base image from base to improved: the change of log pi(x|y) against the change of
    // log P(yes). The theory's FP correction sits bottom-left (both fall).
    std::vector<Series> pts;
    for (auto& [g, v] : dyn["groups"].items()) {
      if (!v.contains("dU")) continue;
      Series s{g + " (" + std::to_string(v["n"].get<int>()) + ")", {}, {}, "", false};
      for (size_t i = 0; i < v["dG"].size() && i < v["dU"].size(); ++i)
        s.x.push_back(v["dG"][i].get<double>()), s.y.push_back(v["dU"][i].get<double>());
      pts.push_back(std::move(s));
    }
    if (!pts.empty()) {
      ChartOptions g;
      g.title = "base -> improved, per base image: dG vs dU, by group";
      g.x_label = "dG = change of log pi(x|y)";
      g.y_label = "dU = change of log P(yes)";
      g.width = 560;
      h += scatter_chart(pts, g);
    }
  }
  if (dyn.contains("kernel")) {
    const auto& k = dyn["kernel"];
    char b[320];
    std::snprintf(b, sizeof b,
                  "<p>Kernel proxies: mean |K(own prompt, batch)| %.4g vs mean |K(alternative prompts, batch)| %.4g; "
                  "the own prompt dominates on %d of %d probes; mean cosine of the generation and understanding "
                  "gradients of the same pair %.4f.</p>",
                  k["mean_abs_K_own"].get<double>(), k["mean_abs_K_alternatives"].get<double>(),
                  k["probes_own_dominates"].get<int>(), k["probes"].get<int>(), k["mean_cos_gen_und"].get<double>());
    h += b;
  }
  return h + "</section>";
}

// Non decomposed per arm (docs/metrics.md): did its fall come from better images or a laxer judge?
std::string non_section(const Study& st) {
  if (st.base_recs.empty()) return "";
  const auto& base = st.base_recs.begin()->second;
  std::string h = "<section id=\"non\"><h2>Non decomposed: better images or a laxer judge?</h2><p>Non = 1 - (TP + FP) / N on "
                  "a model's own images, so a change splits exactly into the share of accepted correct images (better images the "
                  "judge recognises) and of accepted wrong images (a laxer judge). Points, with 95% intervals over distinct "
                  "prompts (paired cluster bootstrap).</p><table><tr><th>model</th><th>Non</th><th>accepted and right</th>"
                  "<th>accepted and wrong</th><th>precision of its acceptances</th><th>AUROC</th><th>reading</th></tr>";
  auto pts = [](double v, const Interval& ci) {
    char b[96];
    if (defined(ci)) std::snprintf(b, sizeof b, "%+.1f [%+.1f, %+.1f]", 100 * v, 100 * ci.lo, 100 * ci.hi);
    else std::snprintf(b, sizeof b, "%+.1f", 100 * v);
    return std::string(b);
  };
  int rows = 0;
  for (const Arm& a : st.arms) {
    if (a.seeds.empty() || a.seeds.front().recs.empty()) continue;
    const NonDecomposition d = decompose_non(base, a.seeds.front().recs, 23);
    char b[64];
    std::snprintf(b, sizeof b, "%.3f -> %.3f", d.auroc_base, d.auroc_now);
    h += "<tr><td>" + esc(a.name) + "</td><td>" + pts(d.d_non, Interval{NAN, NAN}) + "</td><td>" + pts(d.d_tp, d.d_tp_ci) +
         "</td><td>" + pts(d.d_fp, d.d_fp_ci) + "</td><td>" + esc(rate_text(d.base.precision()) + " -> " + rate_text(d.now.precision())) +
         "</td><td>" + b + "</td><td><b>" + esc(d.reading) + "</b></td></tr>";
    ++rows;
  }
  if (!rows) return "";
  return h + "</table></section>";
}

}  // namespace

std::string write_report(const std::string& D) {
  // ---- gather ----
  const json cfg = load_or_null(D + "/config.json");
  const int seed = cfg.is_object() ? cfg.value("seed", 0) : 0;
  const Study st = read_run(D, seed);
  const json base = st.base_of.empty() ? json() : st.base_of.begin()->second;
  const json dyn = load_or_null(D + "/dynamics/summary.json");
  // ---- compute ----
  const std::vector<Claim> claims = judge_claims(st, dyn);

  // ---- render ----
  std::string h = kStyle;
  h += setup_section(D, cfg);
  h += "<section id=\"base\"><h2>The internal gap of the base model</h2>";
  h += base.is_null() ? "<p>Not measured.</p>" : "<p>External judge: " + esc(judge_of(base)) + ".</p>" + tag_table(base);
  h += "</section>";
  h += methods_section(st, base);

  h += "<section id=\"curves\"><h2>Training curves: co-improvement next to co-degradation</h2><p>Held-out Gen and "
       "understanding (Und) with the Non-unification score, after every epoch. Non falls in both: it measures agreement, "
       "not correctness.</p>";
  for (const Arm& a : st.arms) h += curves(D + "/" + a.name, a.name + ": " + a.description());
  h += "</section>";

  h += "<section id=\"confusion\"><h2>Confusion of the self-judge on its own images</h2>" + confusion_box("base", base);
  for (const Arm& a : st.arms) h += confusion_box(a.name, a.seeds.front().eval);
  h += "</section>";
  h += non_section(st);
  h += audit_section(st);
  h += dynamics_section(dyn);

  {
    std::vector<std::pair<std::string, std::string>> evals = {{"base", D + "/eval-base"}};
    for (const Arm& a : st.arms)
      if (a.supervision == "self" && a.method == "sft") evals.push_back({a.name, D + "/eval-" + a.name});
    h += "<section id=\"images\"><h2>Samples before and after</h2><p>Each prompt with its samples from the base and from the "
         "self-improved models (same sampling seeds). Green border: the external judge says right; red: wrong. Caption: the "
         "model's own verdict and the external judge's. Hover for the score and the judge's reason.</p>" +
         image_grid(evals, 12, 4) + "</section>";
  }

  h += "<section id=\"claims\"><h2>The paper's claims in this run</h2><table><tr><th>claim (docs/method.md section 7)</th><th>this run</th><th>evidence</th></tr>";
  for (auto& c : claims) h += claim_row(c);
  if (claims.empty()) h += "<tr><td colspan=\"3\">No stage has finished yet.</td></tr>";
  h += "</table><p>The same rules as <code>unigap results</code>. " + esc(verdict_legend()) +
       " A demo run is one seed; docs/results.md gives the multi-seed figures.</p></section>";
  h += "</body></html>\n";
  const std::string path = D + "/report.html";
  write_file_atomic(path, h);
  return path;
}

}  // namespace unigap
