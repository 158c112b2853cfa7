#include "kill/reap_job.h"

#include <gtest/gtest.h>

#include "unit/kill/fakes.h"

namespace reaperd::kill {
namespace {

using testing::World;

// Builds, signals and starts one job over a World, then lets a test step it by hand.
struct JobFixture : ::testing::Test {
  World w;
  config::KillConfig cfg;
  sys::FakeClock clock;
  ReapJob job;
  std::unique_ptr<Killer> killer;
  std::unique_ptr<ReapContext> ctx;

  void Begin() {
    VictimBuilder b(w.view, w.ops, cfg);
    ASSERT_TRUE(b.Build(w.snapshot, 0, clock.Now(), job.victim));
    killer = std::make_unique<Killer>(w.view, w.ops, clock, cfg, false);
    ctx = std::make_unique<ReapContext>(ReapContext{w.view, w.ops, *killer, cfg, clock, 4096});
    killer->Signal(job.victim, job.result);
    job.Start(clock.Now(), cfg);
  }
  bool Step(sys::Nanos* next = nullptr) {
    sys::Nanos n = 0;
    bool done = job.Step(*ctx, clock.Now(), &n);
    if (next) *next = n;
    return done;
  }
};

TEST_F(JobFixture, MreleaseSuccessRecordsBytesFreed) {
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;  // still exiting when process_mrelease runs
  w.ops.procs[100].mrelease_errno = {0};
  Begin();
  w.view.SetProc("100/statm", "1000 10 10 1 0 500 0\n");  // 10 pages left after the reap
  clock.Advance(3 * sys::kMilli);
  EXPECT_FALSE(Step());  // reaped, but not exited yet
  EXPECT_TRUE(job.released);
  EXPECT_EQ(job.result.freed_by, FreedBy::kMrelease);
  EXPECT_EQ(job.result.bytes_freed, (1000u - 10u) * 4096u);
  EXPECT_EQ(job.result.t_reaped, clock.Now());
  w.ops.SetExited(100);
  clock.Advance(sys::kMilli);
  EXPECT_TRUE(Step());
  EXPECT_EQ(job.result.outcome, Outcome::kReaped);
  EXPECT_EQ(job.result.t_exit, clock.Now());
}

TEST_F(JobFixture, EagainRetriesAreBounded) {
  cfg.mrelease_retries = 3;
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;
  w.ops.procs[100].mrelease_errno = {EAGAIN, EAGAIN, EAGAIN, EAGAIN, EAGAIN, EAGAIN, EAGAIN};
  Begin();
  for (int i = 0; i < 10; ++i) {
    clock.Advance(20 * sys::kMilli);
    Step();
  }
  EXPECT_EQ(job.result.mrelease_calls, 4);  // the first try plus three retries
  EXPECT_TRUE(job.mrelease_done);
  EXPECT_FALSE(job.released);
}

TEST_F(JobFixture, EinvalMeansASharerIsAliveAndKeepsTrying) {
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;
  w.ops.procs[100].mrelease_errno = {EINVAL, EINVAL, EINVAL, 0};
  Begin();
  sys::Nanos next = 0;
  EXPECT_FALSE(Step(&next));
  EXPECT_EQ(next, clock.Now() + cfg.mrelease_retry_delay_ms * sys::kMilli);
  for (int i = 0; i < 3; ++i) {
    clock.Advance(next - clock.Now());
    Step(&next);
  }
  EXPECT_EQ(job.result.mrelease_einval, 3);
  EXPECT_TRUE(job.released);
}

TEST_F(JobFixture, GraceRunsOutThenSigkill) {
  cfg.signal_grace_ms = 100;
  w.Add(100, 5000, 1000, 1);
  Begin();
  EXPECT_EQ(w.ops.SentCount(100, SIGTERM), 1);
  clock.Advance(50 * sys::kMilli);
  EXPECT_FALSE(Step());
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 0);
  clock.Advance(50 * sys::kMilli);
  Step();
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 1);
  EXPECT_TRUE(job.result.escalated);
}

TEST_F(JobFixture, SigtermHonouredMeansNoSigkill) {
  cfg.signal_grace_ms = 100;
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_term = true;
  Begin();
  clock.Advance(sys::kMilli);
  EXPECT_TRUE(Step());
  EXPECT_EQ(w.ops.SentCount(100, SIGKILL), 0);
  EXPECT_FALSE(job.result.escalated);
  EXPECT_EQ(job.result.outcome, Outcome::kExited);  // system scope: exit frees the mm
}

