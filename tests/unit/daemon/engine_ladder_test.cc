// The kill-size ladder (issue 15) through the engine, over a fixture /proc and fake process
// ops: the first kill of an application is its largest process; when pressure stays after that
// victim's memory is back and the same application is on top, the next kill is its process
// group, then its cgroup. A different application on top, or a return to ok that lasts, starts
// again from the process. Protected and avoided processes are never widened into, and a cgroup
// holding what keeps a session together is never killed whole.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/engine.h"
#include "sys/system_view.h"
#include "unit/alloc/fake_system.h"
#include "unit/daemon/engine_test_base.h"
#include "unit/kill/fakes.h"

namespace reaperd::daemon {
namespace {

using alloc_test::FakeSystem;
using alloc_test::kFirstPid;
using alloc_test::kFlags;
using alloc_test::kProcesses;

// Processes 100..103 hold 1000, 2000, 3000 and 4000 KiB: 103 is the first victim, then 102.
class EngineLadder : public testing::EngineTestBase {
 protected:
  void SetUp() override {
    cg_ = sys_.dir + "-cg";
    std::filesystem::copy(std::string(REAPERD_FIXTURES) + "/cgroup/host-v1", cg_,
                          std::filesystem::copy_options::recursive);
  }
  void TearDown() override {
    EngineTestBase::TearDown();
    std::filesystem::remove_all(cg_);
  }
  // Puts pid in process group pgrp (session: its own, unless given), in cgroup (a v1 memory
  // cgroup path, listed in that cgroup's cgroup.procs), with this comm.
  void Place(pid_t pid, pid_t pgrp, const std::string& cgroup, std::string_view comm = "hog",
             pid_t session = 0) {
    alloc_test::WriteFile(sys_.dir + "/" + std::to_string(pid) + "/stat",
                          FakeSystem::Stat(pid, kFlags, pgrp, session, comm));
    sys_.SetCgroup(pid, cgroup);
    std::filesystem::create_directories(cg_ + cgroup);
    procs_[cgroup] += std::to_string(pid) + "\n";
    alloc_test::WriteFile(cg_ + cgroup + "/cgroup.procs", procs_[cgroup]);
  }
  // Two applications: 103 alone in /a.scope (the first victim), and 100..102 in /b.scope,
  // each in a process group of its own.
  void PlaceTwoApplications() {
    Place(100, 100, "/b.scope");
    Place(101, 101, "/b.scope");
    Place(102, 102, "/b.scope");
    Place(103, 103, "/a.scope");
  }
  void SetAdj(pid_t pid, int adj) {
    alloc_test::WriteFile(sys_.dir + "/" + std::to_string(pid) + "/oom_score_adj",
                          std::to_string(adj) + "\n");
  }
  void Start() {
    auto v = sys::RealSystemView::Open(sys_.dir, cg_);
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
    view_.emplace(std::move(*v));
    MakeEngine(*view_);
    ASSERT_TRUE(sys_.SetMeminfo(sys_.high));
    Tick();
    ASSERT_TRUE(sys_.SetMeminfo(sys_.low));
  }
  // One tick at the kill level; the kill it makes is reaped (the fake victims exit at once),
  // its result handed back to the engine, and every process it killed leaves /proc.
  // Returns the kill line ("" when there was no kill).
  std::string KillTick() {
    const std::size_t kills_before = Count(" rss_pages=");
    const std::size_t reaped_before = Count(" bytes_freed=");
    Tick();
    if (Count(" rss_pages=") != kills_before + 1) return "";
    pollfd pfd{engine_->reaper_fd(), POLLIN, 0};
    for (int i = 0; i < 100 && Count(" bytes_freed=") == reaped_before; ++i) {
      if (::poll(&pfd, 1, 50) > 0) engine_->OnReaperEvent();
    }
    EXPECT_EQ(Count(" bytes_freed="), reaped_before + 1) << "the victim was not reaped";
    for (pid_t pid = kFirstPid; pid < kFirstPid + kProcesses; ++pid) {
      if (ops_.SentCount(pid, SIGKILL) > 0) Vanish(pid);
    }
    std::string line;
    for (const auto& l : sink_.Lines()) {
      if (l.find(" rss_pages=") != std::string::npos) line = l;
    }
    return line;
  }
  // The process leaves /proc (its directory is emptied and removed) and the fake ops.
  void Vanish(pid_t pid) {
    const std::string d = sys_.dir + "/" + std::to_string(pid);
    if (!std::filesystem::exists(d)) return;
    std::filesystem::remove_all(d);
    std::lock_guard lock(ops_.mu);
    ops_.procs[pid].exists = false;
  }
  int Killed(pid_t pid) const { return ops_.SentCount(pid, SIGKILL); }

