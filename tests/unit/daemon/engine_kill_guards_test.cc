// The two guards of the engine's kill stage (engine_kill.cc), through a fixture /proc and
// fake process ops: the kernel's OOM killer acting during the scan (its oom_kill count
// rising between the look before and the look after) cancels that decision; a process of the
// scope already exiting (PF_EXITING) holds the kill, for at most kExitHoldNs of the engine's
// clock, and then the kill goes ahead.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/engine.h"
#include "proc/pid_stat.h"
#include "sys/clock.h"
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

// Forwards to a RealSystemView; runs during_scan when PIDs are listed (the scan's first step).
// The hooks run on the test's thread only, the one that ticks the engine: the engine's stall
// watchdog lists PIDs and reads files through the same view from its own thread (a kill wakes
// it), and must neither run a hook after the test has freed what it touches nor race the
// test's assignments to the hooks (CI's stop 31 failed on the first).
class ScanHookView final : public sys::SystemView {
 public:
  explicit ScanHookView(sys::SystemView& base) : base_(base) {}
  std::function<void()> during_scan;
  std::function<void(std::string_view)> on_read;  // each file read by path, before it is read

  Result<sys::ReadResult> Read(sys::Root r, std::string_view p,
                               std::span<char> b) noexcept override {
    if (OnTestThread() && on_read) on_read(p);
    return base_.Read(r, p, b);
  }
  Result<sys::UniqueFd> OpenDir(sys::Root r, std::string_view p) noexcept override {
    return base_.OpenDir(r, p);
  }
  Result<sys::ReadResult> ReadAt(int d, std::string_view n, std::span<char> b) noexcept override {
    return base_.ReadAt(d, n, b);
  }
  Result<std::size_t> ReadLinkAt(int d, std::string_view n, std::span<char> b) noexcept override {
    return base_.ReadLinkAt(d, n, b);
  }
  Result<void> Write(sys::Root r, std::string_view p, std::string_view d) noexcept override {
    return base_.Write(r, p, d);
  }
  Result<void> ListPids(std::vector<pid_t>& out) override {
    if (OnTestThread() && during_scan) during_scan();
    return base_.ListPids(out);
  }
  Result<void> ListCgroupPids(std::string_view path, std::vector<pid_t>& out) override {
    if (OnTestThread() && during_scan) during_scan();  // a cgroup scope's scan lists members
    return base_.ListCgroupPids(path, out);
  }
  Result<void> ListDirs(sys::Root r, std::string_view p, std::vector<std::string>& out) override {
    return base_.ListDirs(r, p, out);
  }
  sys::CgroupVersion cgroup_version() const noexcept override { return base_.cgroup_version(); }
  std::string_view cgroup_root_path() const noexcept override { return base_.cgroup_root_path(); }

 private:
  bool OnTestThread() const noexcept { return std::this_thread::get_id() == test_thread_; }

  sys::SystemView& base_;
  const std::thread::id test_thread_ = std::this_thread::get_id();
};

