// The log lines the sink dropped rather than wait (a stalled journald) reach the metrics as
// reaperd_log_lines_dropped_total and `reaperd status` as log_lines_dropped.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "base/log.h"
#include "config/config.h"
#include "daemon/reporting.h"

namespace reaperd::daemon {
namespace {

class DroppingSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view, std::string_view) noexcept override {}
  std::uint64_t lines_dropped() const noexcept override { return dropped.load(); }
  std::atomic<std::uint64_t> dropped{0};
};

TEST(ReportingLogDrops, TheSinksDroppedLinesAreCountedInMetricsAndStatus) {
  config::Config cfg;
  cfg.report.status_socket.clear();
  cfg.report.metrics_textfile_path.clear();
  cfg.report.metrics_listen.clear();
  cfg.report.kill_report_path.clear();
  DroppingSink sink;
  Logger log(sink, LogLevel::kDebug);
  Reporting r(cfg, log, /*dry_run=*/true);
  EXPECT_NE(r.MetricsText().find("reaperd_log_lines_dropped_total 0"), std::string::npos);
  EXPECT_NE(r.StatusJson().find("\"log_lines_dropped\":0"), std::string::npos);

  sink.dropped = 7;
  r.OnSample(policy::Scope{}, pressure::PressureSample{}, pressure::Decision{});
  EXPECT_EQ(r.metrics().Value("reaperd_log_lines_dropped_total", {}), 7);
  EXPECT_NE(r.StatusJson().find("\"log_lines_dropped\":7"), std::string::npos) << r.StatusJson();
  // Counted once per line: a later tick adds only the new drops.
  sink.dropped = 9;
  r.OnSample(policy::Scope{}, pressure::PressureSample{}, pressure::Decision{});
  r.OnSample(policy::Scope{}, pressure::PressureSample{}, pressure::Decision{});
  EXPECT_EQ(r.metrics().Value("reaperd_log_lines_dropped_total", {}), 9);
}

}  // namespace
}  // namespace reaperd::daemon
