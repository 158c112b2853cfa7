// Real kills on this machine, each inside memory-limited v1 child cgroups created under
// this process's own memory cgroup (see support/cgroup_sandbox.h). Only processes the
// test spawned are ever signalled; sysrq is always a recording fake.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "integration/support/cgroup_sandbox.h"
#include "integration/support/hog.h"
#include "kill/kill_log.h"
#include "kill/reaper.h"
#include "kill/trigger.h"
#include "kill/victim.h"
#include "policy/rank.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd {
namespace {

using itest::CgroupSandbox;
using itest::Hog;
using itest::HogSpec;

constexpr std::uint64_t kMiB = 1 << 20;

class RecordingSysrq final : public kill::SysrqWriter {
 public:
  Result<void> Trigger(char c) noexcept override {
    std::lock_guard lock(mu_);
    commands_.push_back(c);
    return {};
  }
  std::vector<char> commands() {
    std::lock_guard lock(mu_);
    return commands_;
  }

 private:
  std::mutex mu_;
  std::vector<char> commands_;
};

// Real process operations, except that signals to the PIDs in `withheld` are swallowed:
// the test's way to have a victim that does not die ("stopped in a way the test controls").
class WithholdingOps final : public kill::ProcessOps {
 public:
  explicit WithholdingOps(kill::ProcessOps& real) : real_(real) {}
  std::vector<pid_t> withheld;

  Result<sys::UniqueFd> Open(pid_t pid) noexcept override {
    auto fd = real_.Open(pid);
    if (fd) {
      std::lock_guard lock(mu_);
      fd_pid_[fd->get()] = pid;
    }
    return fd;
  }
  Result<void> Send(int pidfd, int sig) noexcept override {
    {
      std::lock_guard lock(mu_);
      for (pid_t p : withheld) {
        if (fd_pid_[pidfd] == p) return {};
      }
    }
    return real_.Send(pidfd, sig);
  }
  Result<void> Mrelease(int pidfd) noexcept override { return real_.Mrelease(pidfd); }
  Result<bool> WaitExit(int pidfd, int ms) noexcept override { return real_.WaitExit(pidfd, ms); }
  Result<bool> SameMm(pid_t a, pid_t b) noexcept override { return real_.SameMm(a, b); }
  void Boost(pid_t pid) noexcept override { real_.Boost(pid); }
  bool Unfreeze(pid_t pid) noexcept override { return real_.Unfreeze(pid); }

 private:
  kill::ProcessOps& real_;
  std::mutex mu_;
  std::map<int, pid_t> fd_pid_;
};

class KillLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (cgroups, kcmp, process_mrelease)";
    auto v = sys::RealSystemView::Open();
    ASSERT_TRUE(v) << v.error().ToString();
    if (v->cgroup_version() != sys::CgroupVersion::kV1) GTEST_SKIP() << "needs cgroup v1 memory";
    view_.emplace(std::move(*v));
    real_ops_ = std::make_unique<kill::RealProcessOps>(*view_);
    ops_ = std::make_unique<WithholdingOps>(*real_ops_);
    cfg_.deadline_ms = 2000;
  }
  void TearDown() override {
    if (reaper_) reaper_->Stop();
  }

  std::unique_ptr<CgroupSandbox> Sandbox(const std::string& name, std::uint64_t limit) {
    std::string why;
    auto sb = CgroupSandbox::Create(name, limit, &why);
    EXPECT_NE(sb, nullptr) << why;
    return sb;
  }
  void StartReaper() {
    ladder_ = std::make_unique<kill::LastResortLadder>(cfg_, sysrq_);
    kill::ReaperOptions opt;
    opt.threads = 2;
    opt.linger_interval = 20 * sys::kMilli;
    reaper_ = std::make_unique<kill::Reaper>(cfg_, opt, *view_, *ops_, clock_, skip_, *ladder_);
    ASSERT_TRUE(reaper_->Start());
  }
  policy::Snapshot Scan(const CgroupSandbox& sb) {
    scan::Scanner scanner(*view_, clock_);
    policy::Scope scope{policy::ScopeKind::kCgroup, sb.cgroup()};
    auto snap = scanner.Scan(scope, {});
    EXPECT_TRUE(snap) << snap.error().ToString();
    return snap ? std::move(*snap) : policy::Snapshot{};
  }
  // The ranker's first choice, honouring the skip list; -1 if none.
  long Choose(const policy::Snapshot& snap) {
    policy::Ranker ranker(config::RankConfig{});
    std::vector<policy::ProcessId> skipped;
    skip_.CopyTo(skipped);
    auto ranking = ranker.Rank(snap, ::getpid(), skipped);
    if (ranking.candidates.empty()) return -1;
    return static_cast<long>(ranking.candidates[0].index);
  }
  Result<std::uint64_t> KillChosen(const policy::Snapshot& snap, long index,
                                   kill::Victim* built = nullptr) {
    kill::VictimBuilder builder(*view_, *ops_, cfg_);
    kill::Victim v;
    EXPECT_TRUE(builder.Build(snap, static_cast<std::size_t>(index), clock_.Now(), v));
    if (built) built->member_count = v.member_count;
    return reaper_->Submit(std::move(v));
  }
  kill::KillResult Next(int timeout_ms = 10000) {
    kill::KillResult r;
    EXPECT_TRUE(reaper_->WaitPop(r, timeout_ms)) << "no result within " << timeout_ms << " ms";
    kill::LogKillResult(log_, r);
    return r;
  }

  std::optional<sys::RealSystemView> view_;
  std::unique_ptr<kill::RealProcessOps> real_ops_;
  std::unique_ptr<WithholdingOps> ops_;
  sys::MonotonicClock clock_;
  config::KillConfig cfg_;
  kill::SkipList skip_;
  RecordingSysrq sysrq_;
  std::unique_ptr<kill::LastResortLadder> ladder_;
  std::unique_ptr<kill::Reaper> reaper_;
  StderrSink sink_;
  Logger log_{sink_};
};

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
  EXPECT_EQ(r.outcome, kill::Outcome::kReaped);
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
  EXPECT_EQ(r.outcome, kill::Outcome::kReaped);
  EXPECT_EQ(r.members, 2);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 5000));
  EXPECT_TRUE(hog.WaitDead(hog.sharer(), 5000));
  EXPECT_LT(sb->Usage() + 150 * kMiB, before);
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
  pid_t newcomer = ForkWithPid(pid, 200);
  if (newcomer < 0) GTEST_SKIP() << "could not get PID " << pid << " reused";
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
  ::kill(newcomer, SIGKILL);
  ::waitpid(newcomer, nullptr, 0);
}

