// A process that changes its oom_score_adj between the scan and the kill (unit level, with
// the fakes: the snapshot says one thing, /proc says another by the time the victim is built).
// Lowering it to -1000 means "never kill me" (it needs CAP_SYS_RESOURCE): the process is
// re-checked once its pidfd is open and passed over. Raising it does not change a decision
// already taken on the snapshot; no one outside the victim is ever signalled.
#include <gtest/gtest.h>

#include <csignal>

#include "kill/killer.h"
#include "kill/victim.h"
#include "unit/kill/fakes.h"

namespace reaperd::kill {
namespace {

using testing::World;

struct AdjRace : ::testing::Test {
  World w;
  config::KillConfig cfg;
  sys::FakeClock clock;

  // Builds the victim for snapshot index 0 and signals it; returns the victim.
  Victim BuildAndSignal() {
    VictimBuilder b(w.view, w.ops, cfg);
    Victim v;
    EXPECT_TRUE(b.Build(w.snapshot, 0, clock.Now(), v));
    if (!v.main_stale) {
      Killer k(w.view, w.ops, clock, cfg, false);
      KillResult r;
      k.Signal(v, r);
    }
    return v;
  }
};

TEST_F(AdjRace, LoweredToMinAfterTheScanIsNotSignalled) {
  w.Add(100, 5000, 1000, 1);
  w.view.SetProc("100/oom_score_adj", "-1000\n");
  Victim v = BuildAndSignal();
  EXPECT_TRUE(v.main_stale);
  EXPECT_TRUE(w.ops.Sent().empty());
}

TEST_F(AdjRace, UnchangedAdjIsKilled) {
  w.Add(100, 5000, 1000, 1);
  w.view.SetProc("100/oom_score_adj", "0\n");
  Victim v = BuildAndSignal();
  EXPECT_FALSE(v.main_stale);
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
}

TEST_F(AdjRace, RaisedAfterTheScanKeepsTheDecisionAndSignalsNoOneElse) {
  w.Add(100, 5000, 1000, 1);
  w.Add(101, 5001, 10, 2, "/bin/other");
  w.view.SetProc("100/oom_score_adj", "0\n");
  w.view.SetProc("101/oom_score_adj", "1000\n");  // now the kernel's favourite
  Victim v = BuildAndSignal();
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(101, SIGKILL), 0);
  ASSERT_EQ(w.ops.Sent().size(), 1u);
}

TEST_F(AdjRace, ProcessGroupMemberLoweredToMinIsLeftOut) {
  cfg.widen = config::Widen::kProcessGroup;
  w.Add(100, 5000, 1000, 1).pgrp = 100;
  w.Add(110, 5010, 10, 4, "/bin/sh").pgrp = 100;
  w.Add(111, 5011, 10, 5, "/bin/x").pgrp = 100;
  w.view.SetProc("111/oom_score_adj", "-1000\n");
  Victim v = BuildAndSignal();
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(110, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(111, SIGKILL), 0);
}

}  // namespace
}  // namespace reaperd::kill
