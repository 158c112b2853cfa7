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

// rss_pages: field 24, as statm's resident (the kernel's get_mm_rss for both).
inline std::string StatLine(pid_t pid, std::string_view comm, std::uint64_t starttime,
                            std::uint64_t rss_pages = 100) {
  return std::to_string(pid) + " (" + std::string(comm) + ") S 1 " + std::to_string(pid) + " " +
         std::to_string(pid) + " 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 " +
         std::to_string(starttime) + " 1000000 " + std::to_string(rss_pages) + "\n";
}

// A minimal /proc/PID/status, for a process the kill path reads whole.
inline std::string StatusLine(pid_t pid, std::string_view comm) {
  return "Name:\t" + std::string(comm) + "\nTgid:\t" + std::to_string(pid) +
         "\nUid:\t0\t0\t0\t0\nRssAnon:\t1000 kB\nRssFile:\t0 kB\nRssShmem:\t0 kB\n";
}

class FakeView final : public sys::SystemView {
 public:
  std::map<std::string, std::string> proc, cgroup;
  std::vector<std::pair<std::string, std::string>> writes;  // cgroup writes, in order
  std::vector<std::pair<std::string, std::string>> proc_writes;
  sys::CgroupVersion version = sys::CgroupVersion::kV1;
  mutable std::mutex mu;

  std::map<std::string, int> reads;  // Read calls per path
  Result<sys::ReadResult> Read(sys::Root root, std::string_view path,
                               std::span<char> buf) noexcept override {
    std::lock_guard lock(mu);
    ++reads[std::string(path)];
    auto& m = root == sys::Root::kProc ? proc : cgroup;
    auto it = m.find(std::string(path));
    if (it == m.end()) return Fail(Error::Sys(ENOENT, "fake read"));
    sys::ReadResult r;
    r.size = std::min(buf.size(), it->second.size());
    std::memcpy(buf.data(), it->second.data(), r.size);
    r.truncated = it->second.size() > buf.size();
    return r;
  }
  // /proc/PID as a directory: an fd on /dev/null remembered with its path, so the
  // scanner's ReadProcess works on the fake /proc ("PID/stat" and so on).
  Result<sys::UniqueFd> OpenDir(sys::Root root, std::string_view path) noexcept override {
    std::lock_guard lock(mu);
    auto& m = root == sys::Root::kProc ? proc : cgroup;
    if (m.find(std::string(path) + "/stat") == m.end() && root == sys::Root::kProc) {
      return Fail(Error::Sys(ENOENT, "fake opendir"));
    }
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    dirs_[fd] = {root, std::string(path)};
    return sys::UniqueFd(fd);
  }
  Result<sys::ReadResult> ReadAt(int dirfd, std::string_view name,
                                 std::span<char> buf) noexcept override {
    std::string path;
    sys::Root root;
    {
      std::lock_guard lock(mu);
      auto it = dirs_.find(dirfd);
      if (it == dirs_.end()) return Fail(Error::Sys(EBADF, "fake readat"));
      root = it->second.first;
      path = it->second.second + "/" + std::string(name);
    }
    return Read(root, path, buf);
  }
  Result<std::size_t> ReadLinkAt(int dirfd, std::string_view name,
                                 std::span<char> buf) noexcept override {
    auto r = ReadAt(dirfd, name, buf);
    if (!r) return Fail(r.error());
    return r->size;
  }
  Result<void> Write(sys::Root root, std::string_view path,
                     std::string_view data) noexcept override {
    std::lock_guard lock(mu);
    (root == sys::Root::kProc ? proc_writes : writes).emplace_back(path, data);
    return {};
  }
  // Extended attributes ("cgroup path|name" -> value) and owners (path -> uid) of the fake
  // cgroup tree (paths relative to its root, "" for the root).
  std::map<std::string, std::string> xattrs;
  std::map<std::string, uid_t> owners;
  int xattr_calls = 0;
  Result<std::size_t> GetXattr(sys::Root, std::string_view path, const char* name,
                               std::span<char> buf) noexcept override {
    std::lock_guard lock(mu);
    ++xattr_calls;
    auto it = xattrs.find(std::string(path) + "|" + name);
    if (it == xattrs.end()) return Fail(Error::Sys(ENODATA, "fake getxattr"));
    const std::size_t n = std::min(buf.size(), it->second.size());
    std::memcpy(buf.data(), it->second.data(), n);
    return n;
  }
  Result<uid_t> Owner(sys::Root, std::string_view path) noexcept override {
    std::lock_guard lock(mu);
    auto it = owners.find(std::string(path));
    return it == owners.end() ? 0 : it->second;
  }
  int list_calls = 0;  // ListPids calls: a walk of all of /proc
  // Every PID with a stat file in the fake /proc.
  Result<void> ListPids(std::vector<pid_t>& out) override {
    std::lock_guard lock(mu);
    ++list_calls;
    for (const auto& [path, text] : proc) {
      auto slash = path.find('/');
      if (slash == std::string::npos || path.substr(slash) != "/stat") continue;
      out.push_back(static_cast<pid_t>(std::stoi(path.substr(0, slash))));
    }
    return {};
  }
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

 private:
  std::map<int, std::pair<sys::Root, std::string>> dirs_;
};

