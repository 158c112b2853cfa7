// A counting allocator (global operator new/delete replaced in this test binary only)
// proves the kill path's promise in ARCHITECTURE.md: after a warm-up cycle, sampling,
// detecting, building a victim, submitting it to the reaper (whose threads signal, reap
// and post the result) and popping the result make zero heap allocations, on any thread.
// The scan is allowed to allocate (std::string fields of policy::Process); the last test
// measures how much, on the captured host-v1 tree, and only bounds it loosely.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>

#include "daemon/sampler.h"
#include "kill/reaper.h"
#include "kill/victim.h"
#include "pressure/detector.h"
#include "scan/scanner.h"
#include "sys/clock.h"

// GCC pairs the replaced operator new with free() below and warns; the pair is malloc/free
// on both sides, which is what the replacement intends.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocs{0};
std::atomic<long> g_bytes{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(static_cast<long>(n), std::memory_order_relaxed);
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace reaperd {
namespace {

struct Counted {
  long allocs;
  long bytes;
};

template <class F>
Counted Count(F&& f) {
  g_allocs = 0;
  g_bytes = 0;
  g_counting = true;
  f();
  g_counting = false;
  return {g_allocs.load(), g_bytes.load()};
}

// Fake processes without a map or a growing vector, so the fake itself never allocates:
// a process "dies" on SIGKILL and process_mrelease then succeeds.
class StaticOps final : public kill::ProcessOps {
 public:
  std::atomic<int> signals{0};
  std::array<std::atomic<bool>, 8> killed{};

  Result<sys::UniqueFd> Open(pid_t pid) noexcept override {
    if (pid < 100 || pid >= 108) return Fail(Error::Sys(ESRCH, "static open"));
    // fd -> pid: an O_PATH fd of /dev/null per open, its number mapped through a table.
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fd < static_cast<int>(owner_.size())) owner_[fd] = pid;
    return sys::UniqueFd(fd);
  }
  Result<void> Send(int pidfd, int sig) noexcept override {
    ++signals;
    if (sig == SIGKILL) killed[Index(pidfd)] = true;
    return {};
  }
  Result<void> Mrelease(int pidfd) noexcept override {
    if (!killed[Index(pidfd)]) return Fail(Error::Sys(EINVAL, "static mrelease"));
    return {};
  }
  Result<bool> WaitExit(int pidfd, int) noexcept override { return killed[Index(pidfd)].load(); }
  Result<bool> SameMm(pid_t, pid_t) noexcept override { return false; }
  void Boost(pid_t) noexcept override {}
  bool Unfreeze(pid_t) noexcept override { return false; }
  void Revive() {
    for (auto& k : killed) k = false;
  }

 private:
  std::size_t Index(int fd) const noexcept {
    if (fd < 0 || fd >= static_cast<int>(owner_.size())) return 0;
    return static_cast<std::size_t>(owner_[fd] - 100) % killed.size();
  }
  std::array<std::atomic<pid_t>, 4096> owner_{};
};

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
  sys::MonotonicClock clock;
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
    if (!reaper.WaitPop(r, 5000)) std::abort();
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

TEST(ZeroAlloc, ScanAllocationsAreMeasured) {
  // Not zero, by design: each Process carries std::string cmdline/exe/cgroup and the
  // snapshot a vector. Printed so the figure can be tracked; bounded only loosely (per
  // process), since the counts depend on the library's small-string size.
  const std::string fx = REAPERD_FIXTURES;
  auto view = sys::RealSystemView::Open(fx + "/proc/host-v1", fx + "/cgroup/host-v1");
  ASSERT_TRUE(view);
  sys::MonotonicClock clock;
  scan::Scanner scanner(*view, clock);
  scan::ScanOptions so;
  policy::Scope system;
  ASSERT_TRUE(scanner.Scan(system, so));
  std::size_t procs = 0;
  Counted c = Count([&] {
    auto s = scanner.Scan(system, so);
    if (s) procs = s->processes.size();
  });
  ASSERT_GT(procs, 0u);
  std::printf(
      "scan of %zu processes: %ld allocations, %ld bytes (%.1f allocations, %.0f bytes "
      "per process)\n",
      procs, c.allocs, c.bytes, static_cast<double>(c.allocs) / static_cast<double>(procs),
      static_cast<double>(c.bytes) / static_cast<double>(procs));
  EXPECT_GT(c.allocs, 0);
  EXPECT_LT(c.allocs, static_cast<long>(16 * procs + 16));
}

}  // namespace
}  // namespace reaperd
