// The whole kill path through the real Engine, counted (counting.h): a fixture /proc tree
// whose meminfo the test rewrites drives sample -> detector (level kill) -> scan -> rank ->
// victim build -> reaper submit; the reaper's threads signal and reap (fake process ops) and
// post the result; Engine::OnReaperEvent pops it and tells the detector. After two warm-up
// cycles, further cycles make no heap allocation on any thread, with no observer registered.
// The reports (the daemon's Reporting observer) are written outside the kill path, after the
// signal: what they allocate per kill is printed, not asserted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/engine.h"
#include "daemon/reporting.h"
#include "sys/clock.h"
#include "sys/system_view.h"
#include "unit/alloc/counting.h"
#include "unit/alloc/static_ops.h"

namespace reaperd {
namespace {

using alloc_test::Count;
using alloc_test::Counted;
using alloc_test::StaticOps;

constexpr int kFirstPid = 100;
constexpr int kProcesses = 4;

// A clock the test moves while the reaper's threads read it.
class SteppedClock final : public sys::Clock {
 public:
  sys::Nanos Now() const noexcept override { return now_.load(); }
  void Advance(sys::Nanos d) noexcept { now_ += d; }

 private:
  std::atomic<sys::Nanos> now_{1000 * sys::kSecond};
};

// Counts lines per event and keeps the last kill line, in fixed storage (no allocation).
class CountingSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view event, std::string_view line) noexcept override {
    if (event == "kill") {
      ++kills;
      last_kill_size = line.copy(last_kill.data(), last_kill.size());
    }
    if (event == "reaped") ++reaped;
    if (event == "level") ++levels;
  }
  std::string_view LastKill() const { return {last_kill.data(), last_kill_size}; }

  std::atomic<int> kills{0}, reaped{0}, levels{0};
  std::array<char, 4096> last_kill{};
  std::size_t last_kill_size = 0;
};