struct FakeProc {
  int generation = 1;
  int mm = 0;  // processes with one mm id share an mm
  bool exists = true;
  bool killed = false;
  bool exited = false;
  bool exits_on_kill = true;  // SIGKILL makes it exit at once
  bool exits_on_term = false;
  int send_errno = 0;  // every signal fails with this (EPERM: a capability, seccomp, an LSM)
  bool mm_held_outside = false;    // a process outside any victim group keeps its mm alive
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
  int open_mm_delay_ms = 0;  // OpenMm takes this long (set before the loop runs)
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
    if (p->send_errno != 0) return Fail(Error::Sys(p->send_errno, "fake send"));
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
  Result<sys::UniqueFd> OpenMm(pid_t pid) noexcept override {
    if (open_mm_delay_ms > 0) ::usleep(static_cast<useconds_t>(open_mm_delay_ms) * 1000);
    return Open(pid);
  }
  // The mm is gone once its process exited, unless something outside keeps it.
  Result<bool> MmGone(int fd) noexcept override {
    std::lock_guard lock(mu);
    FakeProc* p = Lookup(fd);
    if (p == nullptr) return true;
    return p->exited && !p->mm_held_outside;
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
  int fail_errno = 0;  // the write fails with this (the command is still recorded)
  std::mutex mu;
  Result<void> Trigger(char c) noexcept override {
    std::lock_guard lock(mu);
    commands.push_back(c);
    if (fail_errno != 0) return Fail(Error::Sys(fail_errno, "fake sysrq"));
    return {};
  }
  std::vector<char> Commands() {
    std::lock_guard lock(mu);
    return commands;
  }
};

// /proc/PID/stat of p: ppid, pgrp, flags (PF_KTHREAD) and start time as p says.
inline std::string StatLineOf(const policy::Process& p) {
  const std::uint32_t flags = 4194560u | (p.kernel_thread ? 0x00200000u : 0u);
  return std::to_string(p.pid) + " (" + std::string(p.comm.view()) + ") S " +
         std::to_string(p.ppid) + " " + std::to_string(p.pgrp) + " " + std::to_string(p.pgrp) +
         " 0 -1 " + std::to_string(flags) + " 0 0 0 0 0 0 0 0 20 0 1 0 " +
         std::to_string(p.starttime) + " 1000000 " + std::to_string(p.rss() / 4096) + "\n";
}

// A world of fake processes: adds each to the snapshot, the fake /proc and the fake ops.
struct World {
  FakeView view;
  FakeOps ops;
  policy::Snapshot snapshot;

  // Writes every /proc file the scanner reads for p (stat, status, statm, oom_score_adj,
  // cgroup, exe), so a process can be read afresh as the killer does on a re-walk.
  // text_pages: statm's text field (a property of the mm).
  void Publish(const policy::Process& p, std::uint64_t text_pages = 10) {
    const std::string pid = std::to_string(p.pid);
    view.SetProc(pid + "/stat", StatLineOf(p));
    view.SetProc(pid + "/status",
                 "Name:\t" + std::string(p.comm.view()) + "\nState:\tS (sleeping)\nTgid:\t" + pid +
                     "\nPid:\t" + pid + "\nPPid:\t" + std::to_string(p.ppid) + "\nUid:\t" +
                     std::to_string(p.uid) + "\t" + std::to_string(p.uid) + "\t0\t0\nVmRSS:\t" +
                     std::to_string(p.rss() / 1024) + " kB\nRssAnon:\t" +
                     std::to_string(p.rss_anon / 1024) + " kB\n");
    view.SetProc(pid + "/statm", "1000 " + std::to_string(p.rss() / 4096) + " 10 " +
                                     std::to_string(text_pages) + " 0 500 0\n");
    view.SetProc(pid + "/oom_score_adj", std::to_string(p.oom_score_adj) + "\n");
    view.SetProc(pid + "/cgroup", "4:memory:" + p.cgroup + "\n0::" + p.cgroup + "\n");
    view.SetProc(pid + "/exe", p.exe);
  }
  // Publishes every process of the snapshot (after a test changed their fields).
  void PublishAll() {
    for (const auto& p : snapshot.processes) Publish(p);
  }
  // A process that is in /proc and in the fake ops but not in the snapshot (another scope).
  policy::Process Outside(pid_t pid, std::uint64_t starttime, std::string cgroup, int mm,
                          std::uint64_t text_pages = 10) {
    policy::Process p;
    p.pid = pid;
    p.starttime = starttime;
    p.comm.Assign("other");
    p.exe = "/usr/bin/other";
    p.cgroup = std::move(cgroup);
    p.has_mm = true;
    p.pgrp = pid;
    p.ppid = 1;
    p.threads = 1;
    p.rss_anon = 4096 * 10;
    FakeProc f;
    f.mm = mm;
    ops.procs[pid] = f;
    Publish(p, text_pages);
    return p;
  }

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
    p.ppid = 1;
    p.threads = 1;
    p.rss_anon = rss_pages * 4096;
    snapshot.processes.push_back(p);
    view.SetProc(std::to_string(pid) + "/stat", StatLine(pid, "hog", starttime, rss_pages));
    view.SetProc(std::to_string(pid) + "/statm",
                 "1000 " + std::to_string(rss_pages) + " 10 1 0 500 0\n");
    FakeProc f;
    f.mm = mm;
    ops.procs[pid] = f;
    return snapshot.processes.back();
  }
};

}  // namespace reaperd::kill::testing
