// The end of a cgroup scope's ladder in a real v1 cgroup: it acts inside the cgroup and
// nowhere else, whatever host action kill.last_resort names. The sysrq writer is the
// fixture's recording fake; the real /proc/sysrq-trigger is never written.
#include <gtest/gtest.h>
#include <unistd.h>

#include "integration/support/kill_fixture.h"

namespace reaperd {
namespace {

using itest::Hog;
using itest::KillLive;
using itest::kMiB;

// The victim cannot die (its signals are swallowed, and it is SIGSTOPped), so it misses its
// deadline; with last_resort = "panic" and one miss enough, the scope's end is pulled. It
// must not write sysrq (no panic of the host for one stuck cgroup); it kills the rest of the
// cgroup (an ordinary process there) and nothing outside (a process in a sibling cgroup).
TEST_F(KillLive, CgroupScopeLastResortStaysInsideTheCgroup) {
  cfg_.deadline_ms = 400;
  cfg_.last_resort = config::LastResort::kPanic;
  cfg_.last_resort_after_misses = 1;
  auto sb = Sandbox("ladder", 512 * kMiB);
  auto outside = Sandbox("ladder_out", 256 * kMiB);
  ASSERT_TRUE(sb && outside);
  StartReaper();
  Hog stuck = Hog::Spawn({.touch_mib = 150, .stop_when_ready = true}, sb.get());
  Hog bystander = Hog::Spawn({.touch_mib = 20}, sb.get());
  Hog neighbour = Hog::Spawn({.touch_mib = 20}, outside.get());
  ASSERT_GT(stuck.pid(), 0);
  ASSERT_GT(bystander.pid(), 0);
  ASSERT_GT(neighbour.pid(), 0);
  ops_->withheld = {stuck.pid()};

  auto snap = Scan(*sb);
  long idx = Choose(snap);
  ASSERT_GE(idx, 0);
  ASSERT_EQ(snap.processes[static_cast<std::size_t>(idx)].pid, stuck.pid());
  ASSERT_TRUE(KillChosen(snap, idx));
  kill::KillResult r = Next();
  EXPECT_EQ(r.outcome, kill::Outcome::kMissedDeadline);
  EXPECT_EQ(r.last_resort, kill::LastResortAction::kKillCgroup);
  EXPECT_FALSE(r.last_resort_failed) << r.last_resort_error.ToString();
  EXPECT_GE(r.last_resort_signalled, 1);
  EXPECT_TRUE(sysrq_.commands().empty()) << "a cgroup scope wrote sysrq";
  EXPECT_TRUE(bystander.WaitDead(bystander.pid(), 5000)) << "the cgroup's end did not act";
  EXPECT_FALSE(neighbour.Dead(neighbour.pid())) << "a process outside the cgroup was killed";
  EXPECT_FALSE(stuck.Dead(stuck.pid()));
}

}  // namespace
}  // namespace reaperd
