// The "managed-oom" request of the status socket: the cgroups whose units say
// ManagedOOMMemoryPressure=kill, sent by reaperd-managed-oom (src/bus/managed_oom_main.cc),
// which reads them from systemd over D-Bus so that the daemon never waits for PID 1 or a bus.
// One JSON object on the request line:
//   {"cgroups":[{"mode":"kill","path":"/a.slice","property":"ManagedOOMMemoryPressure",
//                "limit":858993459,"duration":2000000}, ...],
//    "defaultMemoryPressureLimit":6000,"defaultMemoryPressureDurationUSec":30000000}
// Each cgroup record has the fields of systemd's own io.systemd.ManagedOOM ControlGroup record
// (the varlink payload PID 1 sends systemd-oomd): limit scaled to UINT32_MAX as the unit
// property is (0 or absent: the default), duration in microseconds (absent: the default;
// systemd 252 has no per-unit duration). The defaults are systemd-oomd's (oomd.conf), in
// permyriad and microseconds. The table replaces the previous one whole.
#pragma once

#include <string_view>
#include <vector>

#include "base/error.h"
#include "policy/managed_oom.h"

namespace reaperd::report {

inline constexpr std::string_view kManagedOomRequest = "managed-oom ";

struct ManagedOomTable {
  std::vector<policy::ManagedOomCgroup> cgroups;
  int skipped = 0;  // records that were malformed, not "kill", or another property (ManagedOOMSwap)
};

// Errors (kInvalid, with what is wrong): not JSON, no "cgroups" array, a default out of range,
// more than policy::kManagedOomMax cgroups. A malformed record is skipped and counted, as
// systemd-oomd skips it.
Result<ManagedOomTable> ParseManagedOomMessage(std::string_view json);

}  // namespace reaperd::report
