// The Prometheus text output: families, labels, escapes, cumulative histogram buckets, the
// atomic textfile write, and Debian's promtool accepting the result.
#include "report/metrics.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace reaperd::report {
namespace {

std::string Sample() {
  Metrics m;
  m.Define("reaperd_kills_total", MetricType::kCounter, "Kills by scope\nand outcome \\ x");
  m.Define("reaperd_level", MetricType::kGauge, "Level");
  m.Define("reaperd_signal_to_reaped_seconds", MetricType::kHistogram, "Latency", kLatencyBuckets);
  m.Add("reaperd_kills_total", {{"scope", "cgroup:/a\"b\\c\nd"}, {"outcome", "reaped"}});
  m.Add("reaperd_kills_total", {{"scope", "system"}, {"outcome", "reaped"}}, 2);
  m.Set("reaperd_level", {{"scope", "system"}}, 3);
  m.Observe("reaperd_signal_to_reaped_seconds", {{"scope", "system"}}, 0.004);
  m.Observe("reaperd_signal_to_reaped_seconds", {{"scope", "system"}}, 0.2);
  m.Observe("reaperd_signal_to_reaped_seconds", {{"scope", "system"}}, 30);
  return m.Render();
}

TEST(MetricsTest, RendersTheTextFormat) {
  const std::string text = Sample();
  EXPECT_NE(text.find("# HELP reaperd_kills_total Kills by scope\\nand outcome \\\\ x\n"
                      "# TYPE reaperd_kills_total counter\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("reaperd_kills_total{scope=\"cgroup:/a\\\"b\\\\c\\nd\",outcome=\"reaped\"} 1\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("reaperd_kills_total{scope=\"system\",outcome=\"reaped\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("reaperd_level{scope=\"system\"} 3\n"), std::string::npos);
  // Buckets are cumulative; +Inf holds every observation, including the 30 s one.
  EXPECT_NE(text.find("reaperd_signal_to_reaped_seconds_bucket{scope=\"system\",le=\"0.001\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("reaperd_signal_to_reaped_seconds_bucket{scope=\"system\",le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("reaperd_signal_to_reaped_seconds_bucket{scope=\"system\",le=\"0.25\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("reaperd_signal_to_reaped_seconds_bucket{scope=\"system\",le=\"10\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("reaperd_signal_to_reaped_seconds_bucket{scope=\"system\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("reaperd_signal_to_reaped_seconds_count{scope=\"system\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("reaperd_signal_to_reaped_seconds_sum{scope=\"system\"} 30.204\n"),
            std::string::npos);
}

TEST(MetricsTest, RefusesWrongTypesNamesAndLabels) {
  Metrics m;
  EXPECT_FALSE(m.Define("9bad", MetricType::kCounter, "x"));
  EXPECT_FALSE(m.Define("bad-name", MetricType::kCounter, "x"));
  ASSERT_TRUE(m.Define("c_total", MetricType::kCounter, "x"));
  EXPECT_FALSE(m.Define("c_total", MetricType::kGauge, "x"));
  EXPECT_FALSE(m.Set("c_total", {}, 1));        // a counter is not set
  EXPECT_FALSE(m.Add("c_total", {}, -1));       // nor decreased
  EXPECT_FALSE(m.Add("unknown_total", {}, 1));  // nor invented
  EXPECT_FALSE(m.Add("c_total", {{"le", "1"}}, 1));
  EXPECT_FALSE(m.Add("c_total", {{"bad label", "1"}}, 1));
  EXPECT_TRUE(m.Add("c_total", {{"notifier", "drop_caches"}}, 5));
  EXPECT_EQ(m.Value("c_total", {{"notifier", "drop_caches"}}), 5);
}

std::string TempDir() {
  char tmpl[] = "/tmp/reaperd-metrics-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  return d == nullptr ? "" : d;
}

TEST(MetricsTest, TextfileIsReplacedAtomically) {
  const std::string dir = TempDir();
  ASSERT_FALSE(dir.empty());
  const std::string path = dir + "/reaperd.prom";
  ASSERT_TRUE(WriteFileAtomic(path, "first\n").has_value());
  ASSERT_TRUE(WriteFileAtomic(path, "second\n").has_value());
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), "second\n");
  EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0) << "the tmp file is left behind";
  EXPECT_FALSE(WriteFileAtomic(dir + "/missing/x.prom", "x").has_value());
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
}

TEST(MetricsTest, PromtoolAcceptsTheOutput) {
  if (::access("/usr/bin/promtool", X_OK) != 0) {
    GTEST_SKIP() << "promtool absent (apt-get install prometheus provides /usr/bin/promtool)";
  }
  const std::string dir = TempDir();
  const std::string path = dir + "/m.prom";
  ASSERT_TRUE(WriteFileAtomic(path, Sample()).has_value());
  const std::string cmd = "/usr/bin/promtool check metrics < " + path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << "promtool complained (lint problems are printed)";
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace reaperd::report
