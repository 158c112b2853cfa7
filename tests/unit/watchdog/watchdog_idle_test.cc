// The watchdog when nothing is wrong: its look at the host must be cheap. A fake /proc (two
// sleeping processes and a PSI file the test rewrites) read through a FaultySystemView whose
// rule on "<pids>" counts every walk of /proc after the first: an idle look reads PSI and the
// heartbeat only, and the walk comes back with memory pressure, a task in D or a kill.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "sys/faulty_system_view.h"
#include "watchdog/watchdog.h"

namespace reaperd::watchdog {
namespace {

struct FakeProc {
  std::string root;
  FakeProc() {
    char tmpl[] = "/tmp/reaperd-wd-idle-XXXXXX";
    root = ::mkdtemp(tmpl);
    Task(100, 'S');
    Task(101, 'S');
    Psi(0, 0);
  }
  ~FakeProc() { std::filesystem::remove_all(root); }
  void Put(const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root + "/" + rel).parent_path());
    std::ofstream(root + "/" + rel, std::ios::trunc) << text;
  }
  void Task(pid_t pid, char state) {
    Put(std::to_string(pid) + "/stat", std::to_string(pid) + " (t) " + state +
                                           " 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 " +
                                           std::to_string(5000 + pid) + " 1000000 100\n");
  }
  void Psi(std::uint64_t some_us, std::uint64_t full_us) {
    Put("pressure/memory",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=" + std::to_string(some_us) +
            "\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=" + std::to_string(full_us) + "\n");
  }
};

struct Fixture {
  FakeProc proc;
  sys::RealSystemView base = Open(proc.root);
  sys::FaultySystemView view{base};
  sys::FakeClock clock;
  RecordingSink sink;
  Logger log{sink, LogLevel::kDebug};
  config::WatchdogConfig cfg;
  static sys::RealSystemView Open(const std::string& root) {
    auto v = sys::RealSystemView::Open(root, root);
    EXPECT_TRUE(v);
    return std::move(*v);
  }
  Fixture() {
    cfg.report_path = "";
    // Every walk of /proc after the first one fails, and is counted.
    view.AddRule({"<pids>", sys::Fault::kEio, 1, 1});
  }
  int walks_after_first() const { return view.injected_total(); }
};

TEST(WatchdogIdle, AnIdleLookDoesNotWalkProc) {
  Fixture f;
  Watchdog wd(f.cfg, f.view, f.clock, f.log);
  wd.Beat();
  EXPECT_FALSE(wd.Check().has_value());  // the first look walks /proc once
  for (int i = 0; i < 5; ++i) {
    f.clock.Advance(sys::kSecond);
    wd.Beat();
    EXPECT_FALSE(wd.Check().has_value());
  }
  EXPECT_EQ(f.walks_after_first(), 0);
  // Idle, it still walks once per d_state_ms, so a task stuck in D is found in time.
  f.clock.Advance(f.cfg.d_state_ms * sys::kMilli);
  wd.Beat();
  (void)wd.Check();
  EXPECT_EQ(f.walks_after_first(), 1);
}

