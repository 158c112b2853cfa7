// The memory limits that bind a cgroup: its own and every ancestor's, as the kernel charges
// a page to each level up to the root and reclaims (or OOM-kills) at the first level over
// its limit. One walk serves the ranking (the OOM domain's size) and the sampler (the
// headroom left before reclaim, throttling or the memcg OOM killer). Allocation-free.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "proc/cgroup_memory.h"
#include "sys/clock.h"
#include "sys/held_file.h"
#include "sys/system_view.h"

namespace reaperd::scan {

struct CgroupLimits {
  // The smallest memory.max (v1: memory.limit_in_bytes) on the path.
  std::uint64_t max = proc::kUnlimited;
  // The smallest min(memory.high, memory.max) on the path: where the kernel starts to
  // throttle (v2). v1 has no such knob: equal to max.
  std::uint64_t ceiling = proc::kUnlimited;
  // The smallest memory.max + min(memory.swap.max, swap_total) on the path (v2; v1: max):
  // what the kernel's badness() divides by. Read only with LimitWalk::swap.
  std::uint64_t max_with_swap = proc::kUnlimited;
  // The least headroom of any level with a ceiling: its ceiling less its usage, plus its
  // reclaimable page cache (inactive + half the active file pages), at most its ceiling.
  // Read only with LimitWalk::headroom; kUnlimited when no level has a ceiling.
  std::uint64_t available = proc::kUnlimited;
  // The cgroup's own ceiling (kUnlimited: none) and, read with LimitWalk::headroom when it has
  // one, its own usage (descendants included): what a v1 usage threshold watches.
  std::uint64_t own_ceiling = proc::kUnlimited;
  std::uint64_t own_usage = 0;
};

struct LimitWalk {
  bool swap = false;      // fill max_with_swap (reads memory.swap.max)
  bool headroom = false;  // fill available (reads usage and memory.stat of limited levels)
  std::uint64_t swap_total = 0;
  // A level whose ceiling less its usage is at least this share of its ceiling takes its
  // reclaimable cache from a read under HeldCgroupLimits::kCacheReuseNs old (HeldCgroupLimits
  // only); 0: memory.stat is read at every walk.
  double cache_reuse_free_share = 0;
};

// What HeldCgroupLimits remembers of one level between walks.
struct LevelMemo {
  sys::Nanos unlimited_at = -1;  // when its limits last read unlimited (-1: not so)
  sys::Nanos cache_at = -1;      // when its reclaimable cache was last read (-1: not read)
  std::uint64_t cache = 0;
};

// Walks from `cgroup` ("/a/b", relative to the hierarchy's root) up to, not including, the
// root. The cgroup's own limit file must be readable (else its error: the scope is gone); an
// ancestor's unreadable file is skipped. `scratch` holds memory.stat (4 KiB or more).
Result<CgroupLimits> ReadCgroupLimits(sys::SystemView& view, std::string_view cgroup,
                                      const LimitWalk& walk, std::span<char> scratch) noexcept;

// The same walk over files held open (sys::HeldFile), for a cgroup read again and again (a
// scope's sampler): each file of each level is opened at its first read and then read with a
// pread, in the budget given (a file without a place is read by path). Its error when the
// cgroup is gone is the by-path walk's.
class HeldCgroupLimits {
 public:
  HeldCgroupLimits(std::string_view cgroup, sys::CgroupVersion version,
                   sys::HeldFile::Budget* budget);
  // An ancestor whose limits all read unlimited binds nothing, and a limit set on it is an
  // administrator's change: its files are read again kUnlimitedRecheckNs after (now is the
  // sample's time), not at every read. A limited ancestor and the cgroup's own limits are read
  // every time: a limit raised to save a workload is seen at once.
  static constexpr sys::Nanos kUnlimitedRecheckNs = sys::kSecond;
  // A level far from its ceiling (LimitWalk::cache_reuse_free_share) reads memory.stat, the
  // kernel's costliest file of a sample, at most this often.
  static constexpr sys::Nanos kCacheReuseNs = sys::kSecond;
  Result<CgroupLimits> Read(sys::SystemView& view, const LimitWalk& walk, std::span<char> scratch,
                            sys::Nanos now) noexcept;
  // The cgroup's own usage alone (memory.current; v1: memory.usage_in_bytes): one pread.
  Result<std::uint64_t> ReadOwnUsage(sys::SystemView& view) noexcept;

 private:
  // Per level: the limit, memory.high, memory.swap.max, the usage and memory.stat.
  static constexpr int kFiles = 5;
  std::string cgroup_;
  bool v1_;
  std::vector<sys::HeldFile> files_;  // kFiles per level, from the cgroup up to the root
  std::vector<LevelMemo> memo_;       // one per level
};

}  // namespace reaperd::scan
