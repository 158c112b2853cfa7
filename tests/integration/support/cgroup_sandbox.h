// A memory-limited v1 child cgroup for real kill tests, created under the memory cgroup
// this process is in (read from /proc/self/cgroup at run time, since the path differs
// between machines and CI runs). The destructor kills everything left inside and removes
// the cgroup, even when the test failed half-way.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace reaperd::itest {

class CgroupSandbox {
 public:
  // The v1 memory hierarchy's mount point.
  static constexpr const char* kMount = "/sys/fs/cgroup/memory";

  // Creates <own memory cgroup>/<name>-<pid>-<n> with memory.limit_in_bytes = limit.
  // Returns null (and why, in *why) when the host has no v1 memory controller or we may
  // not create cgroups; tests then skip.
  static std::unique_ptr<CgroupSandbox> Create(const std::string& name, std::uint64_t limit,
                                               std::string* why);
  ~CgroupSandbox();
  CgroupSandbox(const CgroupSandbox&) = delete;
  CgroupSandbox& operator=(const CgroupSandbox&) = delete;

  // Path inside the hierarchy, as /proc/PID/cgroup shows it ("/a/b/name-1-2").
  const std::string& cgroup() const { return cgroup_; }
  // Filesystem path of the cgroup directory.
  const std::string& dir() const { return dir_; }

  bool AddProcess(pid_t pid) const;
  std::vector<pid_t> Procs() const;
  std::uint64_t Usage() const;
  std::uint64_t Limit() const;
  // memory.oom_control's oom_kill: how many times the kernel's memcg OOM killer acted.
  std::uint64_t OomKills() const;
  // SIGKILLs every process inside (through pidfds) until cgroup.procs is empty.
  void KillAll() const;

 private:
  CgroupSandbox(std::string cgroup, std::string dir) : cgroup_(cgroup), dir_(dir) {}
  std::string cgroup_;
  std::string dir_;
};

// A child of this process's v1 freezer cgroup, to hold a victim frozen (the v1 freezer
// holds even SIGKILL until thawed). The destructor thaws, kills what is left, removes it.
class FreezerCgroup {
 public:
  static constexpr const char* kMount = "/sys/fs/cgroup/freezer";
  static std::unique_ptr<FreezerCgroup> Create(const std::string& name, std::string* why);
  ~FreezerCgroup();
  FreezerCgroup(const FreezerCgroup&) = delete;
  FreezerCgroup& operator=(const FreezerCgroup&) = delete;
  bool AddProcess(pid_t pid) const;
  bool Freeze() const;  // waits until FROZEN
  bool Thaw() const;
  std::string State() const;

 private:
  explicit FreezerCgroup(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

// The v1 cgroup of this process in the hierarchy holding `controller`, or "" if none.
std::string OwnCgroup(const std::string& controller);
// The v1 memory cgroup of this process, or "" if none.
inline std::string OwnMemoryCgroup() { return OwnCgroup("memory"); }
// Reads a small file whole; "" on failure.
std::string ReadFile(const std::string& path);
bool WriteFile(const std::string& path, const std::string& data);

}  // namespace reaperd::itest
