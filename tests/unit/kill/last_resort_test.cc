#include "kill/last_resort.h"

#include <gtest/gtest.h>

#include "kill/cgroup_last_resort.h"
#include "unit/kill/fakes.h"

namespace reaperd::kill {
namespace {

ScopeKey Cgroup(std::string_view path) {
  ScopeKey k;
  k.kind = policy::ScopeKind::kCgroup;
  k.cgroup.Assign(path);
  return k;
}

TEST(LastResortLadder, FiresAfterConfiguredMissesInARow) {
  config::KillConfig cfg;
  cfg.last_resort = config::LastResort::kKernelOom;
  cfg.last_resort_after_misses = 3;
  testing::FakeSysrq sysrq;
  LastResortLadder ladder(cfg, sysrq);
  ScopeKey a = Cgroup("/a");
  EXPECT_EQ(ladder.NoteMiss(a), LastResortAction::kNone);
  EXPECT_EQ(ladder.NoteMiss(a), LastResortAction::kNone);
  // A cgroup scope's end is its own cgroup kill, never the host action.
  auto fire = ladder.NoteMiss(a);
  EXPECT_EQ(fire, LastResortAction::kKillCgroup);
  EXPECT_FALSE(ladder.Fire(fire));
  EXPECT_TRUE(sysrq.Commands().empty());
  EXPECT_EQ(ladder.misses(a), 0);
  ScopeKey system;
  EXPECT_EQ(ladder.NoteMiss(system), LastResortAction::kNone);
  EXPECT_EQ(ladder.NoteMiss(system), LastResortAction::kNone);
  fire = ladder.NoteMiss(system);
  EXPECT_EQ(fire, LastResortAction::kKernelOom);
  ASSERT_TRUE(ladder.Fire(fire));
  EXPECT_EQ(sysrq.Commands(), std::vector<char>{'f'});
}

TEST(LastResortLadder, SuccessEndsTheRunAndScopesCountApart) {
  config::KillConfig cfg;
  cfg.last_resort_after_misses = 2;
  testing::FakeSysrq sysrq;
  LastResortLadder ladder(cfg, sysrq);
  ScopeKey a = Cgroup("/a"), b = Cgroup("/b");
  ladder.NoteMiss(a);
  ladder.NoteSuccess(a);
  EXPECT_EQ(ladder.NoteMiss(a), LastResortAction::kNone);
  EXPECT_EQ(ladder.NoteMiss(b), LastResortAction::kNone);
  EXPECT_EQ(ladder.misses(a), 1);
  EXPECT_EQ(ladder.misses(b), 1);
}

TEST(LastResortLadder, NoneNeverFiresAndPanicRebootMapToSysrq) {
  config::KillConfig cfg;
  cfg.last_resort = config::LastResort::kNone;
  cfg.last_resort_after_misses = 1;
  testing::FakeSysrq sysrq;
  LastResortLadder ladder(cfg, sysrq);
  EXPECT_EQ(ladder.NoteMiss(Cgroup("/a")), LastResortAction::kNone);
  EXPECT_EQ(ladder.NoteMiss(ScopeKey{}), LastResortAction::kNone);
  EXPECT_TRUE(ladder.Fire(LastResortAction::kNone));
  EXPECT_TRUE(sysrq.Commands().empty());
  EXPECT_EQ(SysrqCommand(LastResortAction::kPanic), 'c');
  EXPECT_EQ(SysrqCommand(LastResortAction::kReboot), 'b');
  EXPECT_EQ(SysrqCommand(LastResortAction::kKillCgroup), 0);
}

// Whatever host action is configured, a cgroup scope's ladder ends inside its cgroup and
// only the system scope reaches sysrq.
TEST(LastResortLadder, OnlyTheSystemScopeEndsInAHostAction) {
  for (auto [configured, sysrq_command] :
       {std::pair{config::LastResort::kKernelOom, 'f'}, std::pair{config::LastResort::kPanic, 'c'},
        std::pair{config::LastResort::kReboot, 'b'}}) {
    config::KillConfig cfg;
    cfg.last_resort = configured;
    cfg.last_resort_after_misses = 1;
    testing::FakeSysrq sysrq;
    LastResortLadder ladder(cfg, sysrq);
    auto end = ladder.NoteMiss(Cgroup("/machine.slice/ct"));
    EXPECT_EQ(end, LastResortAction::kKillCgroup);
    EXPECT_FALSE(ladder.Fire(end));
    EXPECT_TRUE(sysrq.Commands().empty());
    ASSERT_TRUE(ladder.Fire(ladder.NoteMiss(ScopeKey{})));
    EXPECT_EQ(sysrq.Commands(), std::vector<char>{sysrq_command});
  }
}

// The v1 cgroup /sandbox holds 100 and 101 (its own), 102 (oom_score_adj -1000), 103 (a
// kernel thread, for the sake of it), 104 (listed, but moved to /elsewhere since) and a child
// cgroup is not listed by the fake; 200 lives elsewhere. Only 100 and 101 are signalled.
TEST(CgroupLastResort, KillsOnlyUnprotectedProcessesOfTheCgroup) {
  testing::World w;
  w.view.SetCgroup("sandbox/cgroup.procs", "100\n101\n102\n103\n104\n");
  for (pid_t pid : {100, 101, 102, 103, 104, 200}) {
    w.ops.procs[pid] = testing::FakeProc{};
    w.view.SetProc(std::to_string(pid) + "/stat", testing::StatLine(pid, "app", 7000));
    w.view.SetProc(std::to_string(pid) + "/status", testing::StatusLine(pid, "app"));
    w.view.SetProc(std::to_string(pid) + "/oom_score_adj", pid == 102 ? "-1000\n" : "0\n");
    w.view.SetProc(std::to_string(pid) + "/cgroup", "4:memory:/sandbox/x\n");
  }
  w.view.SetProc("103/stat",
                 "103 (kworker) S 2 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 "
                 "7000 0 0\n");
  w.view.SetProc("104/cgroup", "4:memory:/elsewhere\n");
  w.view.SetProc("200/cgroup", "4:memory:/sandboxed\n");
  sys::MonotonicClock clock;
  CgroupLastResort end(w.view, w.ops, clock);
  auto n = end.Kill("/sandbox");
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(101, SIGKILL), 1);
  EXPECT_EQ(w.ops.Sent().size(), 2u);
}

// The cgroup.procs buffer is sized to the host at start (ProcsListBytes): on a host with few
// processes it is at its smallest, and it still holds 1024 pids of the longest kind (7
// digits, pid_max 4194304), every one of which is killed.
TEST(CgroupLastResort, TheSmallestListingBufferHolds1024LongPids) {
  testing::World w;
  sys::MonotonicClock clock;
  CgroupLastResort end(w.view, w.ops, clock);  // sized on an empty /proc
  std::string procs;
  for (pid_t pid = 4193000; pid < 4193000 + 1024; ++pid) {
    procs += std::to_string(pid) + "\n";
    w.ops.procs[pid] = testing::FakeProc{};
    w.view.SetProc(std::to_string(pid) + "/stat", testing::StatLine(pid, "app", 7000));
    w.view.SetProc(std::to_string(pid) + "/status", testing::StatusLine(pid, "app"));
    w.view.SetProc(std::to_string(pid) + "/oom_score_adj", "0\n");
    w.view.SetProc(std::to_string(pid) + "/cgroup", "4:memory:/sandbox\n");
  }
  w.view.SetCgroup("sandbox/cgroup.procs", procs);
  auto n = end.Kill("/sandbox");
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 1024);
}

