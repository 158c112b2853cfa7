// /proc/PID/status: names, uids and the memory breakdown (kB in the file, bytes here).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "base/small_string.h"

namespace reaperd::proc {

struct PidStatus {
  SmallString<64> name;  // Name: (escaped by the kernel: "\n" appears as "\\n")
  char state = '?';      // first letter of State:
  pid_t tgid = 0;
  pid_t ppid = 0;
  uid_t uid_real = 0;  // Uid: real effective saved fs
  uid_t uid_effective = 0;
  std::int64_t threads = 0;
  bool has_mm = false;  // Vm* lines exist (absent for kernel threads and zombies)
  std::uint64_t vm_rss = 0;
  std::uint64_t rss_anon = 0;
  std::uint64_t rss_file = 0;
  std::uint64_t rss_shmem = 0;
  std::uint64_t vm_swap = 0;
  std::uint64_t vm_pte = 0;  // page-table bytes
};

// Requires Name, Pid (tgid) and Uid. Memory lines are optional (0 and has_mm=false).
Result<PidStatus> ParsePidStatus(std::string_view text) noexcept;

}  // namespace reaperd::proc
