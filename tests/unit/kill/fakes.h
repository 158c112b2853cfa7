// Fakes for the kill layer's unit tests: a map-backed SystemView and a ProcessOps that
// simulates processes (identity by generation, so a reused PID is a different process)
// and records every signal. No real signal is ever sent.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kill/last_resort.h"
#include "kill/process_ops.h"
#include "policy/snapshot.h"
#include "sys/system_view.h"

namespace reaperd::kill::testing {

inline std::string StatLine(pid_t pid, std::string_view comm, std::uint64_t starttime) {
  return std::to_string(pid) + " (" + std::string(comm) + ") S 1 " + std::to_string(pid) + " " +
         std::to_string(pid) + " 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 " +
         std::to_string(starttime) + " 1000000 100\n";
}

class FakeView final : public sys::SystemView {
 public:
  std::map<std::string, std::string> proc, cgroup;
  std::vector<std::pair<std::string, std::string>> writes;  // cgroup writes, in order
  std::vector<std::pair<std::string, std::string>> proc_writes;
  sys::CgroupVersion version = sys::CgroupVersion::kV1;
  mutable std::mutex mu;

  Result<sys::ReadResult> Read(sys::Root root, std::string_view path,
                               std::span<char> buf) noexcept override {
    std::lock_guard lock(mu);
    auto& m = root == sys::Root::kProc ? proc : cgroup;
    auto it = m.find(std::string(path));
    if (it == m.end()) return Fail(Error::Sys(ENOENT, "fake read"));
    sys::ReadResult r;
    r.size = std::min(buf.size(), it->second.size());
    std::memcpy(buf.data(), it->second.data(), r.size);
    r.truncated = it->second.size() > buf.size();
    return r;
  }
  Result<sys::UniqueFd> OpenDir(sys::Root, std::string_view) noexcept override {
    return Fail(Error::Sys(ENOTSUP, "fake"));
  }
  Result<sys::ReadResult> ReadAt(int, std::string_view, std::span<char>) noexcept override {
    return Fail(Error::Sys(ENOTSUP, "fake"));
  }
  Result<std::size_t> ReadLinkAt(int, std::string_view, std::span<char>) noexcept override {
    return Fail(Error::Sys(ENOTSUP, "fake"));
  }
  Result<void> Write(sys::Root root, std::string_view path,
                     std::string_view data) noexcept override {
    std::lock_guard lock(mu);
    (root == sys::Root::kProc ? proc_writes : writes).emplace_back(path, data);
    return {};
  }
  Result<void> ListPids(std::vector<pid_t>&) override { return {}; }
  // The PIDs of every "<dir>/cgroup.procs" and "<dir>/.../cgroup.procs" in the cgroup map.
  Result<void> ListCgroupPids(std::string_view path, std::vector<pid_t>& out) override {
    std::lock_guard lock(mu);
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    const std::string prefix = path.empty() ? "" : std::string(path) + "/";
    bool found = false;
    for (const auto& [file, text] : cgroup) {
      if (!file.starts_with(prefix) || !file.ends_with("cgroup.procs")) continue;
      const std::string_view tail = std::string_view(file).substr(prefix.size());
      if (tail != "cgroup.procs" && !tail.ends_with("/cgroup.procs")) continue;
      found = true;
      std::size_t pos = 0;
      while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        if (end > pos) out.push_back(static_cast<pid_t>(std::stoi(text.substr(pos, end - pos))));
        pos = end + 1;
      }
    }
    if (!found) return Fail(Error::Sys(ENOENT, "fake cgroup.procs"));
    return {};
  }
  Result<void> ListDirs(sys::Root, std::string_view, std::vector<std::string>&) override {
    return {};
  }
  sys::CgroupVersion cgroup_version() const noexcept override { return version; }
  std::string_view cgroup_root_path() const noexcept override { return "/fake"; }

  void SetProc(const std::string& path, const std::string& text) {
    std::lock_guard lock(mu);
    proc[path] = text;
  }
  void SetCgroup(const std::string& path, const std::string& text) {
    std::lock_guard lock(mu);
    cgroup[path] = text;
  }
};

struct FakeProc {
  int generation = 1;
  int mm = 0;  // processes with one mm id share an mm
  bool exists = true;
  bool killed = false;
  bool exited = false;
  bool exits_on_kill = true;  // SIGKILL makes it exit at once
  bool exits_on_term = false;
  std::deque<int> mrelease_errno;  // scripted results (0 = success); then the default
};

struct SentSignal {
  pid_t pid;
  int generation;
  int sig;
};

class FakeOps final : public ProcessOps {
 public:
  std::map<pid_t, FakeProc> procs;
  std::vector<SentSignal> sent;
  std::vector<std::pair<pid_t, pid_t>> kcmp_calls;
  std::vector<pid_t> boosted, unfreeze_calls;
  int mrelease_calls = 0;
  bool frozen = false;
  mutable std::mutex mu;