class EngineKillGuards : public testing::EngineTestBase {
 protected:
  void SetUp() override {}
  // The engine over the fixture /proc and cgroup_root, guarding scope; left one tick before
  // a fresh kill decision (plenty of memory, then the kill level set for the next tick).
  void StartEngine(const policy::Scope& scope = policy::Scope{},
                   const std::string& cgroup_root = std::string(REAPERD_FIXTURES) +
                                                    "/cgroup/host-v1") {
    auto v = sys::RealSystemView::Open(sys_.dir, cgroup_root);
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
    real_.emplace(std::move(*v));
    view_ = std::make_unique<ScanHookView>(*real_);
    MakeEngine(*view_, scope);
    ASSERT_TRUE(sys_.SetMeminfo(sys_.high));
    Tick();
    ASSERT_TRUE(sys_.SetMeminfo(sys_.low));
  }
  // A writable copy of the captured v1 hierarchy (removed by the test) whose leaf
  // /reaperd-capture holds the fixture's processes; returns its root.
  std::string CaptureCopy() {
    const std::string cg = sys_.dir + "-cg";
    std::filesystem::copy(std::string(REAPERD_FIXTURES) + "/cgroup/host-v1", cg,
                          std::filesystem::copy_options::recursive);
    std::string procs;
    for (pid_t pid = kFirstPid; pid < kFirstPid + kProcesses; ++pid) {
      sys_.SetCgroup(pid, "/reaperd-capture");
      procs += std::to_string(pid) + "\n";
    }
    alloc_test::WriteFile(cg + "/reaperd-capture/cgroup.procs", procs);  // the scope's scan
    return cg;
  }
  // The engine guarding the capture copy's /reaperd-capture (128 MiB limit; 7 MiB used, or
  // usage_mib when given), the host with plenty and a PID cursor; capture_ is the copy's root.
  void StartOnCapture(long usage_mib = 0) {
    capture_ = CaptureCopy();
    sys_.Add("loadavg", "0.10 0.20 0.30 1/80 5000\n");
    policy::Scope scope;
    ASSERT_TRUE(policy::ParseScope("cgroup:/reaperd-capture", &scope));
    if (usage_mib > 0) SetCaptureUsageMib(usage_mib);
    StartEngine(scope, capture_);
    ASSERT_TRUE(sys_.SetMeminfo(sys_.high));
  }
  void SetCaptureUsageMib(long mib) {
    alloc_test::WriteFile(capture_ + "/reaperd-capture/memory.usage_in_bytes",
                          std::to_string(mib * 1024 * 1024) + "\n");
  }
  void TearDown() override { EngineTestBase::TearDown(); }
  // The last kill line (the one with rss_mib=), or "".
  std::string KillLine() const {
    std::string line;
    for (const auto& l : sink_.Lines()) {
      if (l.find(" rss_mib=") != std::string::npos) line = l;
    }
    return line;
  }
  // The value of " key=" in line, "?" if absent.
  static std::string Field(const std::string& line, const std::string& key) {
    const auto at = line.find(" " + key + "=");
    if (at == std::string::npos) return "?";
    return line.substr(at + key.size() + 2, line.find(' ', at + 1) - at - key.size() - 2);
  }
  int Kills() {
    std::lock_guard lock(ops_.mu);
    int n = 0;
    for (const auto& s : ops_.sent) n += s.sig == SIGKILL ? 1 : 0;
    return n;
  }

  std::optional<sys::RealSystemView> real_;
  std::string capture_;  // StartOnCapture's copy of the v1 hierarchy
  std::unique_ptr<ScanHookView> view_;
};

TEST_F(EngineKillGuards, TheKernelKillingDuringTheScanCancelsTheKill) {
  StartEngine();
  view_->during_scan = [&] { sys_.SetOomKills(1); };  // the kernel's OOM killer acts meanwhile
  Tick();
  EXPECT_EQ(Kills(), 0);
  EXPECT_EQ(Count("outcome=cancelled reason=kernel_oom_kill count=1"), 1u);
  EXPECT_EQ(engine_->status()[0].kill_decisions, 1u);
  EXPECT_EQ(engine_->status()[0].kills, 0u);
  // Only that decision: the next tick, with no new kernel kill, judges afresh and kills.
  view_->during_scan = nullptr;
  Tick();
  EXPECT_EQ(Kills(), 1);
  EXPECT_EQ(engine_->status()[0].kills, 1u);
  EXPECT_EQ(Count("outcome=cancelled"), 1u);
}

// The kill line's decision_cpu_ms is the loop thread's own CPU time from the decision to the
// signal (the engine's clock is a fake one here, and does not move): a scan that burns 30 ms of
// CPU shows in it, so the lab can tell the decision's work from the thread waiting to run.
TEST_F(EngineKillGuards, TheKillLineSaysTheDecisionsOwnCpuTime) {
  StartEngine();
  view_->during_scan = [] {
    const sys::Nanos until = sys::ThreadCpuNow() + 30 * sys::kMilli;
    while (sys::ThreadCpuNow() < until) {
    }
  };
  Tick();
  ASSERT_EQ(Kills(), 1);
  const std::string line = KillLine();
  ASSERT_NE(Field(line, "decision_cpu_ms"), "?") << line;
  const double cpu_ms = std::stod(Field(line, "decision_cpu_ms"));
  EXPECT_GE(cpu_ms, 30.0) << line;
  EXPECT_LT(cpu_ms, 5000.0) << line;
}

