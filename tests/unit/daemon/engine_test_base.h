// What the engine's fixture tests share (engine_standing, engine_kill_guards, engine_ladder,
// engine_managed_oom): a fixture /proc (alloc_test::FakeSystem, processes 100..103 known to
// the fake process ops), a stepped clock, a recording sink, fake sysrq, and a config with
// the stall watchdog asleep and no report written. Each test builds its own view (over the
// fixture /proc and a cgroup tree) and starts the engine with MakeEngine.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/engine.h"
#include "sys/system_view.h"
#include "unit/alloc/fake_system.h"
#include "unit/kill/fakes.h"

namespace reaperd::daemon::testing {

class EngineTestBase : public ::testing::Test {
 protected:
  EngineTestBase() {
    cfg_.watchdog.check_interval_ms = 3600 * 1000;
    cfg_.watchdog.report_path.clear();
    cfg_.report.kill_report_path.clear();
    cfg_.report.metrics_textfile_path.clear();
    cfg_.report.status_socket.clear();
    for (pid_t pid = alloc_test::kFirstPid; pid < alloc_test::kFirstPid + alloc_test::kProcesses;
         ++pid) {
      ops_.procs[pid] = {};
    }
  }
  // Stopped and destroyed here, before the test's own members (its view) go.
  void TearDown() override {
    if (engine_) engine_->Stop();
    engine_.reset();
  }
  // The engine (not dry run, this process as self) over view, guarding scope, started.
  void MakeEngine(sys::SystemView& view, const policy::Scope& scope = policy::Scope{}) {
    engine_ = std::make_unique<Engine>(cfg_, std::vector<policy::Scope>{scope},
                                       EngineOptions{.dry_run = false, .self = ::getpid()}, view,
                                       clock_, log_, ops_, sysrq_);
    ASSERT_TRUE(engine_->Start());
  }
  // A tick at the test's pace, not at the one the engine asked for: every scope is looked
  // at, as on a tick a PSI event brings (a scope with room would wait for its own due time).
  void Tick(sys::Nanos advance = 100 * sys::kMilli) {
    clock_.Advance(advance);
    engine_->SampleWholeNextTick();
    (void)engine_->Tick();
  }
  // Lines of the log that contain part.
  std::size_t Count(const std::string& part) const {
    std::size_t n = 0;
    for (const auto& l : sink_.Lines()) n += l.find(part) != std::string::npos ? 1 : 0;
    return n;
  }

  alloc_test::FakeSystem sys_;
  config::Config cfg_;
  alloc_test::SteppedClock clock_;
  RecordingSink sink_;
  Logger log_{sink_, LogLevel::kDebug};
  kill::testing::FakeOps ops_;
  kill::testing::FakeSysrq sysrq_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace reaperd::daemon::testing
