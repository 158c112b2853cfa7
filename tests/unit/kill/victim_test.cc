#include "kill/victim.h"

#include <gtest/gtest.h>

#include "unit/kill/fakes.h"

namespace reaperd::kill {
namespace {

using testing::World;

TEST(VictimBuilder, MainAndMmSharersGetCheckedPidfds) {
  World w;
  config::KillConfig cfg;
  w.Add(100, 5000, 1000, 1);
  w.Add(101, 5001, 1000, 1);                  // CLONE_VM child: same exe, same mm
  w.Add(102, 5002, 1000, 2);                  // same exe, another mm
  w.Add(103, 5003, 77, 3, "/usr/bin/other");  // nothing in common: never compared
  VictimBuilder b(w.view, w.ops, cfg);
  Victim v;
  ASSERT_TRUE(b.Build(w.snapshot, 0, 42, v));
  EXPECT_FALSE(v.main_stale);
  ASSERT_EQ(v.member_count, 2u);
  EXPECT_EQ(v.members[0].pid, 100);
  EXPECT_EQ(v.members[0].role, MemberRole::kMain);
  EXPECT_EQ(v.members[1].pid, 101);
  EXPECT_EQ(v.members[1].role, MemberRole::kMmSharer);
  EXPECT_TRUE(v.members[1].pidfd.valid());
  for (auto [a, c] : w.ops.kcmp_calls) EXPECT_NE(c, 103);
  EXPECT_EQ(v.identity.id, (policy::ProcessId{100, 5000}));
  EXPECT_EQ(v.identity.rss_bytes, 1000u * 4096u);  // from stat, before the signal
  // One read of stat checks the identity and gives the rss: no statm read.
  EXPECT_EQ(w.view.reads["100/stat"], 1);
  EXPECT_EQ(w.view.reads["100/statm"], 0);
  EXPECT_EQ(v.deadline, 42 + cfg.deadline_ms * sys::kMilli);
}

TEST(VictimBuilder, ReusedPidOfMainMarksVictimStale) {
  World w;
  config::KillConfig cfg;
  w.Add(100, 5000, 1000, 1);
  // After the snapshot, 100 exited and a new process took the PID.
  w.ops.Reuse(100);
  w.view.SetProc("100/stat", testing::StatLine(100, "newcomer", 9999));
  VictimBuilder b(w.view, w.ops, cfg);
  Victim v;
  ASSERT_TRUE(b.Build(w.snapshot, 0, 0, v));
  EXPECT_TRUE(v.main_stale);
  EXPECT_EQ(v.member_count, 0u);
  EXPECT_EQ(v.members_stale, 1);
}

TEST(VictimBuilder, ReusedSharerIsDroppedNotSignalled) {
  World w;
  config::KillConfig cfg;
  w.Add(100, 5000, 1000, 1);
  w.Add(101, 5001, 1000, 1);
  w.view.SetProc("101/stat", testing::StatLine(101, "hog", 7777));  // another start time
  VictimBuilder b(w.view, w.ops, cfg);
  Victim v;
  ASSERT_TRUE(b.Build(w.snapshot, 0, 0, v));
  EXPECT_EQ(v.member_count, 1u);
  EXPECT_EQ(v.members_stale, 1);
}

TEST(VictimBuilder, ProcessGroupWideningSkipsProtected) {
  World w;
  config::KillConfig cfg;
  cfg.widen = config::Widen::kProcessGroup;
  w.Add(100, 5000, 1000, 1).pgrp = 100;
  w.Add(110, 5010, 10, 4, "/bin/sh").pgrp = 100;
  auto& adj = w.Add(111, 5011, 10, 5, "/bin/x");
  adj.pgrp = 100;
  adj.oom_score_adj = -1000;
  w.Add(120, 5020, 10, 6, "/bin/y").pgrp = 120;
  VictimBuilder b(w.view, w.ops, cfg);
  Victim v;
  ASSERT_TRUE(b.Build(w.snapshot, 0, 0, v));
  ASSERT_EQ(v.member_count, 2u);
  EXPECT_EQ(v.members[1].pid, 110);
  EXPECT_EQ(v.members[1].role, MemberRole::kProcessGroup);
}

TEST(VictimBuilder, OomGroupWidensToHighestAncestorInsideScope) {
  World w;
  config::KillConfig cfg;
  w.view.version = sys::CgroupVersion::kV2;
  w.snapshot.scope.kind = policy::ScopeKind::kCgroup;
  w.snapshot.scope.cgroup = "/a";
  w.Add(100, 5000, 1000, 1).cgroup = "/a/b/c";
  w.view.SetCgroup("a/b/c/memory.oom.group", "1\n");
  w.view.SetCgroup("a/b/memory.oom.group", "1\n");
  w.view.SetCgroup("a/memory.oom.group", "0\n");
  w.view.SetCgroup("memory.oom.group", "1\n");  // above the scope: never used
  w.view.SetCgroup("a/memory.current", "100\n");
  w.view.SetCgroup("a/memory.max", "1000\n");
  VictimBuilder b(w.view, w.ops, cfg);
  Victim v;
  ASSERT_TRUE(b.Build(w.snapshot, 0, 0, v));
  EXPECT_EQ(v.widen_cgroup.view(), "/a/b");
  EXPECT_EQ(v.widen_version, sys::CgroupVersion::kV2);
}

TEST(VictimBuilder, CgroupWideningNeverTakesTheRoot) {
  World w;
  config::KillConfig cfg;
  cfg.widen = config::Widen::kCgroup;
  w.Add(100, 5000, 1000, 1).cgroup = "/";
  VictimBuilder b(w.view, w.ops, cfg);
  Victim v;
  ASSERT_TRUE(b.Build(w.snapshot, 0, 0, v));
  EXPECT_TRUE(v.widen_cgroup.empty());
}

TEST(VictimBuilder, BadIndexFails) {
  World w;
  config::KillConfig cfg;
  VictimBuilder b(w.view, w.ops, cfg);
  Victim v;
  EXPECT_FALSE(b.Build(w.snapshot, 3, 0, v));
}

}  // namespace
}  // namespace reaperd::kill
