// A fixture /proc for engine tests: meminfo (the test rewrites it to move the system
// between plenty and the kill level), vmstat, PSI, and processes 100..103 ("hog", 1000..4000
// KiB of anonymous memory, in a v1 memory cgroup of the captured host fixture). A stepped
// clock goes with it.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "sys/clock.h"

namespace reaperd::alloc_test {

inline constexpr int kFirstPid = 100;
inline constexpr int kProcesses = 4;
// The flags field of the processes' stat (PF_RANDOMIZE | PF_SUPERPRIV: nothing special).
inline constexpr unsigned kFlags = 4194560;

// A clock the test moves while the reaper's threads read it.
class SteppedClock final : public sys::Clock {
 public:
  sys::Nanos Now() const noexcept override { return now_.load(); }
  void Advance(sys::Nanos d) noexcept { now_ += d; }

 private:
  std::atomic<sys::Nanos> now_{1000 * sys::kSecond};
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
  std::vector<std::string> dirs;
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
  // /proc/<pid>/status and statm of a process of kb KiB of anonymous memory.
  static std::string Status(int pid, long kb) {
    const std::string p = std::to_string(pid);
    return "Name:\thog\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t" + p + "\nPid:\t" + p +
           "\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\nVmSize:\t4000 kB\nVmRSS:\t" +
           std::to_string(kb) + " kB\nRssAnon:\t" + std::to_string(kb) +
           " kB\nRssFile:\t0 kB\nRssShmem:\t0 kB\nVmPTE:\t8 kB\nVmSwap:\t0 kB\nThreads:\t1\n";
  }
  static std::string Statm(long kb) { return "1000 " + std::to_string(kb / 4) + " 10 1 0 500 0\n"; }
  // A process of kb KiB of anonymous memory in the user's session scope: its directory, stat,
  // statm, status, oom_score_adj 0 and cgroup (removed with the tree).
  void AddProcess(int pid, long kb) {
    const std::string p = std::to_string(pid);
    AddDir(p);
    Add(p + "/stat", Stat(pid, kFlags));
    Add(p + "/statm", Statm(kb));
    Add(p + "/status", Status(pid, kb));
    Add(p + "/oom_score_adj", "0\n");
    Add(p + "/cgroup", "4:memory:/user.slice/user-1000.slice/session-2.scope\n0::/\n");
  }
  // A directory under the tree, removed (after the files) with it.
  void AddDir(const std::string& rel) {
    dirs.push_back(dir + "/" + rel);
    ::mkdir(dirs.back().c_str(), 0755);
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
      AddProcess(pid, 250L * (pid - kFirstPid + 1) * 4);
    }
  }
  ~FakeSystem() {
    for (auto it = files.rbegin(); it != files.rend(); ++it) ::unlink(it->c_str());
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());
    ::rmdir((dir + "/pressure").c_str());
    ::rmdir(dir.c_str());
  }
  // /proc/<pid>/stat with the given flags (field 9, e.g. proc::kPfExiting), process group and
  // session (0: the pid itself) and comm.
  static std::string Stat(int pid, unsigned flags, int pgrp = 0, int session = 0,
                          std::string_view comm = "hog") {
    const std::string p = std::to_string(pid);
    return p + " (" + std::string(comm) + ") S 1 " + std::to_string(pgrp != 0 ? pgrp : pid) + " " +
           std::to_string(session != 0 ? session : pid) + " 0 -1 " + std::to_string(flags) +
           " 0 0 0 0 0 0 0 0 20 0 1 0 " + std::to_string(5000 + pid) + " 1000000 " +
           std::to_string(250L * (pid - kFirstPid + 1)) + "\n";
  }
  void SetStat(int pid, unsigned flags) const {
    WriteFile(dir + "/" + std::to_string(pid) + "/stat", Stat(pid, flags));
  }
  // Moves a process to another v1 memory cgroup (a path from the hierarchy's root).
  void SetCgroup(int pid, const std::string& path) const {
    WriteFile(dir + "/" + std::to_string(pid) + "/cgroup", "4:memory:" + path + "\n0::/\n");
  }
  // The kernel's OOM kill count in vmstat (what the system scope's sampler reads).
  void SetOomKills(int n) const {
    WriteFile(dir + "/vmstat", "pgfault 1\noom_kill " + std::to_string(n) + "\n");
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

}  // namespace reaperd::alloc_test
