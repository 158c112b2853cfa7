#include "kill/reaper.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "unit/kill/fakes.h"

namespace reaperd::kill {
namespace {

using testing::World;

// Real threads and a real clock (workers wait on it); fake processes. The assertions are
// about outcomes and order of events, never about how long anything took.
struct ReaperFixture : ::testing::Test {
  World w;
  config::KillConfig cfg;
  sys::MonotonicClock clock;
  SkipList skip;
  testing::FakeSysrq sysrq;
  std::unique_ptr<SysrqWriter> custom_sysrq;  // outlives the reaper, which may call it
  std::unique_ptr<LastResortLadder> ladder;
  std::unique_ptr<Reaper> reaper;

  void StartReaper(ReaperOptions opt = {}) {
    opt.linger_interval = 5 * sys::kMilli;
    ladder = std::make_unique<LastResortLadder>(cfg, sysrq);
    reaper = std::make_unique<Reaper>(cfg, opt, w.view, w.ops, clock, skip, *ladder);
    ASSERT_TRUE(reaper->Start());
  }
  Result<std::uint64_t> SubmitIndex(std::size_t i) {
    Victim v;
    VictimBuilder b(w.view, w.ops, cfg);
    EXPECT_TRUE(b.Build(w.snapshot, i, clock.Now(), v));
    return reaper->Submit(std::move(v));
  }
};

// The scheduling policy and real-time priority of each of this process's threads named
// `name` (/proc/self/task/TID/stat fields 40 and 41).
std::vector<std::pair<int, int>> PolicyOfThreads(const char* name) {
  std::vector<std::pair<int, int>> out;
  DIR* d = ::opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string dir = std::string("/proc/self/task/") + e->d_name;
    std::ifstream comm(dir + "/comm");
    std::string c;
    std::getline(comm, c);
    if (c != name) continue;
    std::ifstream stat(dir + "/stat");
    std::string line;
    std::getline(stat, line);
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::vector<std::string> f((std::istream_iterator<std::string>(rest)),
                               std::istream_iterator<std::string>());
    // f[0] is field 3 (state): field N is f[N - 3].
    if (f.size() > 38) out.emplace_back(std::stoi(f[38]), std::stoi(f[37]));
  }
  ::closedir(d);
  return out;
}

TEST_F(ReaperFixture, RealtimePriorityIsSetOrItsRefusalReported) {
  ReaperOptions opt;
  opt.realtime_priority = 7;
  StartReaper(opt);
  const auto reapers = PolicyOfThreads("reaperd-reap");
  const auto watchers = PolicyOfThreads("reaperd-watch");
  ASSERT_EQ(reapers.size(), 2u);
  ASSERT_EQ(watchers.size(), 1u);
  if (reaper->realtime_error()) {
    // Refused (no CAP_SYS_NICE, or no real-time budget in this cgroup): the threads run,
    // at the normal policy, and the reason is an errno the daemon can log.
    EXPECT_NE(reaper->realtime_error()->sys_errno, 0);
    for (auto [policy, prio] : reapers) EXPECT_EQ(policy, SCHED_OTHER);
  } else {
    for (auto [policy, prio] : reapers) {
      EXPECT_EQ(policy, SCHED_FIFO);
      EXPECT_EQ(prio, 7);
    }
    EXPECT_EQ(watchers[0].first, SCHED_FIFO);
  }
  // And the threads still reap.
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].mrelease_errno = {0};
  ASSERT_TRUE(SubmitIndex(0));
  KillResult r;
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_EQ(r.outcome, Outcome::kReaped);
}

TEST_F(ReaperFixture, NoRealtimePriorityByDefault) {
  StartReaper();
  const auto reapers = PolicyOfThreads("reaperd-reap");
  ASSERT_EQ(reapers.size(), 2u);
  for (auto [policy, prio] : reapers) EXPECT_EQ(policy, SCHED_OTHER);
  EXPECT_FALSE(reaper->realtime_error());
}

