// Progress output: JSON events parse and carry the counts, the lines style is rate-limited but
// always prints the end, the bar redraws one line, and the listener sees every event.
#include "opal/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace opal {
namespace {

std::string Contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) s.append(buf, n);
  return s;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

TEST(Progress, JsonEventsCarryCountsAndEta) {
  std::FILE* f = std::tmpfile();
  {
    Progress p("tune", 10, "trials", ProgressStyle::kJson, f);
    p.json_every_s = 0;  // every update is an event
    p.Update(0, "w0");
    p.Update(5, "w1");
    p.Finish("2 tasks");
  }
  auto lines = Lines(Contents(f));
  std::fclose(f);
  ASSERT_EQ(lines.size(), 3u);
  Json mid = Json::parse(lines[1]);
  EXPECT_EQ(mid["event"], "progress");
  EXPECT_EQ(mid["task"], "tune");
  EXPECT_EQ(mid["done"], 5);
  EXPECT_EQ(mid["total"], 10);
  EXPECT_EQ(mid["detail"], "w1");
  EXPECT_GE(mid["eta_s"].get<double>(), 0);
  Json last = Json::parse(lines[2]);
  EXPECT_EQ(last["event"], "done");
  EXPECT_EQ(last["detail"], "2 tasks");
  EXPECT_TRUE(Json::parse(lines[0])["eta_s"].is_null());  // nothing done yet: no estimate
}

TEST(Progress, LinesAreRateLimitedButTheEndIsAlwaysPrinted) {
  std::FILE* f = std::tmpfile();
  {
    Progress p("build", 100, "kernels", ProgressStyle::kLines, f);
    p.line_every_s = 1e9;
    for (int i = 0; i <= 100; ++i) p.Update(i, "k");
    p.Finish("done");
  }
  auto lines = Lines(Contents(f));
  std::fclose(f);
  ASSERT_EQ(lines.size(), 2u);  // the first update and the end
  EXPECT_NE(lines[0].find("0/100 kernels"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("100/100 kernels (100%)"), std::string::npos) << lines[1];
}

TEST(Progress, BarRedrawsOneLineAndEndsIt) {
  std::FILE* f = std::tmpfile();
  {
    Progress p("plan", 4, "searches", ProgressStyle::kBar, f);
    p.redraw_every_s = 0;
    p.Update(2);
    p.Update(4);
    p.Finish();
  }
  std::string s = Contents(f);
  std::fclose(f);
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1);
  EXPECT_EQ(s.back(), '\n');
  EXPECT_NE(s.find("\r\033[K[############------------] 2/4"), std::string::npos) << s;
  EXPECT_NE(s.find("\r\033[K[########################] 4/4"), std::string::npos) << s;
}

TEST(Progress, ListenerSeesEveryEventEvenWhenQuiet) {
  std::vector<ProgressEvent> seen;
  SetProgressListener([&](const ProgressEvent& e) { seen.push_back(e); });
  {
    Progress p("tune", 3, "trials", ProgressStyle::kQuiet);
    p.Update(1);
    p.Update(2);
    p.Finish();
  }
  SetProgressListener(nullptr);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].done, 2);
  EXPECT_TRUE(seen[2].finished);
  EXPECT_EQ(seen[2].done, 2);  // Finish does not invent units that were not done
}

TEST(Progress, ClockFormat) {
  EXPECT_EQ(FormatClock(65), "1:05");
  EXPECT_EQ(FormatClock(3723), "1:02:03");
  EXPECT_EQ(FormatClock(-3), "0:00");
}

}  // namespace
}  // namespace opal
