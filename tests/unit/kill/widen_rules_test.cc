// The configured protections (rank.protect_uid, protect_cgroup, protect rules) reach the
// widened members through the victim: the same predicate the ranking used.
#include <gtest/gtest.h>
#include <unistd.h>

#include "kill/killer.h"
#include "policy/rank.h"
#include "unit/kill/fakes.h"

namespace reaperd::kill {
namespace {

using testing::World;

TEST(WidenRules, CgroupWalkSkipsProtectUidProtectCgroupAndProtectRules) {
  World w;
  config::KillConfig cfg;
  cfg.widen = config::Widen::kCgroup;
  sys::FakeClock clock;
  config::RankConfig rank;
  rank.protect_uid = {4242};
  rank.protect_cgroup = {"/sandbox/keep"};
  config::Rule rule;
  rule.action = config::RuleAction::kProtect;
  rule.comm = "^dbx$";
  rank.rules.push_back(rule);
  policy::Ranker ranker(rank);

  auto& victim = w.Add(100, 5000, 1000, 1);
  w.Publish(victim, 1);
  auto other = [&](pid_t pid, auto edit) {
    auto p = w.Outside(pid, 9000 + static_cast<std::uint64_t>(pid), "/sandbox", 50 + pid);
    edit(p);
    w.Publish(p);
  };
  other(200, [](policy::Process&) {});
  other(201, [](policy::Process& p) { p.uid = 4242; });
  other(202, [](policy::Process& p) { p.cgroup = "/sandbox/keep"; });
  other(203, [](policy::Process& p) { p.comm.Assign("dbx"); });
  w.view.SetCgroup("sandbox/cgroup.procs", "100\n200\n201\n202\n203\n");

  VictimBuilder b(w.view, w.ops, cfg, ranker.protection());
  Victim v;
  ASSERT_TRUE(b.Build(w.snapshot, 0, clock.Now(), v));
  Killer k(w.view, w.ops, clock, cfg, false);
  KillResult r;
  k.Signal(v, r);
  EXPECT_EQ(w.ops.SentCount(200, SIGKILL), 1);
  EXPECT_EQ(w.ops.SentCount(201, SIGKILL), 0) << "protect_uid";
  EXPECT_EQ(w.ops.SentCount(202, SIGKILL), 0) << "protect_cgroup";
  EXPECT_EQ(w.ops.SentCount(203, SIGKILL), 0) << "protect rule";
  EXPECT_EQ(v.members_protected, 3);
}

TEST(WidenRules, RankingAndKillerAskTheSamePredicate) {
  config::RankConfig rank;
  rank.protect_uid = {4242};
  policy::Ranker ranker(rank);
  policy::Process p;
  p.pid = 77;
  p.ppid = 1;
  p.pgrp = 77;
  p.has_mm = true;
  p.uid = 4242;
  auto why = ranker.protection()->Check(p, 999);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->reason, policy::ProtectReason::kConfigUid);
  p.uid = 1;
  EXPECT_FALSE(ranker.protection()->Check(p, 999));
  p.ppid = 999;  // a hook reaperd spawned: its child, leading its own group
  EXPECT_EQ(ranker.protection()->Check(p, 999)->reason, policy::ProtectReason::kHook);
}

}  // namespace
}  // namespace reaperd::kill
