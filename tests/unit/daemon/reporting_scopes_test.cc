// Reporting forgets removed scopes: after RetainScopes, a scope no longer live is gone from the
// status answer and its gauges from the metrics, while live scopes and every counter stay.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/reporting.h"

namespace reaperd::daemon {
namespace {

class NullSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view, std::string_view) noexcept override {}
};

policy::Scope Cgroup(const std::string& path) {
  policy::Scope s;
  s.kind = policy::ScopeKind::kCgroup;
  s.cgroup = path;
  return s;
}

TEST(ReportingScopes, RetainScopesDropsTheGoneScopesStatusAndGaugesOnly) {
  config::Config cfg;
  // No outputs: nothing is written or listened on by a unit test.
  cfg.report.status_socket.clear();
  cfg.report.metrics_textfile_path.clear();
  cfg.report.metrics_listen.clear();
  cfg.report.kill_report_path.clear();
  NullSink sink;
  Logger log(sink, LogLevel::kDebug);
  Reporting r(cfg, log, /*dry_run=*/true);

  pressure::PressureSample sample;
  sample.available_bytes = 1000;
  sample.total_bytes = 4000;
  pressure::Decision decision;
  r.OnSample(policy::Scope{}, sample, decision);
  r.OnSample(Cgroup("/kept"), sample, decision);
  r.OnSample(Cgroup("/gone"), sample, decision);
  r.metrics().Add("reaperd_kill_decisions_total", {{"scope", "cgroup:/gone"}, {"reason", "x"}});
  ASSERT_EQ(r.scopes_known(), 3u);
  ASSERT_NE(r.StatusJson().find("cgroup:/gone"), std::string::npos);
  ASSERT_EQ(r.metrics().Value("reaperd_total_bytes", {{"scope", "cgroup:/gone"}}), 4000);

  r.RetainScopes({"system", "cgroup:/kept"});
  EXPECT_EQ(r.scopes_known(), 2u);
  EXPECT_EQ(r.StatusJson().find("cgroup:/gone"), std::string::npos);
  EXPECT_NE(r.StatusJson().find("cgroup:/kept"), std::string::npos);
  const std::string text = r.MetricsText();
  EXPECT_EQ(text.find("reaperd_total_bytes{scope=\"cgroup:/gone\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("reaperd_total_bytes{scope=\"cgroup:/kept\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("reaperd_available_bytes{scope=\"system\"}"), std::string::npos) << text;
  // Counters keep the history of the gone scope.
  EXPECT_EQ(r.metrics().Value("reaperd_kill_decisions_total",
                              {{"scope", "cgroup:/gone"}, {"reason", "x"}}),
            1);
}

}  // namespace
}  // namespace reaperd::daemon
