// Reporting by scope. It forgets removed scopes: after RetainScopes, a scope no longer live is
// gone from the status answer and its gauges from the metrics, while live scopes and every
// counter stay. It carries each scope's swap.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
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

// No outputs: nothing is written or listened on by a unit test.
config::Config NoOutputs() {
  config::Config cfg;
  cfg.report.status_socket.clear();
  cfg.report.metrics_textfile_path.clear();
  cfg.report.metrics_listen.clear();
  cfg.report.kill_report_path.clear();
  return cfg;
}

TEST(ReportingScopes, RetainScopesDropsTheGoneScopesStatusAndGaugesOnly) {
  const config::Config cfg = NoOutputs();
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
  r.FlushGauges();
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

// Swap as the detector counts it (swap on zram at what it frees) and the zram devices as they
// are, in `reaperd status --json` and the metrics: an operator can see why headroom is what it
// is on a machine with zram. Red before: no swap field in the status, no swap gauge.
TEST(ReportingScopes, StatusAndMetricsCarryTheScopesSwap) {
  const config::Config cfg = NoOutputs();
  NullSink sink;
  Logger log(sink, LogLevel::kDebug);
  Reporting r(cfg, log, /*dry_run=*/true);

  pressure::PressureSample sample;
  sample.available_bytes = 1000;
  sample.total_bytes = 4000;
  sample.swap_total_bytes = 3000;
  sample.swap_free_bytes = 2000;
  sample.zram_swap_bytes = 4096;
  sample.zram_swap_free_bytes = 2048;
  r.OnSample(policy::Scope{}, sample, pressure::Decision{});
  const auto j = nlohmann::json::parse(r.StatusJson());
  ASSERT_EQ(j["scopes"].size(), 1u);
  const auto& sc = j["scopes"][0];
  EXPECT_EQ(sc.value("swap_total_bytes", 0), 3000) << sc.dump();
  EXPECT_EQ(sc.value("swap_free_bytes", 0), 2000);
  EXPECT_EQ(sc.value("zram_swap_bytes", 0), 4096);
  EXPECT_EQ(sc.value("zram_swap_free_bytes", 0), 2048);
  r.FlushGauges();
  EXPECT_EQ(r.metrics().Value("reaperd_swap_total_bytes", {{"scope", "system"}}), 3000);
  EXPECT_EQ(r.metrics().Value("reaperd_swap_free_bytes", {{"scope", "system"}}), 2000);
}

// A sample only notes itself: the scope's gauges are set when the metrics are read (the HTTP
// endpoint, the textfile), from the last sample, not at every tick (issue 13: seven gauges a
// scope at every tick, through a map keyed by label sets, for metrics most hosts never read).
// Red on the old code, which set them in OnSample.
TEST(ReportingScopes, GaugesAreSetWhenTheMetricsAreReadFromTheLastSample) {
  const config::Config cfg = NoOutputs();
  NullSink sink;
  Logger log(sink, LogLevel::kDebug);
  Reporting r(cfg, log, /*dry_run=*/true);
  pressure::PressureSample sample;
  sample.total_bytes = 4000;
  for (std::uint64_t available : {1000, 2000, 3000}) {
    sample.available_bytes = available;
    r.OnSample(Cgroup("/a"), sample, pressure::Decision{});
  }
  EXPECT_EQ(r.metrics().Value("reaperd_available_bytes", {{"scope", "cgroup:/a"}}), 0)
      << "set at a tick";
  const std::string text = r.MetricsText();
  EXPECT_NE(text.find("reaperd_available_bytes{scope=\"cgroup:/a\"} 3000"), std::string::npos)
      << text;
  EXPECT_NE(r.StatusJson().find("cgroup:/a"), std::string::npos);
}

}  // namespace
}  // namespace reaperd::daemon