  Result<sys::UniqueFd> Open(pid_t pid) noexcept override {
    std::lock_guard lock(mu);
    auto it = procs.find(pid);
    if (it == procs.end() || !it->second.exists) return Fail(Error::Sys(ESRCH, "fake open"));
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    fds_[fd] = {pid, it->second.generation};
    return sys::UniqueFd(fd);
  }
  Result<void> Send(int pidfd, int sig) noexcept override {
    std::lock_guard lock(mu);
    FakeProc* p = Lookup(pidfd);
    auto id = fds_[pidfd];
    if (p == nullptr || p->exited) return Fail(Error::Sys(ESRCH, "fake send"));
    sent.push_back({id.first, id.second, sig});
    if (sig == SIGKILL) {
      p->killed = true;
      if (p->exits_on_kill) p->exited = true;
    }
    if (sig == SIGTERM && p->exits_on_term) p->exited = true;
    return {};
  }
  Result<void> Mrelease(int pidfd) noexcept override {
    std::lock_guard lock(mu);
    ++mrelease_calls;
    FakeProc* p = Lookup(pidfd);
    if (p == nullptr) return Fail(Error::Sys(ESRCH, "fake mrelease"));
    if (!p->mrelease_errno.empty()) {
      int e = p->mrelease_errno.front();
      p->mrelease_errno.pop_front();
      if (e == 0) return {};
      return Fail(Error::Sys(e, "fake mrelease"));
    }
    if (p->exited) return Fail(Error::Sys(ESRCH, "fake mrelease"));
    if (!p->killed) return Fail(Error::Sys(EINVAL, "fake mrelease"));
    return {};
  }
  Result<bool> WaitExit(int pidfd, int) noexcept override {
    std::lock_guard lock(mu);
    FakeProc* p = Lookup(pidfd);
    return p == nullptr || p->exited;
  }
  Result<bool> SameMm(pid_t a, pid_t b) noexcept override {
    std::lock_guard lock(mu);
    kcmp_calls.emplace_back(a, b);
    return procs[a].mm != 0 && procs[a].mm == procs[b].mm;
  }
  void Boost(pid_t pid) noexcept override {
    std::lock_guard lock(mu);
    boosted.push_back(pid);
  }
  bool Unfreeze(pid_t pid) noexcept override {
    std::lock_guard lock(mu);
    unfreeze_calls.push_back(pid);
    return std::exchange(frozen, false);
  }

  // The process behind pid exits and a new one takes the PID.
  void Reuse(pid_t pid) {
    std::lock_guard lock(mu);
    FakeProc& p = procs[pid];
    int g = p.generation + 1;
    p = FakeProc{};
    p.generation = g;
  }
  void SetExited(pid_t pid) {
    std::lock_guard lock(mu);
    procs[pid].exited = true;
  }
  std::vector<SentSignal> Sent() const {
    std::lock_guard lock(mu);
    return sent;
  }
  int SentCount(pid_t pid, int sig) const {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& s : sent) n += s.pid == pid && s.sig == sig;
    return n;
  }

 private:
  // A pidfd names one generation: once the PID is reused, it is a dead process.
  FakeProc* Lookup(int fd) {
    auto it = fds_.find(fd);
    if (it == fds_.end()) return nullptr;
    auto p = procs.find(it->second.first);
    if (p == procs.end() || p->second.generation != it->second.second) return nullptr;
    return &p->second;
  }
  std::map<int, std::pair<pid_t, int>> fds_;
};

class FakeSysrq final : public SysrqWriter {
 public:
  std::vector<char> commands;
  std::mutex mu;
  Result<void> Trigger(char c) noexcept override {
    std::lock_guard lock(mu);
    commands.push_back(c);
    return {};
  }
  std::vector<char> Commands() {
    std::lock_guard lock(mu);
    return commands;
  }
};

// A world of fake processes: adds each to the snapshot, the fake /proc and the fake ops.
struct World {
  FakeView view;
  FakeOps ops;
  policy::Snapshot snapshot;

  policy::Process& Add(pid_t pid, std::uint64_t starttime, std::uint64_t rss_pages, int mm,
                       std::string exe = "/usr/bin/hog") {
    policy::Process p;
    p.pid = pid;
    p.starttime = starttime;
    p.comm.Assign("hog");
    p.exe = std::move(exe);
    p.cgroup = "/sandbox";
    p.has_mm = true;
    p.pgrp = pid;
    p.threads = 1;
    p.rss_anon = rss_pages * 4096;
    snapshot.processes.push_back(p);
    view.SetProc(std::to_string(pid) + "/stat", StatLine(pid, "hog", starttime));
    view.SetProc(std::to_string(pid) + "/statm",
                 "1000 " + std::to_string(rss_pages) + " 10 1 0 500 0\n");
    FakeProc f;
    f.mm = mm;
    ops.procs[pid] = f;
    return snapshot.processes.back();
  }
};

}  // namespace reaperd::kill::testing