// The kill line says when the kill was decided, on the engine's clock (CLOCK_MONOTONIC in the
// daemon), so that a trace of the loop thread (the lab's lab.trace=1, on the same clock) can
// tell which waits fell inside the kill. The clock does not move during this tick. Red
// before: no decided_mono_ms key.
TEST_F(EngineKillGuards, TheKillLineSaysWhenTheKillWasDecided) {
  StartEngine();
  Tick();
  ASSERT_EQ(Kills(), 1);
  const std::string line = KillLine();
  ASSERT_NE(Field(line, "decided_mono_ms"), "?") << line;
  EXPECT_EQ(Field(line, "decided_mono_ms"),
            fmt::format("{:.3f}", static_cast<double>(clock_.Now()) / 1e6))
      << line;
}

// A long build (session 14's and 15's 300 ms group kills in the lab) says which member's
// checks it waited on, and whether they were reads of held files or by path. Here the
// victim's stat, read by path (this view holds nothing), takes 25 ms. Red on the old code:
// the kill line had no slowest_check_* keys.
TEST_F(EngineKillGuards, TheKillLineNamesTheSlowestMemberCheck) {
  StartEngine();
  view_->on_read = [](std::string_view path) {
    if (path.ends_with("/stat")) ::usleep(25 * 1000);  // the builder's checks only
  };
  Tick();
  ASSERT_EQ(Kills(), 1);
  const std::string line = KillLine();
  auto field = [&](const std::string& key) { return Field(line, key); };
  ASSERT_NE(field("slowest_check_ms"), "?") << line;
  EXPECT_GE(std::stod(field("slowest_check_ms")), 25.0) << line;
  EXPECT_EQ(field("slowest_check_pid"), field("pid")) << line;
  EXPECT_EQ(field("slowest_check_held"), "0") << line;
  // And all members' checks together (one member here): session 19's stalls moved between
  // the build's calls. Red before: no checks_ms key.
  ASSERT_NE(field("checks_ms"), "?") << line;
  EXPECT_GE(std::stod(field("checks_ms")), std::stod(field("slowest_check_ms"))) << line;
  // The 25 ms were the stat read, not pidfd_open (the fake ops open at once).
  ASSERT_NE(field("slowest_check_open_ms"), "?") << line;
  EXPECT_LT(std::stod(field("slowest_check_open_ms")), 25.0) << line;
}

TEST_F(EngineKillGuards, AnExitingProcessHoldsTheKillForAtMostTheExitHold) {
  StartEngine();
  sys_.SetStat(kFirstPid + 1, kFlags | proc::kPfExiting);
  Tick();  // the kill decision meets an exiting process: held, from now
  EXPECT_EQ(Kills(), 0);
  EXPECT_EQ(Count("outcome=held reason=exiting pid=101"), 1u);
  Tick(kExitHoldNs / 2);  // still exiting, within the hold
  EXPECT_EQ(Kills(), 0);
  EXPECT_EQ(Count("outcome=held reason=exiting pid=101"), 2u);
  Tick(kExitHoldNs / 2);  // the hold has run out: the exit is stuck, choose anyway
  EXPECT_EQ(Kills(), 1);
  EXPECT_EQ(Count("outcome=held"), 2u);
  EXPECT_EQ(engine_->status()[0].kills, 1u);
}

TEST_F(EngineKillGuards, AnExitThatEndsLiftsTheHoldAndANewOneStartsItsOwn) {
  StartEngine();
  sys_.SetStat(kFirstPid + 1, kFlags | proc::kPfExiting);
  Tick();
  EXPECT_EQ(Kills(), 0);
  // The exit finished (the flag is gone) before the hold ran out: no hold on the next decision.
  sys_.SetStat(kFirstPid + 1, kFlags);
  Tick(kExitHoldNs / 4);
  EXPECT_EQ(Kills(), 1);
  EXPECT_EQ(engine_->status()[0].exit_hold_since_ns, 0);
}

