#include "kill/killer.h"

#include <gtest/gtest.h>

#include "unit/kill/fakes.h"

namespace reaperd::kill {
namespace {

using testing::World;

struct KillerFixture : ::testing::Test {
  World w;
  config::KillConfig cfg;
  sys::FakeClock clock;
  Victim v;

  void BuildVictim() {
    VictimBuilder b(w.view, w.ops, cfg);
    ASSERT_TRUE(b.Build(w.snapshot, 0, clock.Now(), v));
  }
};

TEST_F(KillerFixture, SigkillToEveryMemberByDefault) {
  w.Add(100, 5000, 1000, 1);
  w.Add(101, 5001, 1000, 1);
  BuildVictim();
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.members_signalled, 2);
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(101, SIGKILL), 1);
  EXPECT_EQ(r.t_signal, clock.Now());
}

TEST_F(KillerFixture, GracePeriodStartsWithSigterm) {
  cfg.signal_grace_ms = 500;
  w.Add(100, 5000, 1000, 1);
  BuildVictim();
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(w.ops.SentCount(100, SIGTERM), 1);
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 0);
}

TEST_F(KillerFixture, DryRunSendsNothing) {
  cfg.widen = config::Widen::kCgroup;
  w.Add(100, 5000, 1000, 1);
  BuildVictim();
  Killer k(w.view, w.ops, clock, cfg, true);
  KillResult r;
  k.Signal(v, r);
  EXPECT_TRUE(w.ops.Sent().empty());
  EXPECT_TRUE(w.view.writes.empty());
}

TEST_F(KillerFixture, ReusedPidAfterBuildIsNeverSignalled) {
  w.Add(100, 5000, 1000, 1);
  BuildVictim();
  w.ops.Reuse(100);  // the pidfd still names the old process, now gone
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  EXPECT_TRUE(w.ops.Sent().empty());
  EXPECT_EQ(r.members_signalled, 0);
}

TEST_F(KillerFixture, CgroupV1WalkSignalsOnlyProcessesStillInTheCgroup) {
  cfg.widen = config::Widen::kCgroup;
  w.Add(100, 5000, 1000, 1).cgroup = "/sandbox";
  w.Outside(200, 9200, "/sandbox", 20);
  w.Outside(201, 9201, "/elsewhere", 21);  // moved, or a reused PID
  w.view.SetCgroup("sandbox/cgroup.procs", "100\n200\n201\n");
  BuildVictim();
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(200, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(201, SIGKILL), 0);
  EXPECT_EQ(r.members_signalled, 2);
}

TEST_F(KillerFixture, CgroupV2UsesCgroupKill) {
  cfg.widen = config::Widen::kCgroup;
  w.view.version = sys::CgroupVersion::kV2;
  w.Add(100, 5000, 1000, 1).cgroup = "/app.slice/x.scope";
  w.view.SetCgroup("app.slice/x.scope/cgroup.procs", "100\n");  // walked first: none protected
  BuildVictim();
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  ASSERT_EQ(w.view.writes.size(), 1u);
  EXPECT_EQ(w.view.writes[0].first, "app.slice/x.scope/cgroup.kill");
  EXPECT_EQ(w.view.writes[0].second, "1");
}

}  // namespace
}  // namespace reaperd::kill
