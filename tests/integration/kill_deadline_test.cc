// Real kill tests about deadlines and concurrency: a stuck victim is skipped and the next
// one chosen, and two cgroup scopes are handled at once. Same rules as kill_live_test.cc.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "integration/support/kill_fixture.h"

namespace reaperd {
namespace {

using itest::CgroupSandbox;
using itest::Hog;
using itest::HogSpec;
using itest::KillLive;
using itest::kMiB;

// A victim that cannot die (the test swallows its signals; it is also SIGSTOPped) misses
// its deadline: it is skipped, counted on the ladder (one miss of three: the scope's end,
// tested in last_resort_live_test.cc, is not pulled), the next victim is chosen at once,
// and the stuck one is not chosen again while it lives.
TEST_F(KillLive, StuckVictimIsSkippedAndNextIsChosen) {
  cfg_.deadline_ms = 400;
  cfg_.last_resort = config::LastResort::kKernelOom;
  cfg_.last_resort_after_misses = 3;
  auto sb = Sandbox("stuck", 512 * kMiB);
  ASSERT_NE(sb, nullptr);
  StartReaper();
  Hog stuck = Hog::Spawn({.touch_mib = 150, .stop_when_ready = true}, sb.get());
  Hog next = Hog::Spawn({.touch_mib = 60}, sb.get());
  ASSERT_GT(stuck.pid(), 0);
  ASSERT_GT(next.pid(), 0);
  ops_->withheld = {stuck.pid()};

  auto snap = Scan(*sb);
  long idx = Choose(snap);
  ASSERT_GE(idx, 0);
  ASSERT_EQ(snap.processes[static_cast<std::size_t>(idx)].pid, stuck.pid());
  ASSERT_TRUE(KillChosen(snap, idx));
  kill::KillResult r = Next();
  EXPECT_EQ(r.outcome, kill::Outcome::kMissedDeadline);
  EXPECT_EQ(r.last_resort, kill::LastResortAction::kNone);
  EXPECT_EQ(ladder_->misses(r.scope), 1);
  EXPECT_TRUE(skip_.Contains({stuck.pid(), itest::StartTime(stuck.pid())}));
  EXPECT_TRUE(sysrq_.commands().empty());
  EXPECT_FALSE(stuck.Dead(stuck.pid()));

  auto snap2 = Scan(*sb);
  long idx2 = Choose(snap2);
  ASSERT_GE(idx2, 0);
  EXPECT_EQ(snap2.processes[static_cast<std::size_t>(idx2)].pid, next.pid());
  ASSERT_TRUE(KillChosen(snap2, idx2));
  kill::KillResult r2 = Next();
  EXPECT_EQ(r2.victim.id.pid, next.pid());
  EXPECT_TRUE(itest::Released(r2)) << kill::OutcomeName(r2.outcome);
  EXPECT_TRUE(next.WaitDead(next.pid(), 5000));
  EXPECT_FALSE(stuck.Dead(stuck.pid()));
  auto snap3 = Scan(*sb);
  EXPECT_EQ(Choose(snap3), -1) << "the stuck victim was offered again";
}

// Two cgroup scopes under pressure at once. Scope 1's victim cannot release its memory (its
// signals are withheld: it never dies); scope 2's victim is reaped while scope 1's is still
// in flight, and scope 1's then misses. (This used a CLONE_VM sharer in a third cgroup to pin
// the memory; the system-wide sharer search now finds and kills such a sharer, see
// widen_live_test.cc.)
TEST_F(KillLive, TwoScopesNeitherWaitsForTheOther) {
  cfg_.deadline_ms = 1500;
  auto s1 = Sandbox("scope1", 512 * kMiB);
  auto s2 = Sandbox("scope2", 512 * kMiB);
  ASSERT_TRUE(s1 && s2);
  StartReaper();
  Hog stuck = Hog::Spawn({.touch_mib = 150}, s1.get());
  Hog free_hog = Hog::Spawn({.touch_mib = 150}, s2.get());
  ASSERT_GT(stuck.pid(), 0);
  ASSERT_GT(free_hog.pid(), 0);
  ops_->withheld.push_back(stuck.pid());

  auto snap1 = Scan(*s1);
  auto snap2 = Scan(*s2);
  long i1 = Choose(snap1), i2 = Choose(snap2);
  ASSERT_GE(i1, 0);
  ASSERT_GE(i2, 0);
  auto seq1 = KillChosen(snap1, i1);
  auto seq2 = KillChosen(snap2, i2);
  ASSERT_TRUE(seq1 && seq2);
  kill::KillResult first = Next();
  EXPECT_EQ(first.seq, *seq2);
  EXPECT_TRUE(itest::Released(first)) << kill::OutcomeName(first.outcome);
  EXPECT_EQ(reaper_->in_flight(), 1u) << "scope 1's victim should still be in flight";
  kill::KillResult second = Next();
  EXPECT_EQ(second.seq, *seq1);
  EXPECT_EQ(second.outcome, kill::Outcome::kMissedDeadline);
  EXPECT_GT(second.mrelease_einval + second.mrelease_calls, 0);
  EXPECT_FALSE(stuck.Dead(stuck.pid()));
  EXPECT_GT(s1->Usage(), 100 * kMiB) << "the stuck victim still holds the memory";
}

// Two scopes, two ordinary victims submitted back to back: both are reaped.
TEST_F(KillLive, TwoScopesBothReaped) {
  auto s1 = Sandbox("both1", 384 * kMiB);
  auto s2 = Sandbox("both2", 384 * kMiB);
  ASSERT_TRUE(s1 && s2);
  StartReaper();
  Hog h1 = Hog::Spawn({.touch_mib = 200}, s1.get());
  Hog h2 = Hog::Spawn({.touch_mib = 200}, s2.get());
  auto snap1 = Scan(*s1);
  auto snap2 = Scan(*s2);
  ASSERT_TRUE(KillChosen(snap1, Choose(snap1)));
  ASSERT_TRUE(KillChosen(snap2, Choose(snap2)));
  kill::KillResult a = Next(), b = Next();
  EXPECT_TRUE(itest::Released(a)) << kill::OutcomeName(a.outcome);
  EXPECT_TRUE(itest::Released(b)) << kill::OutcomeName(b.outcome);
  EXPECT_NE(a.scope.cgroup.view(), b.scope.cgroup.view());
  EXPECT_TRUE(h1.WaitDead(h1.pid(), 5000));
  EXPECT_TRUE(h2.WaitDead(h2.pid(), 5000));
}

}  // namespace
}  // namespace reaperd