TEST_F(EngineKillGuards, InAV1CgroupScopeTheCgroupsOwnOomKillCountCancelsTheKill) {
  // The processes live in the leaf, which then comes within 1 MiB of its 128 MiB limit (the
  // kill level) while the system has plenty.
  const std::string cg = CaptureCopy();
  const std::string leaf = cg + "/reaperd-capture";
  policy::Scope scope;
  ASSERT_TRUE(policy::ParseScope("cgroup:/reaperd-capture", &scope));
  StartEngine(scope, cg);                   // the leaf as captured: 7 MiB used
  ASSERT_TRUE(sys_.SetMeminfo(sys_.high));  // only the cgroup is short
  alloc_test::WriteFile(leaf + "/memory.usage_in_bytes", std::to_string(127 * 1024 * 1024) + "\n");
  const std::string oom = leaf + "/memory.oom_control";
  view_->during_scan = [&] {
    alloc_test::WriteFile(oom, "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");  // was 1
  };
  Tick();
  EXPECT_EQ(engine_->status()[0].kill_decisions, 1u);
  EXPECT_EQ(Kills(), 0);
  EXPECT_EQ(Count("scope=\"cgroup:/reaperd-capture\" outcome=cancelled reason=kernel_oom_kill"),
            1u);
  view_->during_scan = nullptr;
  Tick();
  EXPECT_EQ(Kills(), 1);
  engine_->Stop();
  std::filesystem::remove_all(cg);
}

// Issue 13: a cgroup scope that passed through warn has its top candidates' mm sharers
// watched, so its kill does not walk all of /proc (one kcmp per process on the host) before
// the signal: the kill tick lists no PIDs. The warn tick's own walk is off the kill path.
TEST_F(EngineKillGuards, ACgroupScopeWatchedAtWarnKillsWithoutWalkingProc) {
  // 116 of 128 MiB from the start: below warn's 10% left, above reclaim's 7%; only the
  // cgroup is short.
  ASSERT_NO_FATAL_FAILURE(StartOnCapture(116));
  int listings = 0;
  view_->during_scan = [&] { ++listings; };
  Tick(2 * sys::kSecond);
  ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kWarn);
  EXPECT_GE(listings, 1) << "the warn tick did not watch the candidates";
  SetCaptureUsageMib(127);
  listings = 0;
  view_->during_scan = [&] { listings += Kills() == 0 ? 1 : 0; };  // before the signal only
  Tick();
  EXPECT_EQ(Kills(), 1);
  // The kill's own scan lists the cgroup's members (ListCgroupPids): one listing; no
  // ListPids of the whole of /proc before the signal.
  EXPECT_EQ(listings, 1) << "the kill walked /proc for mm sharers";
  // The kill line says where the decision's time went, and that no walk was needed.
  EXPECT_EQ(Count("sharers=watched"), 1u);
  EXPECT_EQ(Count("scan_ms="), 1u);
  EXPECT_EQ(Count("rank_ms="), 1u);
  EXPECT_EQ(Count("build_ms="), 1u);
  engine_->Stop();
  std::filesystem::remove_all(capture_);
}

// Issue 13: a cgroup scope's kill takes the scope's totalpages from the sharer watch's scan at
// warn, young: between the decision and the signal it reads neither /proc/meminfo nor the
// limits on the cgroup's path. The kill tick reads the limits only for its sample, as a tick
// at ok does. Red on the old code: the kill's scan read meminfo once and every limit again.
TEST_F(EngineKillGuards, ACgroupScopeWatchedAtWarnKillsWithoutReadingItsTotalAgain) {
  ASSERT_NO_FATAL_FAILURE(StartOnCapture());  // 7 MiB of 128 used
  std::size_t meminfo = 0, limits = 0;
  view_->on_read = [&](std::string_view path) {
    if (path == "meminfo") ++meminfo;
    if (path.ends_with("memory.limit_in_bytes")) ++limits;
  };
  Tick();  // at ok: the sample alone
  ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kOk);
  const std::size_t sample_limits = limits;
  ASSERT_GT(sample_limits, 0u);
  ASSERT_EQ(meminfo, 0u) << "a cgroup below MemTotal reads meminfo every 10 s only";
  SetCaptureUsageMib(116);  // warn, slowly
  Tick(60 * sys::kSecond);
  ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kWarn);
  SetCaptureUsageMib(127);  // the kill level
  meminfo = limits = 0;
  Tick();
  ASSERT_EQ(Kills(), 1);
  EXPECT_EQ(meminfo, 0u) << "the kill read /proc/meminfo";
  EXPECT_EQ(limits, sample_limits) << "the kill read the limits again";
  engine_->Stop();
  std::filesystem::remove_all(capture_);
}