TEST_F(ReaperFixture, DyingVictimIsReapedAndTheEventFdSaysSo) {
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].mrelease_errno = {0};
  StartReaper();
  auto seq = SubmitIndex(0);
  ASSERT_TRUE(seq);
  pollfd p{reaper->event_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  KillResult r;
  ASSERT_TRUE(reaper->Pop(r));
  EXPECT_EQ(r.seq, *seq);
  EXPECT_EQ(r.outcome, Outcome::kReaped);
  EXPECT_EQ(r.victim.id, (policy::ProcessId{100, 5000}));
  EXPECT_GE(r.t_signal, r.t_decision);
  EXPECT_GE(r.t_reaped, r.t_signal);
  EXPECT_EQ(::poll(&p, 1, 0), 0);  // drained
}

TEST_F(ReaperFixture, StaleVictimIsReportedAndNeverSignalled) {
  w.Add(100, 5000, 1000, 1);
  w.ops.Reuse(100);
  w.view.SetProc("100/stat", testing::StatLine(100, "new", 6000));
  StartReaper();
  ASSERT_TRUE(SubmitIndex(0));
  KillResult r;
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_EQ(r.outcome, Outcome::kStale);
  EXPECT_TRUE(w.ops.Sent().empty());
}

TEST_F(ReaperFixture, DryRunReportsWithoutSignalling) {
  w.Add(100, 5000, 1000, 1);
  ReaperOptions opt;
  opt.dry_run = true;
  StartReaper(opt);
  ASSERT_TRUE(SubmitIndex(0));
  KillResult r;
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_EQ(r.outcome, Outcome::kDryRun);
  EXPECT_TRUE(w.ops.Sent().empty());
}

TEST_F(ReaperFixture, MissedDeadlineSkipsFiresLastResortAndLingers) {
  cfg.deadline_ms = 30;
  cfg.last_resort = config::LastResort::kKernelOom;
  cfg.last_resort_after_misses = 1;
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;  // stuck: never dies, never releases
  w.ops.procs[100].mrelease_errno.assign(100000, EINVAL);
  StartReaper();
  ASSERT_TRUE(SubmitIndex(0));
  KillResult r;
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_EQ(r.outcome, Outcome::kMissedDeadline);
  EXPECT_FALSE(r.after_deadline);
  EXPECT_EQ(r.last_resort, LastResortAction::kKernelOom);
  EXPECT_TRUE(skip.Contains({100, 5000}));
  for (int i = 0; i < 500 && sysrq.Commands().empty(); ++i) ::poll(nullptr, 0, 2);
  EXPECT_EQ(sysrq.Commands(), std::vector<char>{'f'});
  EXPECT_EQ(reaper->in_flight(), 1u);  // still worked on in the background
  // It finally goes: a late report, and the skip entry is dropped (the PID is dead).
  {
    std::lock_guard lock(w.ops.mu);
    w.ops.procs[100].mrelease_errno.clear();
    w.ops.procs[100].killed = true;
    w.ops.procs[100].exited = true;
  }
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_TRUE(r.after_deadline);
  EXPECT_EQ(r.outcome, Outcome::kExited);
  EXPECT_FALSE(skip.Contains({100, 5000}));
}

TEST_F(ReaperFixture, AStuckVictimDoesNotHoldUpAnother) {
  cfg.deadline_ms = 60000;
  w.Add(100, 5000, 1000, 1);
  w.Add(200, 6000, 500, 2, "/usr/bin/other");
  w.ops.procs[100].exits_on_kill = false;
  w.ops.procs[100].mrelease_errno.assign(100000, EINVAL);
  w.ops.procs[200].mrelease_errno = {0};
  StartReaper();
  ASSERT_TRUE(SubmitIndex(0));
  auto second = SubmitIndex(1);
  ASSERT_TRUE(second);
  KillResult r;
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_EQ(r.seq, *second);
  EXPECT_EQ(r.outcome, Outcome::kReaped);
  EXPECT_EQ(reaper->in_flight(), 1u);
}

