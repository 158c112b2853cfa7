// Real kills on this machine, each inside memory-limited v1 child cgroups created under
// this process's own memory cgroup (see support/cgroup_sandbox.h). Only processes the
// test spawned are ever signalled; sysrq is always a recording fake.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/kill_fixture.h"

namespace reaperd {
namespace {

using itest::CgroupSandbox;
using itest::Hog;
using itest::HogSpec;
using itest::KillLive;
using itest::kMiB;

// A hog growing in a 256 MiB cgroup is killed when usage passes 80% of the limit, before
// the kernel's memcg OOM killer acts, and process_mrelease's work is recorded.
TEST_F(KillLive, HogKilledBeforeMemcgOomKiller) {
  auto sb = Sandbox("hog", 256 * kMiB);
  ASSERT_NE(sb, nullptr);
  StartReaper();
  Hog hog = Hog::Spawn({.touch_mib = 16, .grow_mib_per_s = 200, .grow_max_mib = 600}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  bool fired = false;
  for (int i = 0; i < 4000 && !fired; ++i) {
    auto u = kill::ReadScopeUsage(*view_, policy::ScopeKind::kCgroup, sb->cgroup());
    ASSERT_TRUE(u);
    if (kill::OverThreshold(*u, 0.8)) {
      auto snap = Scan(*sb);
      long idx = Choose(snap);
      ASSERT_GE(idx, 0);
      ASSERT_EQ(snap.processes[static_cast<std::size_t>(idx)].pid, hog.pid());
      ASSERT_TRUE(KillChosen(snap, idx));
      fired = true;
    } else {
      ::usleep(2000);
    }
  }
  ASSERT_TRUE(fired) << "the hog never reached 80% of its limit";
  kill::KillResult r = Next();
  EXPECT_TRUE(itest::Released(r)) << kill::OutcomeName(r.outcome);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 5000));
  EXPECT_EQ(sb->OomKills(), 0u) << "the memcg OOM killer acted first";
  EXPECT_GT(r.bytes_freed, 100 * kMiB);
  EXPECT_GT(r.mrelease_calls, 0);
  EXPECT_GT(r.t_reaped, r.t_signal);
  RecordProperty("freed_by", kill::FreedByName(r.freed_by));
  RecordProperty("bytes_freed", std::to_string(r.bytes_freed));
}

// The victim's mm is shared with a CLONE_VM child (not a thread): both are found by kcmp,
// both die, and the memory comes back.
TEST_F(KillLive, CloneVmSharerDiesWithTheVictim) {
  if (!kCloneVmChildWorks) GTEST_SKIP() << "a CLONE_VM child cannot run under TSan";
  auto sb = Sandbox("sharer", 512 * kMiB);
  ASSERT_NE(sb, nullptr);
  StartReaper();
  Hog hog = Hog::Spawn({.touch_mib = 200, .clone_vm_child = true}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  ASSERT_GT(hog.sharer(), 0);
  std::uint64_t before = sb->Usage();
  auto snap = Scan(*sb);
  long idx = Choose(snap);
  ASSERT_GE(idx, 0);
  kill::Victim built;
  ASSERT_TRUE(KillChosen(snap, idx, &built));
  EXPECT_EQ(built.member_count, 2u) << "kcmp must find the CLONE_VM sharer";
  kill::KillResult r = Next();
  EXPECT_TRUE(itest::Released(r)) << kill::OutcomeName(r.outcome);
  EXPECT_EQ(r.members, 2);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 5000));
  EXPECT_TRUE(hog.WaitDead(hog.sharer(), 5000));
  EXPECT_LT(sb->Usage() + 150 * kMiB, before);
}

// Issue 13: a CLONE_VM sharer made after the scope's candidates were watched (as the engine
// does at warn) is found at the kill among the PIDs allocated since, with no walk of /proc:
// real kcmp, the real /proc/loadavg cursor, the kernel's own PID allocation.
TEST_F(KillLive, SharerMadeAfterTheWatchIsFoundWithoutAWalk) {
  if (!kCloneVmChildWorks) GTEST_SKIP() << "a CLONE_VM child cannot run under TSan";
  auto sb = Sandbox("late-sharer", 512 * kMiB);
  ASSERT_NE(sb, nullptr);
  StartReaper();
  Hog hog = Hog::Spawn({.touch_mib = 100, .clone_vm_child_later = true}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  auto snap = Scan(*sb);
  long idx = Choose(snap);
  ASSERT_GE(idx, 0);
  kill::VictimBuilder builder(*view_, *ops_, cfg_);
  std::vector<policy::Score> top(1);
  top[0].index = static_cast<std::size_t>(idx);
  ASSERT_EQ(builder.WatchSharers(snap, top, clock_.Now()), 1u);
  const pid_t late = hog.CloneVmChildNow();
  ASSERT_GT(late, 0);
  kill::Victim v;
  ASSERT_TRUE(builder.Build(snap, static_cast<std::size_t>(idx), clock_.Now(), v));
  EXPECT_EQ(builder.sharer_watch().vouched(), 1u) << "the kill walked /proc";
  ASSERT_EQ(v.member_count, 2u) << "the sharer made after the watch was missed";
  EXPECT_EQ(v.members[1].pid, late);
  ASSERT_TRUE(reaper_->Submit(std::move(v)));
  kill::KillResult r = Next();
  EXPECT_TRUE(itest::Released(r)) << kill::OutcomeName(r.outcome);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 5000));
  EXPECT_TRUE(hog.WaitDead(late, 5000));
}

