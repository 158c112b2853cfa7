// A counting allocator (counting.h: global operator new/delete replaced in this test binary
// only) proves the kill path's promise in docs/architecture.md piece by piece: after a
// warm-up cycle, sampling, detecting, building a victim, submitting it to the reaper (whose
// threads signal, reap and post the result) and popping the result make zero heap
// allocations, on any thread; a warm re-scan into the same snapshot makes none either.
// engine_cycle_test.cc drives the whole Engine through the same cycle.
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/sampler.h"
#include "kill/reaper.h"
#include "kill/victim.h"
#include "pressure/detector.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "unit/alloc/counting.h"
#include "unit/alloc/engine_fixture.h"
#include "unit/alloc/static_ops.h"

namespace reaperd {
namespace {

using alloc_test::Count;
using alloc_test::Counted;
using alloc_test::StaticOps;

// A /proc tree of fake processes 100..103 (stat and statm) in a temporary directory, read
// through a RealSystemView, which reads into caller buffers.
struct FakeProcTree {
  std::string dir;
  FakeProcTree() {
    char templ[] = "/tmp/reaperd-alloc-XXXXXX";
    EXPECT_NE(::mkdtemp(templ), nullptr);
    dir = templ;
    for (int pid = 100; pid < 104; ++pid) {
      const std::string d = dir + "/" + std::to_string(pid);
      ::mkdir(d.c_str(), 0755);
      std::ofstream(d + "/stat") << pid << " (hog) S 1 " << pid << " " << pid
                                 << " 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 " << 5000 + pid
                                 << " 1000000 100\n";
      std::ofstream(d + "/statm") << "1000 " << 250 * (pid - 99) << " 10 1 0 500 0\n";
    }
  }
  ~FakeProcTree() {
    for (int pid = 100; pid < 104; ++pid) {
      const std::string d = dir + "/" + std::to_string(pid);
      ::unlink((d + "/stat").c_str());
      ::unlink((d + "/statm").c_str());
      ::rmdir(d.c_str());
    }
    ::rmdir(dir.c_str());
  }
};

policy::Snapshot FakeSnapshot() {
  policy::Snapshot s;
  for (int pid = 100; pid < 104; ++pid) {
    policy::Process p;
    p.pid = pid;
    p.starttime = static_cast<std::uint64_t>(5000 + pid);
    p.comm.Assign("hog");
    p.has_mm = true;
    p.pgrp = pid;
    p.rss_anon = static_cast<std::uint64_t>(250 * (pid - 99)) * 4096;
    s.processes.push_back(p);
  }
  s.total_pages = 1 << 20;
  return s;
}

TEST(ZeroAlloc, WarmKillPathCycleAllocatesNothing) {
  FakeProcTree tree;
  auto view = sys::RealSystemView::Open(tree.dir, tree.dir);
  ASSERT_TRUE(view) << view.error().ToString();
  StaticOps ops;
  config::KillConfig cfg;
  // A clock that stands still: on the real one, a reaper thread held off the CPU past the
  // victim's deadline (a loaded machine) took the missed-deadline path, whose first use
  // allocates, and the test failed now and then.
  alloc_test::SteppedClock clock;
  kill::SkipList skip;
  struct NoSysrq final : kill::SysrqWriter {
    Result<void> Trigger(char) noexcept override { return {}; }
  } sysrq;
  kill::LastResortLadder ladder(cfg, sysrq);
  kill::ReaperOptions opt;
  kill::Reaper reaper(cfg, opt, *view, ops, clock, skip, ladder);
  ASSERT_TRUE(reaper.Start());
  const policy::Snapshot snap = FakeSnapshot();
  kill::VictimBuilder builder(*view, ops, cfg);

  auto cycle = [&](std::size_t index) {
    kill::Victim v;
    auto b = builder.Build(snap, index, clock.Now(), v);
    if (!b || v.main_stale) std::abort();
    auto seq = reaper.Submit(std::move(v));
    if (!seq) std::abort();
    kill::KillResult r;
    // Waited for in real time (the reaper's clock stands still).
    pollfd p{reaper.event_fd(), POLLIN, 0};
    for (int i = 0; i < 100 && !reaper.Pop(r); ++i) ::poll(&p, 1, 50);
    if (r.seq != *seq) std::abort();
    if (r.outcome != kill::Outcome::kReaped) std::abort();
  };
  cycle(0);  // warm-up: first use of every path
  ops.Revive();
  Counted c = Count([&] {
    for (std::size_t i = 0; i < 4; ++i) cycle(i);
  });
  EXPECT_EQ(c.allocs, 0) << c.bytes << " bytes";
  EXPECT_GE(ops.signals.load(), 5);  // every cycle really signalled
  reaper.Stop();
}

TEST(ZeroAlloc, TheReaperIsWarmWhenStartReturns) {
  // Each reaper thread builds its killer (a 64 KiB cgroup.procs buffer and more) when it
  // first runs: on a loaded machine that was after Start returned, so a thread's first
  // allocations could land in the first kill (and in a counted cycle of the test above).
  // Start now waits for every thread to be ready.
  FakeProcTree tree;
  auto view = sys::RealSystemView::Open(tree.dir, tree.dir);
  ASSERT_TRUE(view) << view.error().ToString();
  StaticOps ops;
  config::KillConfig cfg;
  alloc_test::SteppedClock clock;
  kill::SkipList skip;
  struct NoSysrq final : kill::SysrqWriter {
    Result<void> Trigger(char) noexcept override { return {}; }
  } sysrq;
  kill::LastResortLadder ladder(cfg, sysrq);
  kill::ReaperOptions opt;
  opt.threads = 4;
  kill::Reaper reaper(cfg, opt, *view, ops, clock, skip, ladder);
  alloc_test::StartCounting();
  ASSERT_TRUE(reaper.Start());
  const long at_start = alloc_test::AllocsSoFar();
  ::usleep(200 * 1000);  // time for any thread still setting up to allocate
  const Counted c = alloc_test::StopCounting();
  reaper.Stop();
  EXPECT_GT(at_start, 0);  // the threads' setup, inside Start
  EXPECT_EQ(c.allocs - at_start, 0) << "reaper threads allocated after Start returned";
}

TEST(ZeroAlloc, SamplerAndDetectorAllocateNothingWhenWarm) {
  const std::string fx = REAPERD_FIXTURES;
  auto view = sys::RealSystemView::Open(fx + "/proc/host-v1", fx + "/cgroup/host-v1");
  ASSERT_TRUE(view);
  sys::MonotonicClock clock;
  policy::Scope system;
  policy::Scope cg;
  ASSERT_TRUE(policy::ParseScope("cgroup:/reaperd-capture", &cg));  // the captured v1 leaf
  daemon::Sampler sys_sampler(*view, clock, system);
  daemon::Sampler cg_sampler(*view, clock, cg);
  config::DetectorConfig dc;
  pressure::Detector detector(dc);
  ASSERT_TRUE(sys_sampler.Sample());
  ASSERT_TRUE(cg_sampler.Sample());
  int ok = 0;
  Counted c = Count([&] {
    for (int i = 0; i < 50; ++i) {
      auto s = sys_sampler.Sample();
      auto t = cg_sampler.Sample();
      ok += s.has_value() + t.has_value();
      if (s) {
        s->t_ns += i * 100'000'000LL;
        (void)detector.Update(*s);
      }
    }
  });
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(c.allocs, 0) << c.bytes << " bytes";
}

TEST(ZeroAlloc, WarmRescanIntoTheSameSnapshotAllocatesNothing) {
  // A fresh snapshot per scan (Scan(), for tools) allocates: each Process's std::string
  // cmdline/exe/cgroup and the vector. Printed so the figure can be tracked. A re-scan into
  // a warm snapshot (ScanInto(), the kill path's) overwrites the same slots and makes none.
  const std::string fx = REAPERD_FIXTURES;
  auto view = sys::RealSystemView::Open(fx + "/proc/host-v1", fx + "/cgroup/host-v1");
  ASSERT_TRUE(view);
  sys::MonotonicClock clock;
  scan::Scanner scanner(*view, clock);
  scan::ScanOptions so;  // everything, cmdline included: more than the kill path reads
  policy::Scope system;
  ASSERT_TRUE(scanner.Scan(system, so));
  std::size_t procs = 0;
  Counted fresh = Count([&] {
    auto s = scanner.Scan(system, so);
    if (s) procs = s->processes.size();
  });
  ASSERT_GT(procs, 0u);
  std::printf(
      "fresh scan of %zu processes: %ld allocations, %ld bytes (%.1f allocations, %.0f bytes "
      "per process)\n",
      procs, fresh.allocs, fresh.bytes,
      static_cast<double>(fresh.allocs) / static_cast<double>(procs),
      static_cast<double>(fresh.bytes) / static_cast<double>(procs));

  policy::Snapshot snap;
  ASSERT_TRUE(scanner.ScanInto(system, so, snap));  // warm-up
  const policy::Snapshot first = snap;
  bool ok = true;
  Counted warm = Count([&] {
    for (int i = 0; i < 3; ++i) ok = ok && scanner.ScanInto(system, so, snap).has_value();
  });
  std::printf("warm re-scan of %zu processes (3 times): %ld allocations, %ld bytes\n",
              snap.processes.size(), warm.allocs, warm.bytes);
  ASSERT_TRUE(ok);
  EXPECT_EQ(warm.allocs, 0) << warm.bytes << " bytes";
  // The same processes, read the same: reusing the slots changed nothing.
  ASSERT_EQ(snap.processes.size(), first.processes.size());
  for (std::size_t i = 0; i < snap.processes.size(); ++i) {
    EXPECT_EQ(snap.processes[i].pid, first.processes[i].pid);
    EXPECT_EQ(snap.processes[i].cmdline, first.processes[i].cmdline);
    EXPECT_EQ(snap.processes[i].exe, first.processes[i].exe);
    EXPECT_EQ(snap.processes[i].cgroup, first.processes[i].cgroup);
    EXPECT_EQ(snap.processes[i].rss(), first.processes[i].rss());
  }
  // The wrapper and the in-place scan agree.
  auto fresh_snap = scanner.Scan(system, so);
  ASSERT_TRUE(fresh_snap);
  ASSERT_EQ(fresh_snap->processes.size(), snap.processes.size());
  EXPECT_EQ(fresh_snap->total_pages, snap.total_pages);
}

TEST(ZeroAlloc, WarmCgroupScopeRescanAllocatesNothing) {
  // A cgroup scope lists its members from cgroup.procs of the cgroup and its descendants:
  // the listing goes into the scanner's reused PID vector through stack buffers, so a warm
  // re-scan makes none. The captured processes' cgroup, rebuilt in a temporary v1 tree.
  const std::string fx = REAPERD_FIXTURES;
  char templ[] = "/tmp/reaperd-alloc-cg-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr);
  const std::filesystem::path root = templ;
  const std::filesystem::path leaf =
      root / "process_api/f23a496f531af42c86ef3b5f16495f23/reaperd-capture";
  std::filesystem::create_directories(leaf);
  std::ofstream(root / "memory.usage_in_bytes") << "4096\n";
  std::ofstream(root / "process_api/memory.limit_in_bytes") << "268435456\n";
  std::ofstream(root / "process_api/cgroup.procs") << "";  // every cgroup has one
  std::ofstream(root / "process_api/f23a496f531af42c86ef3b5f16495f23/cgroup.procs") << "";
  std::ofstream(leaf / "cgroup.procs") << "19627\n19628\n19629\n19630\n19631\n19632\n";
  auto view = sys::RealSystemView::Open(fx + "/proc/host-v1", root.string());
  ASSERT_TRUE(view);
  sys::MonotonicClock clock;
  scan::Scanner scanner(*view, clock);
  policy::Scope cg;
  ASSERT_TRUE(policy::ParseScope("cgroup:/process_api", &cg));
  policy::Snapshot snap;
  ASSERT_TRUE(scanner.ScanInto(cg, {}, snap));  // warm-up
  EXPECT_EQ(snap.processes.size(), 5u);         // 19630 is listed but has exited
  EXPECT_EQ(snap.vanished, 1);
  bool ok = true;
  Counted warm = Count([&] {
    for (int i = 0; i < 3; ++i) ok = ok && scanner.ScanInto(cg, {}, snap).has_value();
  });
  std::filesystem::remove_all(root);
  ASSERT_TRUE(ok);
  EXPECT_EQ(warm.allocs, 0) << warm.bytes << " bytes";
}

TEST(ZeroAlloc, ReusedSlotOfALongerProcessKeepsNoStaleText) {
  // A slot that held a process with a long cgroup and exe, refilled with one whose are
  // shorter (or absent), carries nothing over.
  const std::string fx = REAPERD_FIXTURES;
  auto view = sys::RealSystemView::Open(fx + "/proc/host-v1", fx + "/cgroup/host-v1");
  ASSERT_TRUE(view);
  sys::MonotonicClock clock;
  scan::Scanner scanner(*view, clock);
  policy::Process p;
  p.cmdline = std::string(300, 'c');
  p.exe = std::string(300, 'e');
  p.cgroup = std::string(300, 'g');
  p.kernel_oom_score = 7;
  ASSERT_TRUE(scanner.ReadProcess(2, {}, p, nullptr));  // kthreadd: no mm, no cmdline or exe
  EXPECT_EQ(p.pid, 2);
  EXPECT_TRUE(p.cmdline.empty());
  EXPECT_TRUE(p.exe.empty());
  EXPECT_NE(p.cgroup, std::string(300, 'g'));
  EXPECT_EQ(p.kernel_oom_score, -1);
}

}  // namespace
}  // namespace reaperd
