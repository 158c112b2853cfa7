// The scope's memory figures and a plain threshold trigger (usage above a share of the
// limit). The real detector lives in pressure/; this is what issue 3's daemon loop and the
// kill tests use, and what the reaper uses to see a victim's memory come back.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "policy/scope.h"
#include "sys/system_view.h"

namespace reaperd::kill {

struct ScopeUsage {
  std::uint64_t usage = 0;  // bytes in use (v1 usage_in_bytes, v2 memory.current, or
                            // MemTotal - MemAvailable for the system)
  std::uint64_t limit = 0;  // the limit, or MemTotal; proc::kUnlimited when none
};

// Reads the usage and limit of a scope (cgroup: a path in the memory hierarchy).
Result<ScopeUsage> ReadScopeUsage(sys::SystemView& view, policy::ScopeKind kind,
                                  std::string_view cgroup) noexcept;

// True when usage exceeds share (0..1) of a finite limit.
bool OverThreshold(const ScopeUsage& u, double share) noexcept;

}  // namespace reaperd::kill
