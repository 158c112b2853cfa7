// The kill-size ladder's plan (kill/step_ladder.h) on its own: which cgroups a step may kill
// whole, and where the ladder stops at the process group.
#include "kill/step_ladder.h"

#include <gtest/gtest.h>

#include "config/config.h"
#include "policy/rank.h"

namespace reaperd::kill {
namespace {

policy::Process Proc(pid_t pid, pid_t pgrp, std::string cgroup, std::string_view comm = "hog") {
  policy::Process p;
  p.pid = pid;
  p.starttime = 1000 + pid;
  p.pgrp = pgrp;
  p.session = pgrp;
  p.comm.Assign(comm);
  p.cgroup = std::move(cgroup);
  p.has_mm = true;
  return p;
}

class StepLadderTest : public testing::Test {
 protected:
  policy::ProtectRules rules_{config::RankConfig{}};
  policy::Snapshot snap_;
  StepLadder ladder_;
  // Kills snapshot.processes[index] at `step` and hands its result back.
  void Killed(std::size_t index, Step step, std::uint64_t seq) {
    ladder_.NoteKill(seq, snap_, index, step, rules_);
    ladder_.NoteResult(seq);
  }
  StepPlan Plan(std::size_t index, config::Widen limit = config::Widen::kCgroup) {
    return ladder_.Plan(snap_, index, policy::AvoidReason::kNone, 0, limit, rules_);
  }
};

TEST_F(StepLadderTest, ACgroupWithACompositorStopsTheLadderAtTheGroup) {
  const std::string app = "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope";
  snap_.processes = {Proc(100, 101, app), Proc(101, 101, app), Proc(102, 102, app, "gnome-shell")};
  Killed(0, Step::kProcessGroup, 1);  // the group was killed already
  const StepPlan plan = Plan(1);
  EXPECT_EQ(plan.step, Step::kProcessGroup);
  EXPECT_EQ(plan.reason, StepReason::kSessionCgroup);
}

TEST_F(StepLadderTest, SlicesUserManagersSessionsAndTheScopeRootAreNeverKilledWhole) {
  snap_.processes = {Proc(100, 100, "/app.scope")};
  EXPECT_FALSE(WhyNotCgroupStep(snap_, "/app.scope", rules_).has_value());
  EXPECT_EQ(WhyNotCgroupStep(snap_, "/", rules_), StepReason::kScopeRoot);
  EXPECT_EQ(WhyNotCgroupStep(snap_, "/user.slice", rules_), StepReason::kSessionCgroup);
  EXPECT_EQ(WhyNotCgroupStep(snap_, "/user.slice/user-1000.slice/user@1000.service", rules_),
            StepReason::kSessionCgroup);
  EXPECT_EQ(WhyNotCgroupStep(snap_, "/user.slice/user-1000.slice/session-3.scope", rules_),
            StepReason::kSessionCgroup);
  snap_.scope.kind = policy::ScopeKind::kCgroup;
  snap_.scope.cgroup = "/app.scope";
  EXPECT_EQ(WhyNotCgroupStep(snap_, "/app.scope", rules_), StepReason::kScopeRoot);
  EXPECT_FALSE(WhyNotCgroupStep(snap_, "/app.scope/child", rules_).has_value());
}

TEST_F(StepLadderTest, NoStepUpBeforeThePreviousVictimsOutcomeIsIn) {
  snap_.processes = {Proc(100, 101, "/app.scope"), Proc(101, 101, "/app.scope")};
  ladder_.NoteKill(7, snap_, 0, Step::kProcess, rules_);
  EXPECT_EQ(Plan(1).reason, StepReason::kVictimPending);
  EXPECT_EQ(Plan(1).step, Step::kProcess);
  ladder_.NoteResult(6);  // another victim's result
  EXPECT_EQ(Plan(1).reason, StepReason::kVictimPending);
  ladder_.NoteResult(7);
  EXPECT_EQ(Plan(1).step, Step::kProcessGroup);
  EXPECT_EQ(Plan(1).reason, StepReason::kPressureStayed);
}

TEST_F(StepLadderTest, TheLimitCapsTheStepAndAnAvoidedCandidateIsNeverWidened) {
  snap_.processes = {Proc(100, 101, "/app.scope"), Proc(101, 101, "/app.scope")};
  Killed(0, Step::kProcessGroup, 1);
  EXPECT_EQ(Plan(1).step, Step::kCgroup);
  const StepPlan capped = Plan(1, config::Widen::kProcessGroup);
  EXPECT_EQ(capped.step, Step::kProcessGroup);
  EXPECT_EQ(capped.reason, StepReason::kStepLimit);
  const StepPlan avoided =
      ladder_.Plan(snap_, 1, policy::AvoidReason::kAudio, 0, config::Widen::kCgroup, rules_);
  EXPECT_EQ(avoided.step, Step::kProcess);
  EXPECT_EQ(avoided.reason, StepReason::kAvoided);
}

}  // namespace
}  // namespace reaperd::kill