void WriteFile(const std::string& path, std::string_view text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// /proc with meminfo, vmstat, PSI and processes 100..103 (stat, statm, status, oom_score_adj,
// cgroup) in a temporary directory; the cgroup root is the captured v1 host's. Rewriting
// meminfo goes through open/write with prepared text, so it does not allocate either.
struct FakeSystem {
  std::string dir;
  std::string meminfo;
  std::vector<std::string> files;
  const std::string high = Meminfo(8 * 1024 * 1024);  // 50% available
  const std::string low = Meminfo(160 * 1024);        // about 1%: the kill level

  static std::string Meminfo(long available_kb) {
    return "MemTotal:       16777216 kB\nMemFree:        " + std::to_string(available_kb) +
           " kB\nMemAvailable:   " + std::to_string(available_kb) +
           " kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n";
  }
  void Add(const std::string& rel, std::string_view text) {
    files.push_back(dir + "/" + rel);
    WriteFile(files.back(), text);
  }

  FakeSystem() {
    char templ[] = "/tmp/reaperd-cycle-XXXXXX";
    EXPECT_NE(::mkdtemp(templ), nullptr);
    dir = templ;
    meminfo = dir + "/meminfo";
    Add("meminfo", high);
    Add("vmstat", "pgfault 1\noom_kill 0\n");
    ::mkdir((dir + "/pressure").c_str(), 0755);
    Add("pressure/memory",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    for (int pid = kFirstPid; pid < kFirstPid + kProcesses; ++pid) {
      const std::string p = std::to_string(pid);
      ::mkdir((dir + "/" + p).c_str(), 0755);
      const long pages = 250L * (pid - kFirstPid + 1);
      Add(p + "/stat", p + " (hog) S 1 " + p + " " + p + " 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 " +
                           std::to_string(5000 + pid) + " 1000000 " + std::to_string(pages) + "\n");
      Add(p + "/statm", "1000 " + std::to_string(pages) + " 10 1 0 500 0\n");
      Add(p + "/status", "Name:\thog\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t" + p +
                             "\nPid:\t" + p + "\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\n" +
                             "VmSize:\t4000 kB\nVmRSS:\t" + std::to_string(pages * 4) +
                             " kB\nRssAnon:\t" + std::to_string(pages * 4) +
                             " kB\nRssFile:\t0 kB\nRssShmem:\t0 kB\nVmPTE:\t8 kB\nVmSwap:\t0 kB\n" +
                             "Threads:\t1\n");
      Add(p + "/oom_score_adj", "0\n");
      Add(p + "/cgroup", "4:memory:/user.slice/user-1000.slice/session-2.scope\n0::/\n");
    }
  }
  ~FakeSystem() {
    for (auto it = files.rbegin(); it != files.rend(); ++it) ::unlink(it->c_str());
    for (int pid = kFirstPid; pid < kFirstPid + kProcesses; ++pid) {
      ::rmdir((dir + "/" + std::to_string(pid)).c_str());
    }
    ::rmdir((dir + "/pressure").c_str());
    ::rmdir(dir.c_str());
  }
  // Replaces meminfo in one write (no allocation).
  bool SetMeminfo(const std::string& text) const {
    int fd = ::open(meminfo.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
  }
};

class EngineCycle : public testing::Test {
 protected:
  void SetUp() override {
    // The defaults (no rules, no reclaim notifiers, no hooks), with the stall watchdog's
    // thread kept asleep (its periodic /proc walk is not the kill path) and no files written.
    cfg_.watchdog.check_interval_ms = 3600 * 1000;
    cfg_.watchdog.report_path.clear();
    cfg_.report.kill_report_path = sys_.dir + "/kills.jsonl";
    cfg_.report.metrics_textfile_path.clear();
    cfg_.report.status_socket.clear();
    auto v = sys::RealSystemView::Open(sys_.dir, std::string(REAPERD_FIXTURES) + "/cgroup/host-v1");
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
    view_.emplace(std::move(*v));
    engine_ = std::make_unique<daemon::Engine>(
        cfg_, std::vector<policy::Scope>{policy::Scope{}},
        daemon::EngineOptions{.dry_run = false, .self = ::getpid()}, *view_, clock_, log_, ops_,
        sysrq_);
    ASSERT_TRUE(engine_->Start());
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
  }

  // One whole cycle: back to ok, then a kill, its reaping and the result. False (never
  // aborting: the counting must end) when a step did not happen.
  bool Cycle() {
    const int kills_before = sink_.kills.load();
    if (!sys_.SetMeminfo(sys_.high)) return false;
    clock_.Advance(100 * sys::kMilli);
    (void)engine_->Tick();
    if (!sys_.SetMeminfo(sys_.low)) return false;
    clock_.Advance(100 * sys::kMilli);
    (void)engine_->Tick();  // level kill: scan, rank, build, submit
    if (sink_.kills.load() != kills_before + 1) return false;
    pollfd pfd{engine_->reaper_fd(), POLLIN, 0};
    const int reaped_before = sink_.reaped.load();
    for (int i = 0; i < 100 && sink_.reaped.load() == reaped_before; ++i) {
      if (::poll(&pfd, 1, 50) > 0) engine_->OnReaperEvent();
    }
    if (sink_.reaped.load() != reaped_before + 1) return false;
    ops_.Revive();  // the fake victim lives again for the next cycle
    return true;
  }

  FakeSystem sys_;
  config::Config cfg_;
  std::optional<sys::RealSystemView> view_;
  SteppedClock clock_;
  CountingSink sink_;
  Logger log_{sink_, LogLevel::kDebug};
  StaticOps ops_;
  struct NoSysrq final : kill::SysrqWriter {
    Result<void> Trigger(char) noexcept override { return {}; }
  } sysrq_;
  std::unique_ptr<daemon::Engine> engine_;
};

TEST_F(EngineCycle, WarmKillCyclesAllocateNothing) {
  // Warm-up: first use of every path. Engine::Start() already scanned and ranked once, so
  // the first kill allocates only for first uses elsewhere (printed, not asserted).
  bool first_ok = false;
  Counted first = Count([&] { first_ok = Cycle(); });
  ASSERT_TRUE(first_ok);
  std::printf("engine: first kill cycle after Start: %ld allocations, %ld bytes\n", first.allocs,
              first.bytes);
  ASSERT_TRUE(Cycle());
  constexpr int kCycles = 5;
  int done = 0;
  Counted c = Count([&] {
    for (int i = 0; i < kCycles; ++i) done += Cycle() ? 1 : 0;
  });
  std::printf("engine: %d warm kill cycles: %ld allocations, %ld bytes (%.1f per cycle)\n", done,
              c.allocs, c.bytes, static_cast<double>(c.allocs) / kCycles);
  ASSERT_EQ(done, kCycles);
  EXPECT_EQ(c.allocs, 0) << c.bytes << " bytes";
  // Every cycle really killed the biggest process and reaped it.
  EXPECT_EQ(sink_.kills.load(), kCycles + 2);
  EXPECT_EQ(sink_.reaped.load(), kCycles + 2);
  EXPECT_GE(ops_.signals.load(), kCycles + 2);
  EXPECT_NE(sink_.LastKill().find(" pid=103 "), std::string_view::npos) << sink_.LastKill();
  EXPECT_NE(sink_.LastKill().find("reasons=available_low"), std::string_view::npos);
  EXPECT_EQ(engine_->status()[0].kills, static_cast<std::uint64_t>(kCycles + 2));
}

TEST_F(EngineCycle, ReportingObserverAllocationsArePrinted) {
  // The reports run after the signal (the reaper has the victim already); they build JSON and
  // append to the kill report file, so they allocate. Printed to track, not asserted.
  daemon::Reporting reporting(cfg_, log_, false);
  engine_->AddObserver(&reporting);
  ASSERT_TRUE(Cycle());
  ASSERT_TRUE(Cycle());
  constexpr int kCycles = 3;
  int done = 0;
  Counted c = Count([&] {
    for (int i = 0; i < kCycles; ++i) done += Cycle() ? 1 : 0;
  });
  ASSERT_EQ(done, kCycles);
  std::printf("engine with Reporting: %.1f allocations, %.0f bytes per kill cycle\n",
              static_cast<double>(c.allocs) / kCycles, static_cast<double>(c.bytes) / kCycles);
  engine_->Stop();
  // The reports were written: one line per kill.
  std::ifstream in(cfg_.report.kill_report_path);
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  EXPECT_EQ(lines, kCycles + 2);
  ::unlink(cfg_.report.kill_report_path.c_str());
}

TEST_F(EngineCycle, PreKillHookKillIsCommittedFromItsOwnCopy) {
  // A kill held for its pre-kill hook keeps a copy of the engine's snapshot and ranking (the
  // engine's own are reused by the next decision, in any scope) and is committed once the
  // hook ends.
  ASSERT_TRUE(Cycle());
  cfg_.hooks.pre_kill.argv = {"/bin/sh", "-c", "exit 0"};  // read at decision time
  cfg_.hooks.pre_kill.timeout_ms = 5000;
  ASSERT_TRUE(sys_.SetMeminfo(sys_.high));
  clock_.Advance(100 * sys::kMilli);
  (void)engine_->Tick();
  ASSERT_TRUE(sys_.SetMeminfo(sys_.low));
  clock_.Advance(100 * sys::kMilli);
  (void)engine_->Tick();
  EXPECT_EQ(sink_.kills.load(), 1);  // held for the hook: no kill line yet
  for (int i = 0; i < 250 && sink_.kills.load() == 1; ++i) {
    ::usleep(20 * 1000);
    clock_.Advance(20 * sys::kMilli);
    (void)engine_->Tick();
  }
  ASSERT_EQ(sink_.kills.load(), 2);
  EXPECT_NE(sink_.LastKill().find(" pid=103 "), std::string_view::npos) << sink_.LastKill();
  EXPECT_NE(sink_.LastKill().find("candidates=4 "), std::string_view::npos) << sink_.LastKill();
  pollfd pfd{engine_->reaper_fd(), POLLIN, 0};
  for (int i = 0; i < 100 && sink_.reaped.load() < 2; ++i) {
    if (::poll(&pfd, 1, 50) > 0) engine_->OnReaperEvent();
  }
  EXPECT_EQ(sink_.reaped.load(), 2);
  cfg_.hooks.pre_kill.argv.clear();
}

}  // namespace
}  // namespace reaperd