  std::string cg_;
  std::map<std::string, std::string> procs_;
  std::optional<sys::RealSystemView> view_;
};

bool Has(const std::string& line, const std::string& part) {
  return line.find(part) != std::string::npos;
}

// One application: process group 101 (101, 102, 103) in cgroup /app.scope, with a bystander
// (100, its own process group) in the same cgroup.
TEST_F(EngineLadder, PressureThatStaysStepsUpFromProcessToGroupToCgroup) {
  Place(100, 100, "/app.scope");
  for (pid_t pid : {101, 102, 103}) Place(pid, 101, "/app.scope");
  Start();
  std::string first = KillTick();
  EXPECT_TRUE(Has(first, "pid=103")) << first;
  EXPECT_TRUE(Has(first, "step=process step_reason=first")) << first;
  EXPECT_TRUE(Has(first, " members=1 ")) << first;
  EXPECT_EQ(Killed(103), 1);
  EXPECT_EQ(Killed(102) + Killed(101) + Killed(100), 0);

  // Its memory came back (reaped), pressure stayed, 102 of the same group is on top: the
  // whole process group, and not the bystander in another group.
  std::string second = KillTick();
  EXPECT_TRUE(Has(second, "pid=102")) << second;
  EXPECT_TRUE(Has(second, "step=process_group step_reason=pressure_stayed")) << second;
  EXPECT_TRUE(Has(second, " members=2 ")) << second;
  EXPECT_EQ(Killed(102), 1);
  EXPECT_EQ(Killed(101), 1);
  EXPECT_EQ(Killed(100), 0);

  // Still short, and the top is in the same cgroup: the cgroup.
  std::string third = KillTick();
  EXPECT_TRUE(Has(third, "pid=100")) << third;
  EXPECT_TRUE(Has(third, "step=cgroup step_reason=pressure_stayed")) << third;
  EXPECT_EQ(Killed(100), 1);
}

TEST_F(EngineLadder, ADifferentApplicationOnTopStartsFromTheProcess) {
  PlaceTwoApplications();
  Start();
  EXPECT_TRUE(Has(KillTick(), "step=process step_reason=first"));
  std::string second = KillTick();
  EXPECT_TRUE(Has(second, "pid=102")) << second;
  EXPECT_TRUE(Has(second, "step=process step_reason=new_application")) << second;
  EXPECT_EQ(Killed(101) + Killed(100), 0);
}

// Issue 13's growers: when one victim is not enough, the next kill follows as soon as the
// reaper says the first is done, not at the scope's next due tick (100 ms later, while the
// other growers eat what the victim gave back). A tick 1 ms after the reaper's result
// samples the scope and kills the next.
TEST_F(EngineLadder, TheNextKillFollowsTheReapedVictimAtOnce) {
  PlaceTwoApplications();
  Start();
  EXPECT_TRUE(Has(KillTick(), "pid=103"));
  clock_.Advance(sys::kMilli);
  (void)engine_->Tick();  // no SampleWholeNextTick: only what is due is looked at
  EXPECT_EQ(Killed(102), 1) << "the scope waited for its next due tick";
}

// The lab's growers (session 18): the sample right after a victim's memory came back saw
// the scope at ok, the next one at kill again, and the ladder started over from the process
// at every kill of the burst (7 kills of one process each, and the kernel's OOM killer).
// An episode ends once the scope has stayed at ok for kEpisodeEndNs, not at one ok sample.
TEST_F(EngineLadder, AMomentaryOkInABurstKeepsTheLadder) {
  Place(100, 100, "/app.scope");
  for (pid_t pid : {101, 102, 103}) Place(pid, 101, "/app.scope");
  Start();
  EXPECT_TRUE(Has(KillTick(), "step=process step_reason=first"));
  ASSERT_TRUE(sys_.SetMeminfo(sys_.high));
  Tick();
  ASSERT_TRUE(sys_.SetMeminfo(sys_.low));
  const std::string second = KillTick();
  EXPECT_TRUE(Has(second, "step=process_group step_reason=pressure_stayed")) << second;
}

// A return to ok that lasts kEpisodeEndNs ends the episode: the next kill starts from the
// process again.
TEST_F(EngineLadder, AReturnToOkStartsFromTheProcess) {
  for (pid_t pid = kFirstPid; pid < kFirstPid + kProcesses; ++pid) Place(pid, 101, "/app.scope");
  Start();
  EXPECT_TRUE(Has(KillTick(), "step=process step_reason=first"));
  ASSERT_TRUE(sys_.SetMeminfo(sys_.high));
  for (sys::Nanos ok = 0; ok <= kEpisodeEndNs; ok += 100 * sys::kMilli) Tick();
  ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kOk);
  ASSERT_TRUE(sys_.SetMeminfo(sys_.low));
  std::string second = KillTick();
  EXPECT_TRUE(Has(second, "pid=102")) << second;
  EXPECT_TRUE(Has(second, "step=process step_reason=first")) << second;
  EXPECT_EQ(Killed(101) + Killed(100), 0);
}

TEST_F(EngineLadder, StepUpOffKillsProcessesOnly) {
  cfg_.kill.step_up = config::Widen::kNone;
  for (pid_t pid = kFirstPid; pid < kFirstPid + kProcesses; ++pid) Place(pid, 101, "/app.scope");
  Start();
  EXPECT_TRUE(Has(KillTick(), "step=process step_reason=disabled"));
  std::string second = KillTick();
  EXPECT_TRUE(Has(second, "step=process step_reason=disabled")) << second;
  EXPECT_EQ(Killed(101) + Killed(100), 0);
}

// The process group holds a protected process (oom_score_adj -1000) and an avoided one (a
// compositor's name): the group step takes neither, neither from the snapshot nor on the
// killer's re-walk of /proc.
TEST_F(EngineLadder, TheGroupStepSparesProtectedAndAvoidedMembers) {
  Place(100, 102, "/app.scope");
  SetAdj(100, -1000);
  Place(101, 102, "/app.scope", "gnome-shell");
  Place(102, 102, "/app.scope");
  Place(103, 102, "/app.scope");
  Start();
  EXPECT_TRUE(Has(KillTick(), "pid=103"));
  std::string second = KillTick();
  EXPECT_TRUE(Has(second, "pid=102")) << second;
  EXPECT_TRUE(Has(second, "step=process_group step_reason=pressure_stayed")) << second;
  EXPECT_TRUE(Has(second, " members=1 ")) << second;
  EXPECT_EQ(Killed(102), 1);
  EXPECT_EQ(Killed(101), 0);
  EXPECT_EQ(Killed(100), 0);
}

// An application's cgroup that also holds what keeps a session together (a compositor) is
// not the application's identity, and the group step there takes only the group.
TEST_F(EngineLadder, ACgroupHoldingTheSessionIsNeverKilledWhole) {
  const std::string term = "/user.slice/user-1000.slice/user@1000.service/app.slice/term.scope";
  Place(100, 100, term, "gnome-shell");
  for (pid_t pid : {101, 102, 103}) Place(pid, 101, term);
  Start();
  EXPECT_TRUE(Has(KillTick(), "pid=103"));
  std::string second = KillTick();
  EXPECT_TRUE(Has(second, "pid=102")) << second;
  EXPECT_TRUE(Has(second, "step=process_group step_reason=pressure_stayed")) << second;
  EXPECT_EQ(Killed(101), 1);
  // Only the compositor is left: avoided, it is killed alone, never widened from.
  std::string third = KillTick();
  EXPECT_TRUE(Has(third, "pid=100")) << third;
  EXPECT_TRUE(Has(third, "step=process ")) << third;
}

// A login's session scope is never an application: two jobs of one shell are two
// applications, and its cgroup is never killed whole.
TEST_F(EngineLadder, ASessionScopeIsNotOneApplication) {
  const std::string session = "/user.slice/user-1000.slice/session-2.scope";
  Place(100, 100, session, "bash");
  for (pid_t pid : {101, 102, 103}) Place(pid, pid, session, "hog", 100);
  Start();
  EXPECT_TRUE(Has(KillTick(), "pid=103"));
  std::string second = KillTick();
  EXPECT_TRUE(Has(second, "pid=102")) << second;
  EXPECT_TRUE(Has(second, "step=process step_reason=new_application")) << second;
  EXPECT_EQ(Killed(100) + Killed(101), 0);
}

}  // namespace
}  // namespace reaperd::daemon