// A victim that cannot die (the test swallows its signals; it is also SIGSTOPped) misses
// its deadline: it is skipped, the last resort is pulled (a recording fake), the next
// victim is chosen at once, and the stuck one is not chosen again while it lives.
TEST_F(KillLive, StuckVictimIsSkippedAndNextIsChosen) {
  cfg_.deadline_ms = 400;
  cfg_.last_resort = config::LastResort::kKernelOom;
  cfg_.last_resort_after_misses = 1;
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
  EXPECT_EQ(r.last_resort, config::LastResort::kKernelOom);
  EXPECT_TRUE(skip_.Contains({stuck.pid(), itest::StartTime(stuck.pid())}));
  for (int i = 0; i < 1000 && sysrq_.commands().empty(); ++i) ::usleep(1000);
  EXPECT_EQ(sysrq_.commands(), std::vector<char>{'f'});
  EXPECT_FALSE(stuck.Dead(stuck.pid()));

  auto snap2 = Scan(*sb);
  long idx2 = Choose(snap2);
  ASSERT_GE(idx2, 0);
  EXPECT_EQ(snap2.processes[static_cast<std::size_t>(idx2)].pid, next.pid());
  ASSERT_TRUE(KillChosen(snap2, idx2));
  kill::KillResult r2 = Next();
  EXPECT_EQ(r2.victim.id.pid, next.pid());
  EXPECT_EQ(r2.outcome, kill::Outcome::kReaped);
  EXPECT_TRUE(next.WaitDead(next.pid(), 5000));
  EXPECT_FALSE(stuck.Dead(stuck.pid()));
  auto snap3 = Scan(*sb);
  EXPECT_EQ(Choose(snap3), -1) << "the stuck victim was offered again";
}

// Two cgroup scopes under pressure at once. Scope 1's victim cannot release its memory
// (a CLONE_VM sharer in a third cgroup, outside the scope, keeps the mm alive); scope 2's
// victim is reaped while scope 1's is still in flight, and scope 1's then misses.
TEST_F(KillLive, TwoScopesNeitherWaitsForTheOther) {
  cfg_.deadline_ms = 1500;
  auto s1 = Sandbox("scope1", 512 * kMiB);
  auto s2 = Sandbox("scope2", 512 * kMiB);
  auto pin = Sandbox("pin", 512 * kMiB);
  ASSERT_TRUE(s1 && s2 && pin);
  StartReaper();
  Hog pinned = Hog::Spawn({.touch_mib = 150, .clone_vm_child = true}, s1.get());
  Hog free_hog = Hog::Spawn({.touch_mib = 150}, s2.get());
  ASSERT_GT(pinned.pid(), 0);
  ASSERT_GT(free_hog.pid(), 0);
  ASSERT_TRUE(pin->AddProcess(pinned.sharer()));

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
  EXPECT_EQ(first.outcome, kill::Outcome::kReaped);
  EXPECT_EQ(reaper_->in_flight(), 1u) << "scope 1's victim should still be in flight";
  kill::KillResult second = Next();
  EXPECT_EQ(second.seq, *seq1);
  EXPECT_EQ(second.outcome, kill::Outcome::kMissedDeadline);
  EXPECT_GT(second.mrelease_einval + second.mrelease_calls, 0);
  EXPECT_TRUE(pinned.WaitDead(pinned.pid(), 5000));
  EXPECT_GT(s1->Usage(), 100 * kMiB) << "the sharer outside the scope still holds the memory";
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
  EXPECT_EQ(a.outcome, kill::Outcome::kReaped);
  EXPECT_EQ(b.outcome, kill::Outcome::kReaped);
  EXPECT_NE(a.scope.cgroup.view(), b.scope.cgroup.view());
  EXPECT_TRUE(h1.WaitDead(h1.pid(), 5000));
  EXPECT_TRUE(h2.WaitDead(h2.pid(), 5000));
}

}  // namespace
}  // namespace reaperd
