// What reaperd does to itself at startup so it keeps running when memory is at its worst:
// oom_score_adj -1000 (the kernel never picks it) and locked memory (its pages are never
// evicted, so it never waits on a page fault from disk while the machine thrashes).
// Locking is two steps (issue 8, the footprint): mlockall(MCL_CURRENT | MCL_FUTURE |
// MCL_ONFAULT) locks every page once touched, so untouched code costs nothing; then the
// executable's hot section (the kill path's own layers, grouped by cmake/hot.ld) and its
// data are faulted in and locked whole, so a kill path that never ran before finds its code
// resident; the C library's and libstdc++'s functions it calls are touched, and so locked,
// by the warm-up and the kill drill at start.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/error.h"

namespace reaperd::sys {

struct SelfProtection {
  Result<void> oom_score_adj;  // wrote -1000 to /proc/self/oom_score_adj
  Result<void> mlock;          // mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT); the
                               // daemon calls LockExecutable() once start-up is trimmed
  Result<int> fd_table;        // ReserveFdTable's slots
};

// The most file descriptors the fd table is grown to at start (ReserveFdTable): the held
// cgroup files' budget (at most 1024) and the rest (PSI triggers, pidfds, sockets) with room.
inline constexpr int kFdTableSlots = 2048;

// Grows the process's fd table to kFdTableSlots slots (fewer under a lower RLIMIT_NOFILE),
// to be called before any thread starts. The kernel grows the table when an open needs a slot
// past its size (64 at first, then doubling), and while threads share it, waits there for an
// RCU grace period (expand_fdtable's synchronize_rcu): in the lab's guest the loop thread
// waited 13-21 ms in one such open in every growers run (session 20), and any open on the kill
// path could be the one. A table never shrinks, so growing it once, alone, ends those waits.
// Returns the slots asked for (2048 slots cost 16 KiB of kernel memory).
Result<int> ReserveFdTable() noexcept;

// The string functions' variants in the hot section are grouped by CPU class (cmake/hot.ld):
// the CPU picks one variant of each function at start (IFUNC: LockExecutable reads the picks
// from the IRELATIVE slots of the PLT's relocations), and a group none of the picks is in
// never runs. Its whole pages are left out of LockExecutable's lock and dropped like cold
// code (locked again if ever touched). Empty without the groups, or when the picks cannot be
// read (every group then stays locked).
struct HotVariants {
  struct Range {
    std::uintptr_t start = 0, end = 0;
    const char* name = "";
  };
  std::array<Range, 4> ranges{};
  std::size_t count = 0;
  std::size_t bytes = 0;
};

// Faults in and locks the main executable's hot section (cmake/hot.ld) and its writable
// segments, or, without a hot section, every loadable segment (code, read-only data, data);
// returns the bytes locked. The daemon calls it after TrimColdCode(true), not at the start:
// the start-up's own code and the whole hot section are then never resident at once (the
// resident peak was start-up's). Errors: kSys from mlock (EPERM, ENOMEM past RLIMIT_MEMLOCK
// without CAP_IPC_LOCK). Less the variant groups this CPU does not run (HotVariants), which
// left_out, when given, receives.
Result<std::size_t> LockExecutable(HotVariants* left_out = nullptr) noexcept;

// The footprint (issue 13): the executable's read-only pages outside the hot section (code
// the start-up, the command line and the config parser need, and the kill path does not) are
// unmapped (MADV_DONTNEED) and dropped from the page cache (POSIX_FADV_DONTNEED), so only what
// runs after start stays resident. A fault there maps the cached pages of the 64 KiB around it
// too (fault-around): the code that runs after start belongs in the hot section (cmake/hot.ld).
// relock=false: at the start of `reaperd run`, before anything is locked. relock=true: after
// start-up, before the kill path's warm-up and drill; the range is unlocked, dropped, and locked
// again as it is touched (what the warm-up, the drill and the ticks touch stays locked). The hot
// section, the kill path's own layers (cmake/hot.ld), stays locked whole. Without a hot section
// (builds not linked with the script) it does nothing. Returns the bytes dropped.
Result<std::size_t> TrimColdCode(bool relock) noexcept;

// Best effort: each step may fail (unprivileged, RLIMIT_MEMLOCK); the caller logs it.
SelfProtection ProtectSelf(bool lock_memory) noexcept;

// Sets the calling thread's nice value (threads it creates later inherit it). The daemon's
// loop thread takes the reapers' boost once they run: it is the thread that decides a kill,
// and a hog at nice 0 on every CPU must not delay that decision. Needs CAP_SYS_NICE to lower.
Result<void> SetThreadNice(int nice) noexcept;

}  // namespace reaperd::sys
