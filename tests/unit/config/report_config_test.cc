// The [report] section: defaults, accepted values and the errors that name file:line:key.
#include <gtest/gtest.h>

#include "config/config.h"

namespace reaperd::config {
namespace {

TEST(ReportConfigTest, ReadsEveryKey) {
  auto cfg = ParseConfig(
      "[report]\nkill_report_path = \"/tmp/k.jsonl\"\nkill_report_max_bytes = 8192\n"
      "kill_report_keep = 0\nmetrics_textfile_path = \"\"\nmetrics_interval_ms = 2000\n"
      "metrics_listen = \"127.0.0.1:9852\"\nstatus_socket = \"/tmp/s.sock\"\n"
      "pod_logs_dir = \"/tmp/pods\"\n",
      "r.toml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->report.kill_report_path, "/tmp/k.jsonl");
  EXPECT_EQ(cfg->report.kill_report_max_bytes, 8192u);
  EXPECT_EQ(cfg->report.kill_report_keep, 0);
  EXPECT_EQ(cfg->report.metrics_textfile_path, "");
  EXPECT_EQ(cfg->report.metrics_interval_ms, 2000);
  EXPECT_EQ(cfg->report.metrics_listen, "127.0.0.1:9852");
  EXPECT_EQ(cfg->report.status_socket, "/tmp/s.sock");
  EXPECT_EQ(cfg->report.pod_logs_dir, "/tmp/pods");
}

TEST(ReportConfigTest, RelativePathIsAnError) {
  auto cfg = ParseConfig("[report]\n\nkill_report_path = \"kills.jsonl\"\n", "r.toml");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().line, 3);
  EXPECT_EQ(cfg.error().key, "report.kill_report_path");
  EXPECT_NE(cfg.error().message.find("absolute"), std::string::npos) << cfg.error().message;
}

TEST(ReportConfigTest, MetricsListenOnlyOnLoopback) {
  for (const char* bad : {"0.0.0.0:9852", "10.1.2.3:80", "127.0.0.1", "127.0.0.1:0",
                          "127.0.0.1:70000", "localhost:9852", "127.0.0:1"}) {
    auto cfg = ParseConfig(std::string("[report]\nmetrics_listen = \"") + bad + "\"\n", "r.toml");
    ASSERT_FALSE(cfg.has_value()) << bad;
    EXPECT_EQ(cfg.error().key, "report.metrics_listen") << bad;
  }
  std::uint32_t addr = 0;
  std::uint16_t port = 0;
  ASSERT_TRUE(ParseLoopbackAddress("127.1.2.3:65535", &addr, &port));
  EXPECT_EQ(addr, 0x7f010203u);
  EXPECT_EQ(port, 65535);
}

TEST(ReportConfigTest, UnknownKeyAndRangeAreErrors) {
  auto unknown = ParseConfig("[report]\nkill_reports = \"/x\"\n", "r.toml");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().key, "report.kill_reports");
  auto small = ParseConfig("[report]\nkill_report_max_bytes = 100\n", "r.toml");
  ASSERT_FALSE(small.has_value());
  EXPECT_EQ(small.error().key, "report.kill_report_max_bytes");
}

}  // namespace
}  // namespace reaperd::config
