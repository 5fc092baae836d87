// SPDX-License-Identifier: MIT
// SVG charts against coordinates computed by hand from the contract in
// report/svg.hpp (420 x 260 pixels: plot area x 58..408, y 202 (bottom)..26).
#include "vidrec/report/svg.hpp"

#include <catch2/catch.hpp>
#include <cmath>

using namespace vidrec;

namespace {
size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("html_escape escapes the five characters that matter", "[report]") {
  CHECK(html_escape("<script>alert('x')</script> & \"q\"") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  CHECK(html_escape("plain ü") == "plain ü");
}

TEST_CASE("axis ticks: nice linear steps, whole decades on log axes", "[report]") {
  // range 8.9 / 5 = 1.78 -> step 2; 0.3 floors to 0, 9.2 ceils to 10.
  CHECK(axis_ticks({0.3, 9.2}, false) == std::vector<double>{0, 2, 4, 6, 8, 10});
  // 0.6 / 5 = 0.12 -> step 0.2 (2 x 0.1), from 0.2 to 0.8.
  const std::vector<double> t = axis_ticks({0.25, 0.85}, false);
  REQUIRE(t.size() == 5);
  CHECK(t.front() == Approx(0.2));
  CHECK(t.back() == Approx(1.0));
  CHECK(axis_ticks({3, 250, -1, NAN}, true) == std::vector<double>{1, 10, 100, 1000});
  CHECK(axis_ticks({5, 5}, false) == std::vector<double>{2, 3, 4, 5, 6, 7, 8});  // 5 +- 2.5, step 1
  const std::vector<double> none = axis_ticks({}, false);                        // nothing to show: 0..1
  CHECK(none.size() == 6);
  CHECK(none.back() == Approx(1));
}

TEST_CASE("line chart: points where the contract puts them", "[report]") {
  // x ticks 0..10, y ticks 0..1: x = 58 + x / 10 * 350, y = 202 - y * 176.
  const std::string svg =
      line_chart({"T <b>", {"k"}, {"v"}}, {{"a", {0, 5, 10}, {0, 0.5, 1}}, {"b", {1}, {NAN}}});
  CHECK(svg.find("points=\"58.00,202.00 233.00,114.00 408.00,26.00\"") != std::string::npos);
  CHECK(svg.find("points=\"\"") != std::string::npos);  // a non-finite point is skipped
  CHECK(count(svg, "<polyline class=\"series\"") == 2);
  CHECK(svg.find("T &lt;b&gt;") != std::string::npos);
  CHECK(svg.find("<b>") == std::string::npos);
  CHECK(svg.rfind("<svg class=\"chart\"", 0) == 0);
  CHECK(svg.substr(svg.size() - 6) == "</svg>");
}

TEST_CASE("scatter chart: log axis and the best point ringed", "[report]") {
  // x log ticks 1, 10, 100: x = 58 + log10(x) / 2 * 350; y ticks 0..1.
  const std::string svg =
      scatter_chart({"s", {"reg", true}, {"ndcg"}}, {{"trials", {1, 10, 100, 0}, {0, 1, 0.5, 1}}}, 1);
  CHECK(count(svg, "<circle class=\"point\"") == 3);  // x = 0 cannot sit on a log axis
  CHECK(svg.find("<circle class=\"point\" cx=\"58.00\" cy=\"202.00\"") != std::string::npos);
  CHECK(svg.find("<circle class=\"best\" cx=\"233.00\" cy=\"26.00\"") != std::string::npos);
  CHECK(svg.find("<circle class=\"point\" cx=\"408.00\" cy=\"114.00\"") != std::string::npos);
  CHECK(count(svg, "class=\"best\"") == 1);
}

TEST_CASE("bar chart: bars from 0, one group per category", "[report]") {
  // y ticks 0..3 (0.6 -> step 1); groups 175 wide, one bar of 140 at +17.5.
  const std::string svg = bar_chart({"b", {"bin"}, {"%"}}, {"head", "<tail>"}, {{"share", {}, {1, 3}}});
  CHECK(svg.find("<rect class=\"bar\" x=\"75.50\" y=\"143.33\" width=\"140.00\" height=\"58.67\"") !=
        std::string::npos);
  CHECK(svg.find("<rect class=\"bar\" x=\"250.50\" y=\"26.00\" width=\"140.00\" height=\"176.00\"") !=
        std::string::npos);
  CHECK(svg.find("&lt;tail&gt;") != std::string::npos);
  CHECK(count(svg, "<rect class=\"bar\"") == 2);
}
