// The fixture of the engine's alloc tests: a fixture /proc tree whose meminfo the test
// rewrites (FakeSystem), a stepped clock, fake process ops that never allocate (static_ops.h),
// and a real Engine over them. Cycle() drives one whole kill cycle: back to ok, then a kill,
// its reaping and the result.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/engine.h"
#include "sys/clock.h"
#include "sys/system_view.h"
#include "unit/alloc/fake_system.h"
#include "unit/alloc/static_ops.h"

namespace reaperd::alloc_test {

// Counts lines per event and keeps the last kill line, in fixed storage (no allocation), and
// passes every line on to `next` when a test sets it (the production sink, journal or stderr).
class CountingSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view event, std::string_view line) noexcept override {
    if (event == "kill") {
      ++kills;
      last_kill_size = line.copy(last_kill.data(), last_kill.size());
    }
    if (event == "reaped") ++reaped;
    if (event == "level") ++levels;
    if (LogSink* n = next.load()) n->Write(level, event, line);
  }
  std::uint64_t lines_dropped() const noexcept override {
    LogSink* n = next.load();
    return n != nullptr ? n->lines_dropped() : 0;
  }
  std::string_view LastKill() const { return {last_kill.data(), last_kill_size}; }

  std::atomic<int> kills{0}, reaped{0}, levels{0};
  std::array<char, 4096> last_kill{};
  std::size_t last_kill_size = 0;
  std::atomic<LogSink*> next{nullptr};
};

class EngineCycle : public testing::Test {
 protected:
  void SetUp() override {
    // The defaults (no rules, no reclaim notifiers, no hooks), with the stall watchdog's
    // thread kept asleep (its periodic /proc walk is not the kill path) and no files written.
    cfg_.watchdog.check_interval_ms = 3600 * 1000;
    cfg_.watchdog.report_path.clear();
    cfg_.report.kill_report_path = sys_.dir + "/kills.jsonl";
    cfg_.report.metrics_textfile_path.clear();
    cfg_.report.status_socket.clear();
    auto v = sys::RealSystemView::Open(sys_.dir, std::string(REAPERD_FIXTURES) + "/cgroup/host-v1");
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
    view_.emplace(std::move(*v));
    engine_ = std::make_unique<daemon::Engine>(
        cfg_, std::vector<policy::Scope>{policy::Scope{}},
        daemon::EngineOptions{.dry_run = false, .self = ::getpid()}, *view_, clock_, log_, ops_,
        sysrq_);
    ASSERT_TRUE(engine_->Start());
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
  }

  // A tick at the test's pace, not at the one the engine asked for: every scope is looked
  // at, as on a tick a PSI event brings (a scope with room would wait for its own due time).
  void TickNow() {
    engine_->SampleWholeNextTick();
    (void)engine_->Tick();
  }

  // One whole cycle: back to ok, then a kill, its reaping and the result; before_kill runs
  // just before the tick that decides the kill. False (never aborting: the counting must
  // end) when a step did not happen.
  template <class F>
  bool Cycle(F&& before_kill) {
    const int kills_before = sink_.kills.load();
    if (!sys_.SetMeminfo(sys_.high)) return false;
    clock_.Advance(100 * sys::kMilli);
    TickNow();
    if (!sys_.SetMeminfo(sys_.low)) return false;
    clock_.Advance(100 * sys::kMilli);
    before_kill();
    TickNow();  // level kill: scan, rank, build, submit
    if (sink_.kills.load() != kills_before + 1) return false;
    pollfd pfd{engine_->reaper_fd(), POLLIN, 0};
    const int reaped_before = sink_.reaped.load();
    for (int i = 0; i < 100 && sink_.reaped.load() == reaped_before; ++i) {
      if (::poll(&pfd, 1, 50) > 0) engine_->OnReaperEvent();
    }
    if (sink_.reaped.load() != reaped_before + 1) return false;
    ops_.Revive();  // the fake victim lives again for the next cycle
    return true;
  }
  bool Cycle() {
    return Cycle([] {});
  }

  FakeSystem sys_;
  config::Config cfg_;
  std::optional<sys::RealSystemView> view_;
  SteppedClock clock_;
  CountingSink sink_;
  Logger log_{sink_, LogLevel::kDebug};
  StaticOps ops_;
  struct NoSysrq final : kill::SysrqWriter {
    Result<void> Trigger(char) noexcept override { return {}; }
  } sysrq_;
  std::unique_ptr<daemon::Engine> engine_;
};

}  // namespace reaperd::alloc_test
