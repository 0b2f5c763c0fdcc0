#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace unigap {

namespace {
const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

struct Frame {
  double x0, x1, y0, y1;       // data range
  double L = 56, R = 16, T = 30, B = 46;  // margins, px
  int W, H;
  double px(double x) const { return L + (x - x0) / (x1 - x0) * (W - L - R); }
  double py(double y) const { return H - B - (y - y0) / (y1 - y0) * (H - T - B); }
};

void ranges(const std::vector<Series>& s, double& xl, double& xh, double& yl, double& yh) {
  xl = yl = 1e300, xh = yh = -1e300;
  for (auto& a : s)
    for (size_t i = 0; i < a.x.size() && i < a.y.size(); ++i) {
      if (!std::isfinite(a.x[i]) || !std::isfinite(a.y[i])) continue;
      xl = std::min(xl, a.x[i]), xh = std::max(xh, a.x[i]), yl = std::min(yl, a.y[i]), yh = std::max(yh, a.y[i]);
    }
  if (xl > xh) xl = 0, xh = 1;
  if (yl > yh) yl = 0, yh = 1;
  if (xl == xh) xl -= 0.5, xh += 0.5;
  if (yl == yh) yl -= 0.5, yh += 0.5;
}

std::string axes(const Frame& f, const ChartOptions& o, const std::vector<double>& xt, const std::vector<double>& yt) {
  std::string s;
  s += "<g class=\"axes\" font-size=\"11\" fill=\"#333\">";
  s += "<line class=\"x-axis\" x1=\"" + num(f.L) + "\" y1=\"" + num(f.H - f.B) + "\" x2=\"" + num(f.W - f.R) + "\" y2=\"" +
       num(f.H - f.B) + "\" stroke=\"#333\"/>";
  s += "<line class=\"y-axis\" x1=\"" + num(f.L) + "\" y1=\"" + num(f.T) + "\" x2=\"" + num(f.L) + "\" y2=\"" + num(f.H - f.B) +
       "\" stroke=\"#333\"/>";
  for (double t : xt) {
    const double x = f.px(t);
    s += "<g class=\"x-tick\"><line x1=\"" + num(x) + "\" y1=\"" + num(f.H - f.B) + "\" x2=\"" + num(x) + "\" y2=\"" +
         num(f.H - f.B + 4) + "\" stroke=\"#333\"/><text x=\"" + num(x) + "\" y=\"" + num(f.H - f.B + 16) +
         "\" text-anchor=\"middle\">" + format_tick(t) + "</text></g>";
  }
  for (double t : yt) {
    const double y = f.py(t);
    s += "<g class=\"y-tick\"><line x1=\"" + num(f.L - 4) + "\" y1=\"" + num(y) + "\" x2=\"" + num(f.W - f.R) + "\" y2=\"" +
         num(y) + "\" stroke=\"#ddd\"/><text x=\"" + num(f.L - 6) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
         format_tick(t) + "</text></g>";
  }
  s += "<text class=\"x-label\" x=\"" + num((f.L + f.W - f.R) / 2) + "\" y=\"" + num(f.H - 8) + "\" text-anchor=\"middle\">" +
       svg_escape(o.x_label) + "</text>";
  s += "<text class=\"y-label\" transform=\"translate(14," + num((f.T + f.H - f.B) / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       svg_escape(o.y_label) + "</text>";
  s += "<text class=\"title\" x=\"" + num(f.L) + "\" y=\"18\" font-size=\"13\" font-weight=\"bold\">" + svg_escape(o.title) + "</text>";
  s += "</g>";
  return s;
}

std::string legend(const std::vector<Series>& series, const Frame& f) {
  std::string s = "<g class=\"legend\" font-size=\"11\">";
  double x = f.L + 8;
  for (size_t i = 0; i < series.size(); ++i) {
    const std::string col = series[i].color.empty() ? kPalette[i % 8] : series[i].color;
    s += "<g class=\"legend-item\"><rect x=\"" + num(x) + "\" y=\"" + num(f.T - 2) + "\" width=\"10\" height=\"10\" fill=\"" + col +
         "\"/><text x=\"" + num(x + 14) + "\" y=\"" + num(f.T + 7) + "\">" + svg_escape(series[i].name) + "</text></g>";
    x += 24 + 6.5 * series[i].name.size();
  }
  return s + "</g>";
}

Frame frame_for(const std::vector<Series>& series, const ChartOptions& o, std::vector<double>& xt, std::vector<double>& yt) {
  double xl, xh, yl, yh;
  ranges(series, xl, xh, yl, yh);
  if (o.y_from_zero) yl = std::min(0.0, yl);
  if (o.diagonal) xl = yl = std::min(xl, yl), xh = yh = std::max(xh, yh);
  xt = nice_ticks(xl, xh);
  yt = nice_ticks(yl, yh);
  Frame f{std::min(xl, xt.front()), std::max(xh, xt.back()), std::min(yl, yt.front()), std::max(yh, yt.back())};
  f.W = o.width, f.H = o.height;
  f.T = series.size() > 1 ? 40 : 30;
  return f;
}

std::string open_svg(const ChartOptions& o) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"" + std::to_string(o.width) + "\" height=\"" +
         std::to_string(o.height) + "\" viewBox=\"0 0 " + std::to_string(o.width) + " " + std::to_string(o.height) +
         "\" role=\"img\" aria-label=\"" + svg_escape(o.title) + "\">";
}
}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  // Multiples of the step (k * step, not a running sum, so 0.6 is 0.6).
  std::vector<double> t;
  const long long k0 = (long long)std::floor(lo / step + 1e-9), k1 = (long long)std::ceil(hi / step - 1e-9);
  for (long long k = k0; k <= k1; ++k) t.push_back(k == 0 ? 0.0 : double(k) * step);
  return t;
}

