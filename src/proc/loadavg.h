// /proc/loadavg's last field: the PID most recently allocated in the reader's PID namespace,
// the cursor the kernel allocates the next PIDs after (cyclically, up to pid_max).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace reaperd::proc {

// "0.18 1.06 1.52 1/77 7237\n" -> 7237. kParse/kRange on anything else.
Result<pid_t> ParseLoadavgLastPid(std::string_view text) noexcept;

// The task census in /proc/loadavg: the number of tasks (threads, every PID namespace's) in
// the system, the fourth field's second number, and the last PID allocated.
struct TaskCensus {
  std::uint64_t tasks = 0;
  pid_t last_pid = 0;
  bool operator==(const TaskCensus&) const = default;
};
// "0.18 1.06 1.52 1/77 7237\n" -> {77, 7237}. kParse/kRange on anything else.
Result<TaskCensus> ParseLoadavgCensus(std::string_view text) noexcept;

}  // namespace reaperd::proc