TEST_F(JobFixture, HelpsTheVictimExit) {
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;
  w.ops.frozen = true;
  Begin();
  Step();
  EXPECT_EQ(w.ops.SentCount(100, SIGCONT), 1);
  EXPECT_EQ(w.ops.unfreeze_calls, std::vector<pid_t>{100});
  EXPECT_EQ(w.ops.boosted, std::vector<pid_t>{100});
  EXPECT_TRUE(job.result.thawed);
}

// A victim that exited has let go of its mm (the group holds every sharer the kernel would
// kill): that is a release, even when file-backed or shmem pages it mapped stay charged to
// the scope and the scope's usage does not move. Judging by the scope's usage made this a
// miss, which fed the last resort.
TEST_F(JobFixture, CgroupScopeVictimThatExitedIsReleasedWhateverTheScopeUsage) {
  w.snapshot.scope.kind = policy::ScopeKind::kCgroup;
  w.snapshot.scope.cgroup = "/sandbox";
  w.view.SetCgroup("sandbox/memory.usage_in_bytes", "5000000\n");
  w.view.SetCgroup("sandbox/memory.limit_in_bytes", "8000000\n");
  w.Add(100, 5000, 1000, 1);
  // Exits at once: process_mrelease only sees ESRCH; the page cache stays charged.
  Begin();
  EXPECT_TRUE(Step());
  EXPECT_TRUE(job.exited);
  EXPECT_TRUE(job.released);
  EXPECT_EQ(job.result.freed_by, FreedBy::kExit);
  EXPECT_EQ(job.result.outcome, Outcome::kExited);
}

// The usage of the scope falling (another process freed memory) is no proof that the victim
// released anything: a victim that has neither exited nor been reaped is not released.
TEST_F(JobFixture, ScopeUsageFallingIsNoReleaseOfTheVictim) {
  w.snapshot.scope.kind = policy::ScopeKind::kCgroup;
  w.snapshot.scope.cgroup = "/sandbox";
  w.view.SetCgroup("sandbox/memory.usage_in_bytes", "5000000\n");
  w.view.SetCgroup("sandbox/memory.limit_in_bytes", "8000000\n");
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;
  w.ops.procs[100].mrelease_errno.assign(100, EINVAL);
  Begin();
  EXPECT_FALSE(Step());
  w.view.SetCgroup("sandbox/memory.usage_in_bytes", "1000000\n");
  clock.Advance(50 * sys::kMilli);
  EXPECT_FALSE(Step());
  EXPECT_FALSE(job.released);
}

// process_mrelease said EINVAL: a user of the mm outside the group is alive and not dying
// (the kernel's task_will_free_mem). The group's exit then frees nothing: not a release.
TEST_F(JobFixture, ExitAfterEinvalIsNoRelease) {
  w.snapshot.scope.kind = policy::ScopeKind::kCgroup;
  w.snapshot.scope.cgroup = "/sandbox";
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].exits_on_kill = false;
  w.ops.procs[100].mrelease_errno = {EINVAL};
  Begin();
  EXPECT_FALSE(Step());
  w.ops.SetExited(100);
  clock.Advance(5 * sys::kMilli);
  EXPECT_FALSE(Step());
  EXPECT_TRUE(job.exited);
  EXPECT_FALSE(job.released);
}

// The victim exits at once (before any process_mrelease could say EINVAL) while a process
// outside the group keeps its mm: asked through the mm taken before the signal, that is no
// release; once the mm has no users left, it is.
TEST_F(JobFixture, ExitWhileAUserOutsideKeepsTheMmIsNoReleaseUntilTheMmGoes) {
  w.snapshot.scope.kind = policy::ScopeKind::kCgroup;
  w.snapshot.scope.cgroup = "/sandbox";
  w.Add(100, 5000, 1000, 1);
  w.ops.procs[100].mm_held_outside = true;
  VictimBuilder b(w.view, w.ops, cfg);
  ASSERT_TRUE(b.Build(w.snapshot, 0, clock.Now(), job.victim));
  auto mm = w.ops.OpenMm(100);
  ASSERT_TRUE(mm);
  job.mm_fd = std::move(*mm);
  killer = std::make_unique<Killer>(w.view, w.ops, clock, cfg, false);
  ctx = std::make_unique<ReapContext>(ReapContext{w.view, w.ops, *killer, cfg, clock, 4096});
  killer->Signal(job.victim, job.result);
  job.Start(clock.Now(), cfg);
  EXPECT_FALSE(Step());
  EXPECT_TRUE(job.exited);
  EXPECT_FALSE(job.released);
  {
    std::lock_guard lock(w.ops.mu);
    w.ops.procs[100].mm_held_outside = false;
  }
  clock.Advance(5 * sys::kMilli);
  EXPECT_TRUE(Step());
  EXPECT_TRUE(job.released);
  EXPECT_EQ(job.result.outcome, Outcome::kExited);
}

}  // namespace
}  // namespace reaperd::kill
