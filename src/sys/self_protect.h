// What reaperd does to itself at startup so it keeps running when memory is at its worst:
// oom_score_adj -1000 (the kernel never picks it) and locked memory (its pages are never
// evicted, so it never waits on a page fault from disk while the machine thrashes).
// Locking is two steps (issue 8, the footprint): mlockall(MCL_CURRENT | MCL_FUTURE |
// MCL_ONFAULT) locks every page once touched, so untouched parts of shared libraries cost
// nothing; then the executable's own segments (all of reaperd's code, libstdc++'s included,
// being linked in) are faulted in and locked whole, so a kill path that never ran before
// finds its code resident.
#pragma once

#include <cstddef>

#include "base/error.h"

namespace reaperd::sys {

struct SelfProtection {
  Result<void> oom_score_adj;  // wrote -1000 to /proc/self/oom_score_adj
  Result<void> mlock;          // mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT), then
                               // LockExecutable()
};

// Faults in and locks every loadable segment of the main executable (code, read-only data,
// data); returns the bytes locked. Errors: kSys from mlock (EPERM, ENOMEM past
// RLIMIT_MEMLOCK without CAP_IPC_LOCK).
Result<std::size_t> LockExecutable() noexcept;

// Best effort: each step may fail (unprivileged, RLIMIT_MEMLOCK); the caller logs it.
SelfProtection ProtectSelf(bool lock_memory) noexcept;

// Sets the calling thread's nice value (threads it creates later inherit it). The daemon's
// loop thread takes the reapers' boost once they run: it is the thread that decides a kill,
// and a hog at nice 0 on every CPU must not delay that decision. Needs CAP_SYS_NICE to lower.
Result<void> SetThreadNice(int nice) noexcept;

}  // namespace reaperd::sys
