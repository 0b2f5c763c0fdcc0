// Inline SVG charts drawn by our own code for the self-contained HTML report: line
// charts (training curves), grouped bars (per-tag tables), scatter plots (predicted vs
// measured). Axes with "nice" ticks, a legend, and every series' points as plain
// elements so tests can check them.
#pragma once

#include <string>
#include <vector>

namespace unigap {

struct Series {
  std::string name;
  std::vector<double> x, y;
  std::string color;  // CSS colour; empty = from the palette
  bool dashed = false;
};

struct ChartOptions {
  std::string title, x_label, y_label;
  int width = 560, height = 320;
  bool y_from_zero = false;
  bool diagonal = false;  // y = x reference line (scatter)
};

// "Nice" tick values covering [lo, hi] (1, 2, 5 x 10^k steps), about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
std::string format_tick(double v);
std::string svg_escape(const std::string& s);

std::string line_chart(const std::vector<Series>& series, const ChartOptions& opt);
std::string scatter_chart(const std::vector<Series>& series, const ChartOptions& opt);
// groups: category labels; series[i].y[j] = value of series i in group j.
std::string bar_chart(const std::vector<std::string>& groups, const std::vector<Series>& series, const ChartOptions& opt);

}  // namespace unigap