// A victim held in a frozen v1 freezer cgroup cannot run its own exit: process_mrelease
// reaps its memory first (recorded as such), then the reaper thaws it and it dies.
TEST_F(KillLive, FrozenVictimIsReapedByProcessMrelease) {
  auto sb = Sandbox("frozen", 512 * kMiB);
  ASSERT_NE(sb, nullptr);
  std::string why;
  auto freezer = itest::FreezerCgroup::Create("reaperd-frozen", &why);
  if (freezer == nullptr) GTEST_SKIP() << why;
  StartReaper();
  Hog hog = Hog::Spawn({.touch_mib = 200}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  ASSERT_TRUE(freezer->AddProcess(hog.pid()));
  ASSERT_TRUE(freezer->Freeze());
  auto snap = Scan(*sb);
  long idx = Choose(snap);
  ASSERT_GE(idx, 0);
  ASSERT_TRUE(KillChosen(snap, idx));
  kill::KillResult r = Next();
  EXPECT_EQ(r.outcome, kill::Outcome::kReaped);
  EXPECT_EQ(r.freed_by, kill::FreedBy::kMrelease);
  EXPECT_GT(r.bytes_freed, 150 * kMiB);
  EXPECT_TRUE(r.thawed);
  EXPECT_GT(r.t_exit, 0);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 5000));
}

// Forks children until one gets PID `want` (ns_last_pid = want - 1 first; another process
// on the machine may take it, hence the bounded retries). Returns -1 if it never did.
pid_t ForkWithPid(pid_t want, int tries) {
  for (int i = 0; i < tries; ++i) {
    if (!itest::WriteFile("/proc/sys/kernel/ns_last_pid", std::to_string(want - 1))) return -1;
    pid_t c = ::fork();
    if (c == 0) {
      // Never outlive the test: an orphan holding ctest's output pipe would hang the run.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      for (;;) ::pause();
    }
    if (c == want) return c;
    ::kill(c, SIGKILL);  // our own unreaped child: the PID cannot have been reused
    ::waitpid(c, nullptr, 0);
  }
  return -1;
}

// A candidate exits after the snapshot and a new process takes its PID: neither a victim
// built before the reuse (its pidfd names the dead process) nor one built after it (the
// start time differs) signals the newcomer.
TEST_F(KillLive, ReusedPidIsNeverSignalled) {
  auto sb = Sandbox("reuse", 128 * kMiB);
  ASSERT_NE(sb, nullptr);
  StartReaper();
  Hog cand = Hog::Spawn({.touch_mib = 8}, sb.get());
  ASSERT_GT(cand.pid(), 0);
  const pid_t pid = cand.pid();
  auto snap = Scan(*sb);
  long idx = -1;
  for (std::size_t i = 0; i < snap.processes.size(); ++i) {
    if (snap.processes[i].pid == pid) idx = static_cast<long>(i);
  }
  ASSERT_GE(idx, 0);
  kill::VictimBuilder builder(*view_, *ops_, cfg_);
  kill::Victim early;
  ASSERT_TRUE(builder.Build(snap, static_cast<std::size_t>(idx), clock_.Now(), early));
  ASSERT_FALSE(early.main_stale);

  cand.Kill();  // exits and is reaped: the PID is free
  // Start times count clock ticks (10 ms): a PID reused within the same tick would carry the
  // same start time, which no /proc reader can tell apart. Let a tick pass, as any real reuse
  // (a full PID wrap-around) does.
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  pid_t newcomer = ForkWithPid(pid, 200);
  if (newcomer < 0) GTEST_SKIP() << "could not get PID " << pid << " reused";
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reap_newcomer{newcomer};
  ASSERT_NE(itest::StartTime(newcomer), snap.processes[static_cast<std::size_t>(idx)].starttime);

  ASSERT_TRUE(reaper_->Submit(std::move(early)));
  kill::KillResult r1 = Next();
  EXPECT_EQ(r1.members_signalled, 0);
  EXPECT_EQ(r1.outcome, kill::Outcome::kExited);

  kill::Victim late;
  ASSERT_TRUE(builder.Build(snap, static_cast<std::size_t>(idx), clock_.Now(), late));
  EXPECT_TRUE(late.main_stale);
  ASSERT_TRUE(reaper_->Submit(std::move(late)));
  kill::KillResult r2 = Next();
  EXPECT_EQ(r2.outcome, kill::Outcome::kStale);

  siginfo_t si{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(newcomer), &si, WEXITED | WNOHANG), 0);
  EXPECT_EQ(si.si_pid, 0) << "the process that took the PID was killed";
}

}  // namespace
}  // namespace reaperd
