// reaperd-managed-oom's pure side: systemd-oomd's defaults from oomd.conf and its drop-ins
// (oomd.conf(5)), and the managed-oom request built from the units that say
// ManagedOOMMemoryPressure=kill (report/managed_oom_message.h has the format).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace reaperd::bus {

struct OomdDefaults {
  std::uint32_t limit_permyriad = 6000;      // DefaultMemoryPressureLimit=60%
  std::uint64_t duration_usec = 30'000'000;  // DefaultMemoryPressureDurationSec=30s
};

// Applies one oomd.conf file's [OOM] section to d (later files override earlier ones, as
// systemd reads them). Malformed values are left alone, as systemd-oomd ignores them.
void ApplyOomdConf(std::string_view text, OomdDefaults& d);
// The files systemd-oomd reads, in its order: oomd.conf, then the *.conf of the drop-in
// directories sorted by name (a name in /etc hides the same name in /run and /usr/lib).
std::vector<std::string> OomdConfFiles(const std::string& root = "");

// "60%", "60.5%" (two decimals at most) -> permyriad; false when malformed or above 100%.
bool ParsePercentPermyriad(std::string_view s, std::uint32_t& out);
// systemd's time spans: "30s", "2s", "1min 30s", "500ms", "30" (seconds) -> microseconds.
bool ParseTimespanUsec(std::string_view s, std::uint64_t& out);

// One unit as D-Bus shows it.
struct UnitOom {
  std::string control_group;       // ControlGroup=
  std::string memory_pressure;     // ManagedOOMMemoryPressure= ("auto" or "kill")
  std::uint32_t limit_scaled = 0;  // ManagedOOMMemoryPressureLimit=, scaled to UINT32_MAX
};

// The request body (JSON, one line) for the units that say kill and have a cgroup.
std::string ManagedOomMessage(const std::vector<UnitOom>& units, const OomdDefaults& d);

}  // namespace reaperd::bus
