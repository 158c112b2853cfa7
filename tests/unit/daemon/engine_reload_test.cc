// Engine::Reload over the captured v1 host tree: the live sections are applied (the detector's
// thresholds, the ranker's rules), the restart-only keys are named and left as they run, and a
// detector in its post-kill hold keeps the hold (no second victim at once).
#include <gtest/gtest.h>

#include <filesystem>

#include "base/log.h"
#include "config/config.h"
#include "config/reload.h"
#include "daemon/engine.h"
#include "sys/clock.h"
#include "sys/system_view.h"
#include "unit/kill/fakes.h"

namespace reaperd::daemon {
namespace {

const std::string kFx = REAPERD_FIXTURES;

class RecordingSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view, std::string_view line) noexcept override {
    lines.emplace_back(line);
  }
  std::string Find(const std::string& part) const {
    for (const auto& l : lines) {
      if (l.find(part) != std::string::npos) return l;
    }
    return {};
  }
  std::vector<std::string> lines;
};

class EngineReload : public testing::Test {
 protected:
  void SetUp() override {
    auto v = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
    ASSERT_TRUE(v.has_value());
    view_.emplace(std::move(*v));
    // Every captured process can be opened and signalled (fakes: nothing is really sent).
    for (const auto& e : std::filesystem::directory_iterator(kFx + "/proc/host-v1")) {
      const std::string name = e.path().filename().string();
      if (name.find_first_not_of("0123456789") == std::string::npos) {
        ops_.procs[static_cast<pid_t>(std::stoi(name))] = kill::testing::FakeProc{};
      }
    }
    // Every sample is below the kill floor: the first tick kills (in a dry run).
    cfg_.detector.kill_available_percent = 99.0;
    cfg_.detector.reclaim_available_percent = 99.5;
    cfg_.detector.warn_available_percent = 99.9;
    cfg_.detector.hysteresis_percent = 0.05;
    engine_ = std::make_unique<Engine>(cfg_, std::vector<policy::Scope>{policy::Scope{}},
                                       EngineOptions{.dry_run = true, .self = 1}, *view_, clock_,
                                       log_, ops_, sysrq_);
    ASSERT_TRUE(engine_->Start().has_value());
  }
  void TearDown() override { engine_->Stop(); }

  config::Config cfg_;
  std::optional<sys::RealSystemView> view_;
  sys::FakeClock clock_;
  RecordingSink sink_;
  Logger log_{sink_, LogLevel::kDebug};
  kill::testing::FakeOps ops_;
  kill::testing::FakeSysrq sysrq_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineReload, KeepsThePostKillHoldAndAppliesThresholdsAndRules) {
  (void)engine_->Tick();
  ASSERT_EQ(engine_->status()[0].kills, 1u) << testing::PrintToString(sink_.lines);
  ASSERT_TRUE(engine_->detector(0).victim_pending());

  config::Config fresh = cfg_;
  fresh.detector.kill_available_percent = 98.0;
  fresh.detector.interval_fast_ms = 50;
  config::Rule r;
  r.name = "browsers";
  r.action = config::RuleAction::kPrefer;
  r.weight = 300;
  r.comm = "^firefox$";
  fresh.rank.rules.push_back(r);
  fresh.kill.deadline_ms = 9000;
  fresh.kill.reaper_threads = 3;
  engine_->Reload(cfg_, fresh);

  // Applied: the detector runs with the new thresholds, the ranker with the new rule.
  EXPECT_EQ(engine_->detector(0).config().kill_available_percent, 98.0);
  EXPECT_EQ(engine_->detector(0).config().interval_fast_ms, 50);
  ASSERT_EQ(engine_->ranker().config().rules.size(), 1u);
  EXPECT_EQ(engine_->ranker().config().rules[0].name, "browsers");
  // Not applied: kill.* runs as started and is named as needing a restart.
  EXPECT_EQ(cfg_.kill.deadline_ms, 5000);
  EXPECT_EQ(cfg_.kill.reaper_threads, 2);
  EXPECT_EQ(cfg_.detector.kill_available_percent, 98.0);
  const std::string line = sink_.Find("reload ");
  EXPECT_NE(line.find("restart_needed=kill.deadline_ms,kill.reaper_threads"), std::string::npos)
      << line;
  EXPECT_NE(line.find("detector.kill_available_percent"), std::string::npos) << line;

  // The hold survives: still below the new floor, but the first victim's memory is not back.
  EXPECT_TRUE(engine_->detector(0).victim_pending());
  clock_.Advance(10 * sys::kMilli);
  (void)engine_->Tick();
  EXPECT_EQ(engine_->status()[0].kills, 1u);
  EXPECT_NE(engine_->status()[0].decision.reasons & pressure::kReasonVictimPending, 0u);
  EXPECT_EQ(engine_->status()[0].decision.level, pressure::Level::kReclaim);
}

TEST(ReloadPlan, NamesEveryChangedKeyInItsList) {
  config::Config a;
  config::Config b;
  b.detector.psi_sustain_ms = 1;
  b.hooks.warn.argv = {"/bin/true"};
  b.report.status_socket = "/tmp/x.sock";
  b.watchdog.max_tasks = 3;
  const auto plan = config::PlanReload(a, b);
  EXPECT_EQ(config::JoinKeys(plan.applied), "detector.psi_sustain_ms,hooks.warn");
  EXPECT_EQ(config::JoinKeys(plan.restart_needed), "watchdog.max_tasks,report.status_socket");
  config::ApplyLive(a, b);
  EXPECT_EQ(a.detector.psi_sustain_ms, 1);
  EXPECT_EQ(a.hooks.warn.argv.size(), 1u);
  EXPECT_EQ(a.report.status_socket, "/run/reaperd/status.sock");
  EXPECT_EQ(a.watchdog.max_tasks, 32);
}

}  // namespace
}  // namespace reaperd::daemon