// A cgroup scope whose memory falls at ok fast enough to reach the kill floor within the kill
// level's time to exhaustion is watched as at warn: its kill, straight from ok (the lab's
// two_cgroups: every first kill, tte 220-250 ms at ok one sample before), walks no /proc for
// mm sharers and reads no total before the signal. Red before: sharers=walked, and the kill
// read meminfo (and the limits: 4.5-8 ms of scan and up to 8.7 of build under TCG).
TEST_F(EngineKillGuards, ACgroupScopeFallingFastAtOkIsWatchedBeforeItsKill) {
  ASSERT_NO_FATAL_FAILURE(StartOnCapture());  // 7 MiB of 128 used
  for (int mib = 90; mib <= 110; mib += 5) {  // 50 MiB/s: still above warn's 10% left
    SetCaptureUsageMib(mib);
    Tick(100 * sys::kMilli);
    ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kOk) << mib;
  }
  ASSERT_GE(engine_->status()[0].decision.time_to_exhaustion_ms, 0);
  ASSERT_LE(engine_->status()[0].decision.time_to_exhaustion_ms, 1500);  // the kill level's
  std::size_t meminfo = 0, limits = 0;
  view_->on_read = [&](std::string_view path) {
    if (Kills() > 0) return;  // before the signal only
    if (path == "meminfo") ++meminfo;
    if (path.ends_with("memory.limit_in_bytes")) ++limits;
  };
  SetCaptureUsageMib(127);  // the kill level
  Tick(100 * sys::kMilli);
  ASSERT_EQ(Kills(), 1);
  EXPECT_EQ(Field(KillLine(), "sharers"), "watched") << KillLine();
  EXPECT_EQ(meminfo, 0u) << "the kill read /proc/meminfo";
  engine_->Stop();
  std::filesystem::remove_all(capture_);
}

TEST_F(EngineKillGuards, ACgroupScopeKilledWithoutAWarnTickSaysItWalkedProc) {
  ASSERT_NO_FATAL_FAILURE(StartOnCapture());
  // From plenty straight to the kill level: no warn tick watched the candidates.
  SetCaptureUsageMib(127);
  Tick();
  ASSERT_EQ(Kills(), 1);
  EXPECT_EQ(Count("sharers=walked"), 1u);
  engine_->Stop();
  std::filesystem::remove_all(capture_);
}

// The kill line times the part of the decision's window after the build: Reaper::Submit,
// which takes the victim's mm (/proc/PID/mem opened) and sends the signal. Session 21's lab
// saw kills of 15-22 ms whose scan, rank and build took 5-6 ms of it. Here the mm's open
// takes 25 ms. Red before: no submit_ms.
TEST_F(EngineKillGuards, TheKillLineTimesTheMmHoldAndTheSignal) {
  StartEngine();
  ops_.open_mm_delay_ms = 25;
  Tick();
  ASSERT_EQ(Kills(), 1);
  const std::string v = Field(KillLine(), "submit_ms");
  ASSERT_NE(v, "?") << KillLine();
  EXPECT_GE(std::stod(v), 25.0) << KillLine();
  EXPECT_LT(std::stod(v), 5000.0) << KillLine();
}

