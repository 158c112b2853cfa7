// Other OOM daemons running beside reaperd (issue 14). The unit's Conflicts= stops
// systemd-oomd when reaperd starts, but systemd-oomd is socket-activated: the next unit
// started with ManagedOOMMemoryPressure=kill (or ManagedOOMSwap=) brings it back beside
// reaperd (seen in the systemd-booted lab), and then two killers act on the same cgroups.
// reaperd cannot stop it (that would be acting outside its mandate); it says so, once per
// process, at start and when a scope reaches warn (at most once per kPeriodNs: the check
// walks every /proc/PID/stat, and a scope flapping between warn and kill walked it at every
// flap, most of a kill burst's CPU in issue 13's profile), with the command that prevents it.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "base/log.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::daemon {

class CoexistCheck {
 public:
  // Logs a warning for each OOM daemon (systemd-oomd, earlyoom, nohang, oomd) found running
  // that was not reported before; returns how many are running. Walks /proc (stat only).
  // Allocates nothing once its listing buffer has grown to the host's processes.
  int Check(sys::SystemView& view, Logger& log);
  // Check, unless the last one was less than kPeriodNs before now: then -1, and no walk.
  int CheckIfDue(sys::SystemView& view, Logger& log, sys::Nanos now);

  static constexpr sys::Nanos kPeriodNs = 30 * sys::kSecond;
  // Whether the last Check found systemd-oomd running (ManagedOOM cgroups are then its own).
  bool systemd_oomd() const noexcept { return systemd_oomd_; }

 private:
  static constexpr std::size_t kTracked = 8;
  std::vector<pid_t> pids_;
  std::array<std::pair<pid_t, std::uint64_t>, kTracked> reported_{};  // pid, start time
  std::size_t reported_count_ = 0;
  sys::Nanos checked_ns_ = -1;
  bool systemd_oomd_ = false;
};

}  // namespace reaperd::daemon
