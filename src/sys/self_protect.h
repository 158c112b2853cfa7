// What reaperd does to itself at startup so it keeps running when memory is at its worst:
// oom_score_adj -1000 (the kernel never picks it) and mlockall (its pages are never
// evicted, so it never waits on a page fault from disk while the machine thrashes).
#pragma once

#include "base/error.h"

namespace reaperd::sys {

struct SelfProtection {
  Result<void> oom_score_adj;  // wrote -1000 to /proc/self/oom_score_adj
  Result<void> mlock;          // mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)
};

// Best effort: each step may fail (unprivileged, RLIMIT_MEMLOCK); the caller logs it.
SelfProtection ProtectSelf(bool lock_memory) noexcept;

}  // namespace reaperd::sys