TEST_F(ReaperFixture, FullTableRefusesBeforeSignalling) {
  cfg.deadline_ms = 60000;
  w.Add(100, 5000, 1000, 1);
  w.Add(200, 6000, 500, 2, "/usr/bin/other");
  w.ops.procs[100].exits_on_kill = false;
  w.ops.procs[100].mrelease_errno.assign(100000, EINVAL);
  ReaperOptions opt;
  opt.max_in_flight = 1;
  StartReaper(opt);
  ASSERT_TRUE(SubmitIndex(0));
  auto r = SubmitIndex(1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kRange);
  EXPECT_EQ(w.ops.SentCount(200, SIGKILL), 0);
}

// A cgroup scope /sandbox (v1) whose victim 100 never dies nor releases, with 300 (an
// ordinary process of the cgroup), 301 (oom_score_adj -1000), 302 (listed in cgroup.procs
// but moved out since) and 400 (elsewhere on the host).
void StuckCgroupScope(World& w) {
  w.snapshot.scope.kind = policy::ScopeKind::kCgroup;
  w.snapshot.scope.cgroup = "/sandbox";
  w.view.SetCgroup("sandbox/memory.usage_in_bytes", "5000000\n");
  w.view.SetCgroup("sandbox/memory.limit_in_bytes", "8000000\n");
  w.view.SetCgroup("sandbox/cgroup.procs", "100\n300\n301\n302\n");
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;
  w.ops.procs[100].mrelease_errno.assign(100000, EINVAL);
  for (pid_t pid : {300, 301, 302, 400}) {
    w.ops.procs[pid] = testing::FakeProc{};
    w.view.SetProc(std::to_string(pid) + "/stat", testing::StatLine(pid, "app", 7000));
    w.view.SetProc(std::to_string(pid) + "/status", testing::StatusLine(pid, "app"));
    w.view.SetProc(std::to_string(pid) + "/oom_score_adj", pid == 301 ? "-1000\n" : "0\n");
  }
  for (pid_t pid : {100, 300, 301}) {
    w.view.SetProc(std::to_string(pid) + "/cgroup", "4:memory:/sandbox\n1:cpu:/\n");
  }
  w.view.SetProc("100/oom_score_adj", "0\n");
  w.view.SetProc("302/cgroup", "4:memory:/elsewhere\n");
  w.view.SetProc("400/cgroup", "4:memory:/\n");
}

struct CgroupLadder : ReaperFixture, ::testing::WithParamInterface<config::LastResort> {};