TEST(CgroupLastResort, NothingKillableIsAFailureAndTheRootIsRefused) {
  testing::World w;
  w.view.SetCgroup("sandbox/cgroup.procs", "102\n");
  w.ops.procs[102] = testing::FakeProc{};
  w.view.SetProc("102/stat", testing::StatLine(102, "app", 7000));
  w.view.SetProc("102/oom_score_adj", "-1000\n");
  w.view.SetProc("102/cgroup", "4:memory:/sandbox\n");
  sys::MonotonicClock clock;
  CgroupLastResort end(w.view, w.ops, clock);
  EXPECT_FALSE(end.Kill("/sandbox"));
  EXPECT_FALSE(end.Kill("/"));
  EXPECT_FALSE(end.Kill("/missing"));
  EXPECT_TRUE(w.ops.Sent().empty());
}

TEST(CgroupLastResort, SparesWhatTheConfiguredProtectionsSpare) {
  // protect_comm (and every other configured protection) holds for the last resort too, not
  // only the kernel's own rules.
  testing::World w;
  w.view.SetCgroup("sandbox/cgroup.procs", "100\n101\n");
  for (pid_t pid : {100, 101}) {
    w.ops.procs[pid] = testing::FakeProc{};
    const char* comm = pid == 101 ? "keeper" : "app";
    w.view.SetProc(std::to_string(pid) + "/stat", testing::StatLine(pid, comm, 7000));
    w.view.SetProc(std::to_string(pid) + "/status", testing::StatusLine(pid, comm));
    w.view.SetProc(std::to_string(pid) + "/oom_score_adj", "0\n");
    w.view.SetProc(std::to_string(pid) + "/cgroup", "4:memory:/sandbox\n");
  }
  config::RankConfig rank;
  rank.protect_comm = {"keeper"};
  sys::MonotonicClock clock;
  CgroupLastResort end(w.view, w.ops, clock);
  end.SetProtection(std::make_shared<const policy::ProtectRules>(rank));
  auto n = end.Kill("/sandbox");
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(101, SIGKILL), 0) << "a protect_comm process was killed";
}

TEST(SkipList, AddContainsRemoveAndBound) {
  SkipList s(2);
  EXPECT_TRUE(s.Add({10, 1}));
  EXPECT_TRUE(s.Add({10, 1}));  // once only
  EXPECT_TRUE(s.Add({11, 2}));
  EXPECT_FALSE(s.Add({12, 3}));
  EXPECT_TRUE(s.Contains({10, 1}));
  EXPECT_FALSE(s.Contains({10, 2}));  // same PID, another process
  s.Remove({10, 1});
  std::vector<policy::ProcessId> out;
  s.CopyTo(out);
  EXPECT_EQ(out, (std::vector<policy::ProcessId>{{11, 2}}));
}

}  // namespace
}  // namespace reaperd::kill