// The kill line says how long the two reads of the kernel's OOM kill count around the scan
// took (/proc/vmstat for the system scope: in session 19's lab one took 14-130 ms in a third
// of the growers' first kills, the kernel allocating under pressure), and how long the
// memory.oom.group walk took. Here each vmstat read takes 15 ms and each memory.oom.group
// read 20 ms. Red before: neither key.
TEST_F(EngineKillGuards, TheKillLineTimesTheOomCountReadsAndTheOomGroupWalk) {
  const std::string cg = sys_.dir + "-cg2";
  std::filesystem::copy(std::string(REAPERD_FIXTURES) + "/cgroup/v2-guest", cg,
                        std::filesystem::copy_options::recursive);
  for (pid_t pid = kFirstPid; pid < kFirstPid + kProcesses; ++pid) {
    alloc_test::WriteFile(sys_.dir + "/" + std::to_string(pid) + "/cgroup", "0::/lab.slice\n");
  }
  StartEngine(policy::Scope{}, cg);
  view_->on_read = [](std::string_view path) {
    if (path == "vmstat") ::usleep(15 * 1000);
    if (path.ends_with("memory.oom.group")) ::usleep(20 * 1000);
  };
  Tick();
  ASSERT_EQ(Kills(), 1);
  const std::string line = KillLine();
  auto field = [&](const std::string& key) {
    const std::string v = Field(line, key);
    return v == "?" ? -1.0 : std::stod(v);
  };
  EXPECT_GE(field("oom_count_ms"), 30.0) << line;  // both reads
  EXPECT_GE(field("oom_group_ms"), 20.0) << line;  // lab.slice's
  EXPECT_LT(field("oom_group_ms"), 5000.0) << line;
  std::filesystem::remove_all(cg);
}

// The kill reads the scope's kernel OOM kill count before and after its scan; the start-up
// reads it once, for every scope (and a scope added later when it is added), so that its file
// is held open and the read's code touched (so locked) before the first kill, which opened
// /proc/vmstat before its signal. Red before: vmstat first read at the first kill.
TEST_F(EngineKillGuards, StartReadsEachScopesKernelOomCountOnce) {
  auto v = sys::RealSystemView::Open(sys_.dir, std::string(REAPERD_FIXTURES) + "/cgroup/host-v1");
  ASSERT_TRUE(v.has_value()) << v.error().ToString();
  real_.emplace(std::move(*v));
  view_ = std::make_unique<ScanHookView>(*real_);
  int vmstat = 0;
  view_->on_read = [&](std::string_view path) { vmstat += path == "vmstat" ? 1 : 0; };
  ASSERT_TRUE(sys_.SetMeminfo(sys_.high));
  MakeEngine(*view_);
  EXPECT_GE(vmstat, 1) << "start-up";
  const int at_start = vmstat;
  Tick();  // at ok: no kill, no count read
  EXPECT_EQ(vmstat, at_start);
}

// The kill line counts the loop thread's major page faults from the decision to the signal:
// the kill path's code or constants read from disk at the worst moment (session 19 found one
// it had added itself: a function-local static's guard, __cxa_guard_acquire, outside the
// locked code). Here the scan touches a file mapping whose pages were paged out just before.
// Red before: no decision_majflt key.
TEST_F(EngineKillGuards, TheKillLineCountsTheMajorFaultsBeforeTheSignal) {
  // On the build tree's disk (not a tmpfs: its pages could not be paged out without swap).
  const std::string path = std::filesystem::current_path().string() + "/majflt-probe-" +
                           std::to_string(::getpid()) + ".bin";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::unlink(path.c_str());
  constexpr std::size_t kBytes = 16 * 4096;
  std::vector<char> bytes(kBytes, 1);
  ASSERT_EQ(::write(fd, bytes.data(), kBytes), static_cast<ssize_t>(kBytes));
  ASSERT_EQ(::fsync(fd), 0);
  auto* map = static_cast<const char*>(::mmap(nullptr, kBytes, PROT_READ, MAP_SHARED, fd, 0));
  ASSERT_NE(map, MAP_FAILED);
  StartEngine();
  volatile char sink = 0;
  view_->during_scan = [&] {
    for (std::size_t at = 0; at < kBytes; at += 4096) sink = static_cast<char>(sink + map[at]);
  };
  for (std::size_t at = 0; at < kBytes; at += 4096) sink = static_cast<char>(sink + map[at]);
  ASSERT_EQ(::madvise(const_cast<char*>(map), kBytes, MADV_PAGEOUT), 0);
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  Tick();
  ASSERT_EQ(Kills(), 1);
  const std::string line = KillLine();
  ASSERT_NE(Field(line, "decision_majflt"), "?") << line;
  EXPECT_GE(std::stol(Field(line, "decision_majflt")), 1) << line;
  view_->during_scan = nullptr;
  ::munmap(const_cast<char*>(map), kBytes);
  ::close(fd);
}

}  // namespace
}  // namespace reaperd::daemon
