// Other OOM daemons running beside reaperd (issue 14). The unit's Conflicts= stops
// systemd-oomd when reaperd starts, but systemd-oomd is socket-activated: the next unit
// started with ManagedOOMMemoryPressure=kill (or ManagedOOMSwap=) brings it back beside
// reaperd (seen in the systemd-booted lab), and then two killers act on the same cgroups.
// reaperd cannot stop it (that would be acting outside its mandate); it says so, once per
// process, at start and whenever a scope reaches warn, with the command that prevents it.
#pragma once

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "base/log.h"
#include "sys/system_view.h"

namespace reaperd::daemon {

class CoexistCheck {
 public:
  // Logs a warning for each OOM daemon (systemd-oomd, earlyoom, nohang, oomd) found running
  // that was not reported before; returns how many are running. Walks /proc (comm only).
  int Check(sys::SystemView& view, Logger& log);

 private:
  std::vector<std::pair<pid_t, std::uint64_t>> reported_;  // pid, start time
};

}  // namespace reaperd::daemon
