// Whether this process may give a thread SCHED_FIFO (kill.reaper_realtime_priority): it may
// not without CAP_SYS_NICE, nor under systemd's RestrictRealtime=yes (a seccomp filter that
// answers EPERM), which the shipped unit sets.
#pragma once

#include "base/error.h"

namespace reaperd::sys {

// Starts a throwaway thread that asks for SCHED_FIFO at priority (1..99) and exits; the
// caller's own threads are not touched. kSys with EPERM when refused.
Result<void> ProbeRealtime(int priority) noexcept;

// The advice logged and printed with a refusal (names the unit's RestrictRealtime=yes and
// the drop-in that lifts it).
inline constexpr const char* kRealtimeAdvice =
    "SCHED_FIFO needs CAP_SYS_NICE and is refused under RestrictRealtime=yes, which the shipped "
    "reaperd.service sets; add a drop-in (systemctl edit reaperd) with RestrictRealtime=no, or "
    "set kill.reaper_realtime_priority = 0";

}  // namespace reaperd::sys
