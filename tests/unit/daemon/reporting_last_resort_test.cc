// A last resort that could not act is not silent: it is logged, counted in the metrics, and
// shown by `reaperd status` (the daemon's status answer), as is one that did act.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "base/log.h"
#include "config/config.h"
#include "daemon/reporting.h"
#include "kill/kill_result.h"

namespace reaperd::daemon {
namespace {

config::Config QuietConfig() {
  config::Config cfg;
  // No outputs: nothing is written or listened on by a unit test.
  cfg.report.status_socket.clear();
  cfg.report.metrics_textfile_path.clear();
  cfg.report.metrics_listen.clear();
  cfg.report.kill_report_path.clear();
  return cfg;
}

TEST(ReportingLastResort, FailedSysrqIsLoggedCountedAndInStatus) {
  config::Config cfg = QuietConfig();
  RecordingSink sink;
  Logger log(sink, LogLevel::kDebug);
  Reporting rep(cfg, log, /*dry_run=*/false);

  kill::KillResult r;
  r.seq = 7;
  r.outcome = kill::Outcome::kMissedDeadline;
  r.last_resort = kill::LastResortAction::kKernelOom;
  r.last_resort_failed = true;
  r.last_resort_error = Error::Sys(EPERM, "write sysrq-trigger");
  rep.OnKillResult(r);

  kill::KillResult c;
  c.seq = 8;
  c.outcome = kill::Outcome::kMissedDeadline;
  c.scope.kind = policy::ScopeKind::kCgroup;
  c.scope.cgroup.Assign("/ct");
  c.last_resort = kill::LastResortAction::kKillCgroup;
  c.last_resort_signalled = 3;
  rep.OnKillResult(c);

  EXPECT_EQ(rep.metrics().Value("reaperd_last_resort_failed_total",
                                {{"scope", "system"}, {"action", "kernel"}}),
            1);
  EXPECT_EQ(
      rep.metrics().Value("reaperd_last_resort_total", {{"scope", "system"}, {"action", "kernel"}}),
      1);
  EXPECT_EQ(rep.metrics().Value("reaperd_last_resort_total",
                                {{"scope", "cgroup:/ct"}, {"action", "kill_cgroup"}}),
            1);
  EXPECT_EQ(rep.metrics().Value("reaperd_last_resort_failed_total",
                                {{"scope", "cgroup:/ct"}, {"action", "kill_cgroup"}}),
            0);

  bool logged = false;
  for (const auto& line : sink.Lines()) {
    if (line.find("result=failed") != std::string::npos &&
        line.find("write sysrq-trigger") != std::string::npos) {
      logged = true;
    }
  }
  EXPECT_TRUE(logged);

  auto j = nlohmann::json::parse(rep.StatusJson());
  const auto& lr = j.at("last_resorts");
  EXPECT_EQ(lr.at("fired"), 2);
  EXPECT_EQ(lr.at("failed"), 1);
  ASSERT_EQ(lr.at("recent").size(), 2u);
  EXPECT_EQ(lr.at("recent")[0].at("result"), "failed");
  EXPECT_EQ(lr.at("recent")[0].at("action"), "kernel");
  EXPECT_NE(lr.at("recent")[0].at("error").get<std::string>().find("write sysrq-trigger"),
            std::string::npos);
  EXPECT_EQ(lr.at("recent")[1].at("result"), "done");
  EXPECT_EQ(lr.at("recent")[1].at("signalled"), 3);
}

}  // namespace
}  // namespace reaperd::daemon
