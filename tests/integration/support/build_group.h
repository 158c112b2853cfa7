// A "build" for the live tests of issue 15 (growth blame, the kill-size ladder): a parent
// that, once placed in its cgroup, forks `jobs` jobs; each touches start_mib, waits until
// ReleaseGrowth(), then grows grow_mib more, 1 MiB every ns_per_mib. With own_group the
// parent first makes a process group of its own (which the jobs share). Only syscalls after
// fork (the test process has threads). The destructor kills the parent (and its group).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "integration/support/cgroup_sandbox.h"

namespace reaperd::itest {

struct BuildSpec {
  int jobs = 8;
  std::uint64_t start_mib = 2;
  std::uint64_t grow_mib = 20;
  long ns_per_mib = 50 * 1000 * 1000;
  bool own_group = false;
};

class BuildGroup {
 public:
  // parent() is 0 if the build could not be started or placed in sb.
  static BuildGroup Start(const CgroupSandbox& sb, const BuildSpec& spec);
  BuildGroup(BuildGroup&& o) noexcept;
  BuildGroup& operator=(BuildGroup&&) = delete;
  ~BuildGroup();

  pid_t parent() const noexcept { return parent_; }
  // The jobs start to grow.
  void ReleaseGrowth();
  // The parent was reaped elsewhere (the test waited for it): the destructor leaves it.
  void Forget() noexcept { parent_ = 0; }

 private:
  BuildGroup() = default;
  pid_t parent_ = 0;
  bool own_group_ = false;
  int go_ = -1;    // write end: one byte starts the jobs
  int grow_ = -1;  // write end: closing it makes the jobs grow
};

}  // namespace reaperd::itest
