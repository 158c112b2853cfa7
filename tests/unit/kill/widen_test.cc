// Widening never reaches a protected process nor one outside the scope (issue 12): the
// cgroup walk, v2's cgroup.kill and the process-group pass, each against the fakes.
#include <gtest/gtest.h>
#include <unistd.h>

#include "kill/killer.h"
#include "unit/kill/fakes.h"

namespace reaperd::kill {
namespace {

using testing::World;

struct Widen : ::testing::Test {
  World w;
  config::KillConfig cfg;
  sys::FakeClock clock;
  Victim v;

  // The victim: pid 100 in `cgroup`, process group 100.
  void AddVictim(const std::string& cgroup) {
    auto& p = w.Add(100, 5000, 1000, 1);
    p.cgroup = cgroup;
    w.Publish(p, 1);
  }
  void Build() {
    VictimBuilder b(w.view, w.ops, cfg);
    ASSERT_TRUE(b.Build(w.snapshot, 0, clock.Now(), v));
  }
  // A process of the fake /proc outside the snapshot, edited by `edit` before it is published.
  template <class F>
  void Other(pid_t pid, const std::string& cgroup, F edit) {
    auto p = w.Outside(pid, 9000 + static_cast<std::uint64_t>(pid), cgroup, 50 + pid);
    edit(p);
    w.Publish(p);
  }
  void Other(pid_t pid, const std::string& cgroup) {
    Other(pid, cgroup, [](policy::Process&) {});
  }
};

TEST_F(Widen, CgroupV1WalkSkipsMinAdjProtectCommAndReaperdItself) {
  cfg.widen = config::Widen::kCgroup;
  AddVictim("/sandbox");
  const pid_t self = ::getpid();
  Other(200, "/sandbox");
  Other(201, "/sandbox", [](policy::Process& p) { p.oom_score_adj = -1000; });
  Other(202, "/sandbox", [](policy::Process& p) { p.comm.Assign("sshd"); });  // protect_comm
  Other(self, "/sandbox");
  Other(204, "/sandbox", [&](policy::Process& p) { p.ppid = self; });  // reaperd's hook
  w.view.SetCgroup("sandbox/cgroup.procs",
                   "100\n200\n201\n202\n" + std::to_string(self) + "\n204\n");
  Build();
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(200, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(201, SIGKILL), 0) << "oom_score_adj -1000";
  EXPECT_EQ(w.ops.SentCount(202, SIGKILL), 0) << "protect_comm";
  EXPECT_EQ(w.ops.SentCount(self, SIGKILL), 0) << "reaperd itself";
  EXPECT_EQ(w.ops.SentCount(204, SIGKILL), 0) << "reaperd's hook";
  EXPECT_EQ(r.members_signalled, 2);
}

TEST_F(Widen, CgroupV2WithProtectedMemberWalksAndSkipsInsteadOfCgroupKill) {
  cfg.widen = config::Widen::kCgroup;
  w.view.version = sys::CgroupVersion::kV2;
  AddVictim("/app.slice/x.scope");
  Other(500, "/app.slice/x.scope");
  Other(501, "/app.slice/x.scope", [](policy::Process& p) { p.oom_score_adj = -1000; });
  w.view.SetCgroup("app.slice/x.scope/cgroup.procs", "100\n500\n501\n");
  Build();
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  for (const auto& [path, data] : w.view.writes) EXPECT_NE(path, "app.slice/x.scope/cgroup.kill");
  EXPECT_EQ(w.ops.SentCount(500, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(501, SIGKILL), 0);
}

TEST_F(Widen, CgroupV2OomGroupWithProtectedMemberIsWalkedToo) {
  // memory.oom.group is honoured by default: the path every OOMPolicy=kill unit takes.
  w.view.version = sys::CgroupVersion::kV2;
  AddVictim("/app.slice/x.service");
  w.view.SetCgroup("app.slice/x.service/memory.oom.group", "1\n");
  Other(502, "/app.slice/x.service", [](policy::Process& p) { p.comm.Assign("sshd"); });
  w.view.SetCgroup("app.slice/x.service/cgroup.procs", "100\n502\n");
  Build();
  ASSERT_EQ(v.widen_cgroup.view(), "/app.slice/x.service");
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  EXPECT_TRUE(w.view.writes.empty());
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(502, SIGKILL), 0);
}

TEST_F(Widen, CgroupV2WithoutProtectedMemberUsesCgroupKill) {
  cfg.widen = config::Widen::kCgroup;
  w.view.version = sys::CgroupVersion::kV2;
  AddVictim("/app.slice/x.scope");
  Other(500, "/app.slice/x.scope");
  w.view.SetCgroup("app.slice/x.scope/cgroup.procs", "100\n500\n");
  Build();
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  ASSERT_EQ(w.view.writes.size(), 1u);
  EXPECT_EQ(w.view.writes[0].first, "app.slice/x.scope/cgroup.kill");
}

TEST_F(Widen, ProcessGroupNeverReachesOutsideTheScopeNorAProtectedMember) {
  cfg.widen = config::Widen::kProcessGroup;
  w.snapshot.scope.kind = policy::ScopeKind::kCgroup;
  w.snapshot.scope.cgroup = "/sandbox";
  AddVictim("/sandbox");
  auto& snap_protected = w.Add(103, 5003, 10, 3, "/bin/sshd");  // in the scan, protected
  snap_protected.comm.Assign("sshd");
  snap_protected.pgrp = 100;
  snap_protected.cgroup = "/sandbox";
  w.Publish(snap_protected);
  // Forked since the scan (found by the /proc pass):
  Other(400, "/elsewhere", [](policy::Process& p) { p.pgrp = 100; });  // outside the scope
  Other(401, "/sandbox", [](policy::Process& p) {
    p.pgrp = 100;
    p.comm.Assign("sshd");
  });
  Other(402, "/sandbox/sub", [](policy::Process& p) { p.pgrp = 100; });  // inside: killed
  Other(403, "/sandbox", [](policy::Process& p) {
    p.pgrp = 100;
    p.oom_score_adj = -1000;
  });
  Build();
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(103, SIGKILL), 0) << "protected member of the scan";
  EXPECT_EQ(w.ops.SentCount(400, SIGKILL), 0) << "outside the scope's cgroup";
  EXPECT_EQ(w.ops.SentCount(401, SIGKILL), 0) << "protect_comm";
  EXPECT_EQ(w.ops.SentCount(402, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(403, SIGKILL), 0) << "oom_score_adj -1000";
}

// In the system scope every process is inside the scope, so the scope bounds nothing: a
// process group that spans cgroups (children of one launcher, a script whose children were
// moved into scopes of their own with systemd-run --scope) would reach other applications.
// Seen in the lab's growers (session 9): the ladder's process-group step killed the latency
// probe, another cgroup's process that shares the harness's group. The group is taken only
// within the victim's cgroup (and below it), in the snapshot and in the /proc pass. Red
// before: 110 and 400 were signalled.
TEST_F(Widen, ProcessGroupStaysInTheVictimsCgroupInTheSystemScope) {
  cfg.widen = config::Widen::kProcessGroup;
  AddVictim("/user.slice/lab-build.scope");
  auto& other_app = w.Add(110, 5010, 10, 4, "/bin/probe");  // in the scan, another cgroup
  other_app.pgrp = 100;
  other_app.cgroup = "/user.slice/lab-probe.scope";
  w.Publish(other_app);
  auto& same_app = w.Add(111, 5011, 10, 5, "/bin/grower");  // in the scan, the same cgroup
  same_app.pgrp = 100;
  same_app.cgroup = "/user.slice/lab-build.scope";
  w.Publish(same_app);
  // Forked since the scan (found by the /proc pass):
  Other(400, "/user.slice/lab-probe.scope", [](policy::Process& p) { p.pgrp = 100; });
  Other(401, "/user.slice/lab-build.scope/sub", [](policy::Process& p) { p.pgrp = 100; });
  Other(402, "/user.slice/lab-build.scope-2", [](policy::Process& p) { p.pgrp = 100; });
  Build();
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(111, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(110, SIGKILL), 0) << "another cgroup's process in the scan";
  EXPECT_EQ(w.ops.SentCount(400, SIGKILL), 0) << "another cgroup's process forked since";
  EXPECT_EQ(w.ops.SentCount(401, SIGKILL), 1) << "below the victim's cgroup";
  EXPECT_EQ(w.ops.SentCount(402, SIGKILL), 0) << "a sibling whose name merely starts alike";
}

TEST_F(Widen, MmSharerOutsideTheScopeSnapshotIsFoundAndKilled) {
  w.snapshot.scope.kind = policy::ScopeKind::kCgroup;
  w.snapshot.scope.cgroup = "/sandbox";
  AddVictim("/sandbox");
  // Shares the victim's mm (fake mm 1) from another cgroup: its statm text is the victim's.
  w.Outside(300, 9300, "/elsewhere", 1, 1);
  // Runs the same binary (same text) with its own mm: compared, not killed.
  w.Outside(301, 9301, "/elsewhere", 7, 1);
  // Another binary with its own mm: compared by kcmp (one syscall, cheaper than any read
  // that could prefilter it), not killed.
  w.Outside(302, 9302, "/elsewhere", 8, 999);
  Build();
  bool found = false;
  for (const Member& m : v.active())
    found = found || (m.pid == 300 && m.role == MemberRole::kMmSharer);
  EXPECT_TRUE(found);
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  EXPECT_EQ(w.ops.SentCount(300, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(301, SIGKILL), 0);
  EXPECT_EQ(w.ops.SentCount(302, SIGKILL), 0);
}

TEST_F(Widen, VictimWhoseMmAProtectedProcessSharesIsNotChosen) {
  w.Add(100, 5000, 1000, 1);
  auto& sharer = w.Add(101, 5001, 1000, 1);  // CLONE_VM child, renamed
  sharer.comm.Assign("sshd");
  VictimBuilder b(w.view, w.ops, cfg);
  auto built = b.Build(w.snapshot, 0, 0, v);
  ASSERT_FALSE(built);
  EXPECT_STREQ(built.error().context, VictimBuilder::kMmSharedError);
  EXPECT_EQ(v.mm_shared_with, 101);
  EXPECT_EQ(v.member_count, 0u);
  EXPECT_TRUE(w.ops.Sent().empty());
}

TEST_F(Widen, ProtectedSharerIsWhatRankShows) {
  w.Add(100, 5000, 1000, 1);
  auto& sharer = w.Add(101, 5001, 1000, 1);
  sharer.comm.Assign("sshd");
  w.Add(102, 5002, 1000, 2);
  VictimBuilder b(w.view, w.ops, cfg);
  EXPECT_EQ(b.ProtectedSharer(w.snapshot, 0), 101);
  EXPECT_EQ(b.ProtectedSharer(w.snapshot, 2), 0);
  EXPECT_TRUE(w.ops.Sent().empty());
}

TEST_F(Widen, VictimWhoseMmAProtectedProcessOutsideTheScopeSharesIsNotChosen) {
  w.snapshot.scope.kind = policy::ScopeKind::kCgroup;
  w.snapshot.scope.cgroup = "/sandbox";
  AddVictim("/sandbox");
  auto p = w.Outside(300, 9300, "/elsewhere", 1, 1);
  p.oom_score_adj = -1000;
  w.Publish(p, 1);
  VictimBuilder b(w.view, w.ops, cfg);
  EXPECT_FALSE(b.Build(w.snapshot, 0, 0, v));
  EXPECT_EQ(v.mm_shared_with, 300);
}

}  // namespace
}  // namespace reaperd::kill
