// SVG charts on known data: tick choice, point positions within the plot frame,
// axis labels, legends, escaping.
#include <gtest/gtest.h>

#include <cmath>

#include "report/svg.h"

using namespace unigap;

namespace {
int count(const std::string& s, const std::string& sub) {
  int n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + 1)) ++n;
  return n;
}
}  // namespace

TEST(Svg, NiceTicks) {
  auto near = [](const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::abs(a[i] - b[i]) > 1e-12) return false;
    return true;
  };
  EXPECT_TRUE(near(nice_ticks(0, 1), {0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  EXPECT_TRUE(near(nice_ticks(0, 20), {0, 5, 10, 15, 20}));
  auto t = nice_ticks(-0.03, 0.07);
  EXPECT_LE(t.front(), -0.03);
  EXPECT_GE(t.back(), 0.07);
  EXPECT_EQ(format_tick(0.25), "0.25");
  EXPECT_EQ(format_tick(20), "20");
}

TEST(Svg, LineChartHasAxesPointsAndLegend) {
  Series a{"Gen", {0, 1, 2}, {0.2, 0.3, 0.35}, "", false}, b{"Non", {0, 1, 2}, {0.5, 0.4, 0.3}, "", true};
  ChartOptions o;
  o.title = "co-improvement";
  o.x_label = "epoch";
  o.y_label = "rate";
  auto s = line_chart({a, b}, o);
  EXPECT_EQ(s.rfind("<svg", 0), 0u);
  EXPECT_EQ(count(s, "class=\"point\""), 6);
  EXPECT_EQ(count(s, "class=\"legend-item\""), 2);
  EXPECT_NE(s.find(">epoch<"), std::string::npos);
  EXPECT_NE(s.find(">rate<"), std::string::npos);
  EXPECT_NE(s.find("stroke-dasharray"), std::string::npos);
  EXPECT_GE(count(s, "class=\"x-tick\""), 3);
  // The point for x = 0 sits on the left edge of the plot (the y axis at x = 56).
  EXPECT_NE(s.find("cx=\"56.0\""), std::string::npos);
}

TEST(Svg, ScatterWithDiagonalAndBarsEscaped) {
  Series p{"probes", {-1, 0, 1}, {-0.9, 0.1, 1.1}, "", false};
  ChartOptions o;
  o.diagonal = true;
  auto s = scatter_chart({p}, o);
  EXPECT_NE(s.find("class=\"diagonal\""), std::string::npos);
  EXPECT_EQ(count(s, "class=\"point\""), 3);
  Series base{"base <b>", {0.1, 0.5}, {0.1, 0.5}, "", false};
  auto bars = bar_chart({"colors", "counting & co"}, {base}, ChartOptions{});
  EXPECT_EQ(count(bars, "class=\"bar\""), 2);
  EXPECT_NE(bars.find("counting &amp; co"), std::string::npos);
  EXPECT_EQ(bars.find("<b>"), std::string::npos);
}