TEST(WatchdogIdle, MemoryPressureBringsTheWalkBack) {
  Fixture f;
  Watchdog wd(f.cfg, f.view, f.clock, f.log);
  (void)wd.Check();
  f.clock.Advance(sys::kSecond);
  f.proc.Psi(50'000, 0);  // 5% of the last second stalled on memory
  (void)wd.Check();
  EXPECT_EQ(f.walks_after_first(), 1);
}

TEST(WatchdogIdle, ATaskInDIsLookedAtEverySecond) {
  Fixture f;
  f.proc.Task(101, 'D');
  Watchdog wd(f.cfg, f.view, f.clock, f.log);
  (void)wd.Check();
  f.clock.Advance(sys::kSecond);
  (void)wd.Check();
  EXPECT_EQ(f.walks_after_first(), 1);
}

TEST(WatchdogIdle, AKillBringsTheWalkBack) {
  Fixture f;
  Watchdog wd(f.cfg, f.view, f.clock, f.log);
  (void)wd.Check();
  wd.NoteKill(100);
  f.clock.Advance(sys::kSecond);
  (void)wd.Check();
  EXPECT_EQ(f.walks_after_first(), 1);
}

// A burst of kills kicks the watchdog at each one (the new victim is looked at at once), but
// the walk of every /proc/PID/stat stays at one per check_interval_ms: under a burst of
// kills it ran at every kick, and cost more CPU than the daemon loop (issue 13's profile).
TEST(WatchdogIdle, ABurstOfKillsWalksProcOncePerCheckInterval) {
  Fixture f;
  Watchdog wd(f.cfg, f.view, f.clock, f.log);
  (void)wd.Check();
  f.clock.Advance(sys::kSecond);
  for (int i = 0; i < 6; ++i) {
    wd.NoteKill(100);
    (void)wd.Check();
    f.clock.Advance(f.cfg.check_interval_ms * sys::kMilli / 8);
  }
  EXPECT_EQ(f.walks_after_first(), 1);
  f.clock.Advance(f.cfg.check_interval_ms * sys::kMilli);
  wd.NoteKill(100);
  (void)wd.Check();
  EXPECT_EQ(f.walks_after_first(), 2);
}

TEST(WatchdogIdle, IdleWaitIsLongAndABusyOneIsCheckInterval) {
  Fixture f;
  Watchdog wd(f.cfg, f.view, f.clock, f.log);
  (void)wd.Check();
  EXPECT_GE(wd.NextWaitMs(), std::min(f.cfg.loop_late_ms, f.cfg.d_state_ms));
  wd.NoteKill(100);
  EXPECT_EQ(wd.NextWaitMs(), f.cfg.check_interval_ms);
}

// The loop announces its next tick with each beat (a big idle host ticks every 10 s): it is
// late only loop_late_ms past that tick, not loop_late_ms after its last beat.
TEST(WatchdogIdle, ALoopIsNotLateBeforeTheTickItAnnounced) {
  Fixture f;
  Watchdog wd(f.cfg, f.view, f.clock, f.log);
  wd.Beat(10000);
  f.clock.Advance((10000 + f.cfg.loop_late_ms - 1) * sys::kMilli);
  EXPECT_FALSE(wd.Check().has_value());
}

TEST(WatchdogIdle, ALoopPastTheTickItAnnouncedIsLate) {
  Fixture f;
  Watchdog wd(f.cfg, f.view, f.clock, f.log);
  wd.Beat(10000);
  f.clock.Advance((10000 + f.cfg.loop_late_ms + 500) * sys::kMilli);
  auto rep = wd.Check();
  ASSERT_TRUE(rep.has_value());
  EXPECT_NE(std::find(rep->reasons.begin(), rep->reasons.end(), "loop_late"), rep->reasons.end());
  EXPECT_NEAR(rep->loop_late_seconds, f.cfg.loop_late_ms / 1000.0 + 0.5, 1e-9);
}

// Idle, the thread wakes for the next walk for tasks in D or when the loop would become
// late, whichever comes first: never more often, and never after a stuck loop is due.
TEST(WatchdogIdle, IdleWaitEndsAtTheWalkOrWhenTheLoopWouldBeLate) {
  Fixture f;
  Watchdog wd(f.cfg, f.view, f.clock, f.log);
  wd.Beat(10000);
  (void)wd.Check();  // walks /proc now: the next walk is d_state_ms away
  EXPECT_EQ(wd.NextWaitMs(), std::min(f.cfg.d_state_ms, 10000 + f.cfg.loop_late_ms));
  f.clock.Advance(1000 * sys::kMilli);
  wd.Beat(200);  // a scope under pressure: the loop ticks fast
  EXPECT_EQ(wd.NextWaitMs(), 200 + f.cfg.loop_late_ms);
  f.clock.Advance(8000 * sys::kMilli);
  wd.Beat(10000);
  EXPECT_EQ(wd.NextWaitMs(), f.cfg.d_state_ms - 9000);
}

}  // namespace
}  // namespace reaperd::watchdog
