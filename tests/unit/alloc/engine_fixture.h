// The fixture of the engine's alloc tests: a fixture /proc tree whose meminfo the test
// rewrites (FakeSystem), a stepped clock, fake process ops that never allocate (static_ops.h),
// and a real Engine over them. Cycle() drives one whole kill cycle: back to ok, then a kill,
// its reaping and the result.
#pragma once

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
#include "sys/clock.h"
#include "sys/system_view.h"
#include "unit/alloc/static_ops.h"

namespace reaperd::alloc_test {

inline constexpr int kFirstPid = 100;
inline constexpr int kProcesses = 4;

// A clock the test moves while the reaper's threads read it.
class SteppedClock final : public sys::Clock {
 public:
  sys::Nanos Now() const noexcept override { return now_.load(); }
  void Advance(sys::Nanos d) noexcept { now_ += d; }

 private:
  std::atomic<sys::Nanos> now_{1000 * sys::kSecond};
};

// Counts lines per event and keeps the last kill line, in fixed storage (no allocation), and
// passes every line on to `next` when a test sets it (the production sink, journal or stderr).
class CountingSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view event, std::string_view line) noexcept override {
    if (event == "kill") {
      ++kills;
      last_kill_size = line.copy(last_kill.data(), last_kill.size());
    }
    if (event == "reaped") ++reaped;
    if (event == "level") ++levels;
    if (LogSink* n = next.load()) n->Write(level, event, line);
  }
  std::uint64_t lines_dropped() const noexcept override {
    LogSink* n = next.load();
    return n != nullptr ? n->lines_dropped() : 0;
  }
  std::string_view LastKill() const { return {last_kill.data(), last_kill_size}; }

  std::atomic<int> kills{0}, reaped{0}, levels{0};
  std::array<char, 4096> last_kill{};
  std::size_t last_kill_size = 0;
  std::atomic<LogSink*> next{nullptr};
};

inline void WriteFile(const std::string& path, std::string_view text) {
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

  // One whole cycle: back to ok, then a kill, its reaping and the result; before_kill runs
  // just before the tick that decides the kill. False (never aborting: the counting must
  // end) when a step did not happen.
  template <class F>
  bool Cycle(F&& before_kill) {
    const int kills_before = sink_.kills.load();
    if (!sys_.SetMeminfo(sys_.high)) return false;
    clock_.Advance(100 * sys::kMilli);
    (void)engine_->Tick();
    if (!sys_.SetMeminfo(sys_.low)) return false;
    clock_.Advance(100 * sys::kMilli);
    before_kill();
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
  bool Cycle() {
    return Cycle([] {});
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

}  // namespace reaperd::alloc_test