// One stuck container must not take down the host: whatever kill.last_resort says, a cgroup
// scope's last resort never writes /proc/sysrq-trigger; it kills what is left of its own
// cgroup, sparing the protected and everything outside.
TEST_P(CgroupLadder, CgroupScopeLastResortStaysInsideTheCgroup) {
  cfg.deadline_ms = 30;
  cfg.last_resort = GetParam();
  cfg.last_resort_after_misses = 1;
  StuckCgroupScope(w);
  StartReaper();
  ASSERT_TRUE(SubmitIndex(0));
  KillResult r;
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_EQ(r.outcome, Outcome::kMissedDeadline);
  for (int i = 0; i < 2500 && w.ops.SentCount(300, SIGKILL) == 0; ++i) ::poll(nullptr, 0, 2);
  EXPECT_EQ(w.ops.SentCount(300, SIGKILL), 1);
  EXPECT_TRUE(sysrq.Commands().empty());
  for (const auto& sent : w.ops.Sent()) {
    EXPECT_TRUE(sent.pid == 100 || sent.pid == 300) << "signalled " << sent.pid;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryHostAction, CgroupLadder,
                         ::testing::Values(config::LastResort::kKernelOom,
                                           config::LastResort::kPanic,
                                           config::LastResort::kReboot));

TEST_F(ReaperFixture, SystemScopeLastResortStillWritesSysrq) {
  cfg.deadline_ms = 30;
  cfg.last_resort = config::LastResort::kPanic;
  cfg.last_resort_after_misses = 1;
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;
  w.ops.procs[100].mrelease_errno.assign(100000, EINVAL);
  StartReaper();
  ASSERT_TRUE(SubmitIndex(0));
  KillResult r;
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_EQ(r.outcome, Outcome::kMissedDeadline);
  EXPECT_EQ(sysrq.Commands(), std::vector<char>{'c'});
}

// A last resort that fails (the sysrq write refused) is not silent: the miss's result says
// so, with the error, for the log, the metrics and `reaperd status`.
TEST_F(ReaperFixture, FailedSysrqWriteIsReported) {
  cfg.deadline_ms = 30;
  cfg.last_resort = config::LastResort::kKernelOom;
  cfg.last_resort_after_misses = 1;
  sysrq.fail_errno = EIO;
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;
  w.ops.procs[100].mrelease_errno.assign(100000, EINVAL);
  StartReaper();
  ASSERT_TRUE(SubmitIndex(0));
  KillResult r;
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_EQ(r.outcome, Outcome::kMissedDeadline);
  EXPECT_EQ(r.last_resort, LastResortAction::kKernelOom);
  EXPECT_TRUE(r.last_resort_failed);
  EXPECT_EQ(r.last_resort_error.sys_errno, EIO);
  EXPECT_EQ(sysrq.Commands(), std::vector<char>{'f'});
}

// A victim nobody may signal (EPERM: a capability, seccomp, an LSM) is a miss: skipped so it
// is not chosen again every tick, counted on the ladder, and reported once.
TEST_F(ReaperFixture, VictimWhoseSignalFailsIsAMissReportedOnce) {
  cfg.last_resort_after_misses = 3;
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].send_errno = EPERM;
  StartReaper();
  ASSERT_TRUE(SubmitIndex(0));
  KillResult r;
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.first_error.sys_errno, EPERM);
  EXPECT_TRUE(skip.Contains({100, 5000}));
  EXPECT_EQ(ladder->misses(r.scope), 1);
  EXPECT_EQ(reaper->in_flight(), 0u);
  EXPECT_FALSE(reaper->Pop(r)) << "reported twice";
}

// The miss is reported after its last resort ran, but never after the victim's late report:
// here the victim goes while sysrq is being written, and the reports still come in order
// (the daemon would otherwise take a finished victim for a stuck one).
TEST_F(ReaperFixture, MissIsReportedBeforeTheLateReportEvenIfTheVictimGoesDuringTheLastResort) {
  cfg.deadline_ms = 30;
  cfg.last_resort = config::LastResort::kKernelOom;
  cfg.last_resort_after_misses = 1;
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;
  w.ops.procs[100].mrelease_errno.assign(100000, EINVAL);
  struct GoneDuringSysrq final : SysrqWriter {
    explicit GoneDuringSysrq(ReaperFixture* fixture) : f(fixture) {}
    ReaperFixture* f;
    Result<void> Trigger(char) noexcept override {
      {
        std::lock_guard lock(f->w.ops.mu);
        f->w.ops.procs[100].mrelease_errno.clear();
        f->w.ops.procs[100].exited = true;
      }
      // Give the workers every chance to finish the victim while the last resort runs.
      for (int i = 0; i < 100 && f->reaper->in_flight() != 0; ++i) ::poll(nullptr, 0, 2);
      return {};
    }
  };
  custom_sysrq = std::make_unique<GoneDuringSysrq>(this);
  ladder = std::make_unique<LastResortLadder>(cfg, *custom_sysrq);
  ReaperOptions opt;
  opt.linger_interval = 5 * sys::kMilli;
  reaper = std::make_unique<Reaper>(cfg, opt, w.view, w.ops, clock, skip, *ladder);
  ASSERT_TRUE(reaper->Start());
  ASSERT_TRUE(SubmitIndex(0));
  KillResult r;
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_EQ(r.outcome, Outcome::kMissedDeadline);
  EXPECT_FALSE(r.after_deadline);
  EXPECT_EQ(r.last_resort, LastResortAction::kKernelOom);
  ASSERT_TRUE(reaper->WaitPop(r, 5000));
  EXPECT_TRUE(r.after_deadline);
  EXPECT_EQ(r.outcome, Outcome::kExited);
}

}  // namespace
}  // namespace reaperd::kill
