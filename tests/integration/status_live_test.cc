// `reaperd status` against a live daemon: after a real reclaim pass in a test cgroup, the
// status answer lists the scope's notifier with its last result and the reclaim metrics
// counted it; and `status --config FILE` asks on the socket that file names.
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/holder.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

using namespace live;  // NOLINT(google-build-using-namespace): test helpers

std::string RunCapture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  ::pclose(p);
  return out;
}

TEST(StatusLive, ReclaimPassShowsInStatusAndMetricsOnTheConfiguredSocket) {
  auto sb = Sandbox("status", 256 * kMiB);
  ASSERT_TRUE(sb);
  // The holder is there before the daemon starts: a flat 64 MiB puts the scope at the
  // reclaim level (under 99% headroom) with no trend, far from the kill level.
  Holder holder(*sb, 64, "st-cache", SIGUSR1);
  ASSERT_GT(holder.pid(), 0);
  TempConfig cfg(R"(
[detector]
warn_available_percent = 99.8
reclaim_available_percent = 99.5
kill_available_percent = 0.5
[kill]
last_resort = "none"
[watchdog]
enabled = false
[reclaim]
settle_ms = 100
[[reclaim.notifier]]
name = "trim"
kind = "signal"
comm = ["st-cache"]
signal = "SIGUSR1"
[report]
kill_report_path = ""
metrics_textfile_path = "@DIR@/reaperd.prom"
status_socket = "@DIR@/status.sock"
)");
  ASSERT_TRUE(cfg.ok());
  Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  ASSERT_TRUE(holder.WaitTrimmed(10000).has_value()) << d.Log();

  // The pass ends a settle window after the signal; the loop collects it on a later tick.
  nlohmann::json trim;
  const std::string cmd = std::string(REAPERD_BINARY) + " status --json --config " + cfg.path();
  std::string answer;
  ASSERT_TRUE(WaitFor(
      [&] {
        answer = RunCapture(cmd);
        auto j = nlohmann::json::parse(answer, nullptr, false);
        if (j.is_discarded() || !j.contains("notifiers")) return false;
        for (const auto& n : j["notifiers"]) {
          if (n.value("name", "") == "trim" && n.value("runs", 0) >= 1) trim = n;
        }
        return !trim.is_null();
      },
      10000))
      << answer << d.Log();
  EXPECT_EQ(trim.value("scope", ""), "cgroup:" + sb->cgroup()) << trim.dump();
  EXPECT_EQ(trim.value("kind", ""), "signal") << trim.dump();
  EXPECT_EQ(trim.value("last_result", ""), "done") << trim.dump();
  d.Stop();

  // The textfile is written at stop: the pass's run is counted.
  std::ifstream f(cfg.dir() + "/reaperd.prom");
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_NE(text.str().find("reaperd_reclaim_runs_total{notifier=\"trim\",result=\"done\"} "),
            std::string::npos)
      << text.str() << d.Log();
}

}  // namespace
}  // namespace reaperd::itest