std::string format_tick(double v) {
  char b[32];
  if (v != 0 && (std::abs(v) < 1e-3 || std::abs(v) >= 1e5)) std::snprintf(b, sizeof b, "%.0e", v);
  else std::snprintf(b, sizeof b, "%g", std::round(v * 1e6) / 1e6);
  return b;
}

std::string svg_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string line_chart(const std::vector<Series>& series, const ChartOptions& o) {
  std::vector<double> xt, yt;
  Frame f = frame_for(series, o, xt, yt);
  std::string s = open_svg(o) + axes(f, o, xt, yt);
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& a = series[i];
    const std::string col = a.color.empty() ? kPalette[i % 8] : a.color;
    std::string pts;
    std::string dots;
    for (size_t k = 0; k < a.x.size() && k < a.y.size(); ++k) {
      if (!std::isfinite(a.y[k])) continue;
      pts += num(f.px(a.x[k])) + "," + num(f.py(a.y[k])) + " ";
      dots += "<circle class=\"point\" cx=\"" + num(f.px(a.x[k])) + "\" cy=\"" + num(f.py(a.y[k])) + "\" r=\"2.5\" fill=\"" + col + "\"/>";
    }
    s += "<g class=\"series\" data-name=\"" + svg_escape(a.name) + "\"><polyline fill=\"none\" stroke=\"" + col +
         "\" stroke-width=\"2\"" + (a.dashed ? " stroke-dasharray=\"5,3\"" : "") + " points=\"" + pts + "\"/>" + dots + "</g>";
  }
  if (series.size() > 1) s += legend(series, f);
  return s + "</svg>";
}

std::string scatter_chart(const std::vector<Series>& series, const ChartOptions& o) {
  std::vector<double> xt, yt;
  Frame f = frame_for(series, o, xt, yt);
  std::string s = open_svg(o) + axes(f, o, xt, yt);
  if (o.diagonal)
    s += "<line class=\"diagonal\" x1=\"" + num(f.px(f.x0)) + "\" y1=\"" + num(f.py(f.x0)) + "\" x2=\"" + num(f.px(f.x1)) +
         "\" y2=\"" + num(f.py(f.x1)) + "\" stroke=\"#999\" stroke-dasharray=\"4,3\"/>";
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& a = series[i];
    const std::string col = a.color.empty() ? kPalette[i % 8] : a.color;
    s += "<g class=\"series\" data-name=\"" + svg_escape(a.name) + "\">";
    for (size_t k = 0; k < a.x.size() && k < a.y.size(); ++k)
      if (std::isfinite(a.x[k]) && std::isfinite(a.y[k]))
        s += "<circle class=\"point\" cx=\"" + num(f.px(a.x[k])) + "\" cy=\"" + num(f.py(a.y[k])) + "\" r=\"3\" fill=\"" + col +
             "\" fill-opacity=\"0.7\"/>";
    s += "</g>";
  }
  if (series.size() > 1) s += legend(series, f);
  return s + "</svg>";
}

std::string bar_chart(const std::vector<std::string>& groups, const std::vector<Series>& series, const ChartOptions& o) {
  double yl = 0, yh = 0;
  for (auto& a : series)
    for (double v : a.y)
      if (std::isfinite(v)) yl = std::min(yl, v), yh = std::max(yh, v);
  if (yh - yl < 1e-9) yh = yl + 1;  // all bars at one value (e.g. zero): a unit axis, not a 1e-12 one
  auto yt = nice_ticks(yl, yh);
  Frame f{0, double(groups.size()), std::min(yl, yt.front()), std::max(yh, yt.back())};
  f.W = o.width, f.H = o.height;
  f.T = series.size() > 1 ? 40 : 30;
  std::string s = open_svg(o) + axes(f, o, {}, yt);
  const double gw = (f.W - f.L - f.R) / std::max<size_t>(1, groups.size());
  const double bw = gw * 0.8 / std::max<size_t>(1, series.size());
  for (size_t g = 0; g < groups.size(); ++g)
    s += "<text class=\"x-tick\" font-size=\"11\" x=\"" + num(f.L + gw * (g + 0.5)) + "\" y=\"" + num(f.H - f.B + 16) +
         "\" text-anchor=\"middle\">" + svg_escape(groups[g]) + "</text>";
  for (size_t i = 0; i < series.size(); ++i) {
    const std::string col = series[i].color.empty() ? kPalette[i % 8] : series[i].color;
    s += "<g class=\"series\" data-name=\"" + svg_escape(series[i].name) + "\">";
    for (size_t g = 0; g < groups.size() && g < series[i].y.size(); ++g) {
      const double v = series[i].y[g];
      if (!std::isfinite(v)) continue;
      const double x = f.L + gw * g + gw * 0.1 + bw * i, y0 = f.py(0), y1 = f.py(v);
      s += "<rect class=\"bar\" x=\"" + num(x) + "\" y=\"" + num(std::min(y0, y1)) + "\" width=\"" + num(bw) + "\" height=\"" +
           num(std::abs(y1 - y0)) + "\" fill=\"" + col + "\"><title>" + svg_escape(series[i].name + " " + groups[g] + ": " +
                                                                                   format_tick(v)) + "</title></rect>";
    }
    s += "</g>";
  }
  if (series.size() > 1) s += legend(series, f);
  return s + "</svg>";
}

}  // namespace unigap
