// The memory files of a cgroup, v2 and v1. Bytes everywhere.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

#include "base/error.h"

namespace reaperd::proc {

constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
// v1 reports "no limit" as PAGE_COUNTER_MAX * page size (9223372036854771712 on x86_64);
// any limit at or above this is treated as unlimited.
constexpr std::uint64_t kV1UnlimitedFloor = 1ULL << 62;

// One value: a number, or "max" (v2) which gives kUnlimited. v1 values >= kV1UnlimitedFloor
// also give kUnlimited. A trailing newline is allowed.
Result<std::uint64_t> ParseCgroupValue(std::string_view text) noexcept;

// v2 memory.events (and memory.events.local).
struct MemoryEvents {
  std::uint64_t low = 0, high = 0, max = 0, oom = 0, oom_kill = 0, oom_group_kill = 0;
};
Result<MemoryEvents> ParseMemoryEvents(std::string_view text) noexcept;

// v2 memory.stat (the keys reaperd uses; unknown keys are skipped).
struct MemoryStatV2 {
  std::uint64_t anon = 0, file = 0, kernel = 0, shmem = 0, sock = 0, file_mapped = 0;
  std::uint64_t active_file = 0, inactive_file = 0, slab_reclaimable = 0;
  std::uint64_t workingset_refault_anon = 0, workingset_refault_file = 0;
  std::uint64_t pgscan = 0, pgsteal = 0, pgmajfault = 0;
};
Result<MemoryStatV2> ParseMemoryStatV2(std::string_view text) noexcept;

// v1 memory.stat. The total_* keys include descendants; reaperd uses them.
struct MemoryStatV1 {
  std::uint64_t cache = 0, rss = 0, shmem = 0, mapped_file = 0, swap = 0;
  std::uint64_t total_cache = 0, total_rss = 0, total_shmem = 0, total_swap = 0;
  std::uint64_t total_inactive_file = 0, total_active_file = 0, total_pgmajfault = 0;
  std::uint64_t hierarchical_memory_limit = kUnlimited;
};
Result<MemoryStatV1> ParseMemoryStatV1(std::string_view text) noexcept;

// The file LRU's two counters of a memory.stat (v1: total_inactive_file and
// total_active_file, which count the descendants as v2's do), found by their keys alone: no
// other line is parsed (a sample's reclaimable cache reads these at each sample, and the
// whole file's parse was most of the daemon's instructions), so a line in a format this
// parser does not know cannot void them. Missing when a key is absent.
struct FileLru {
  std::uint64_t inactive = 0, active = 0;
};
Result<FileLru> ParseMemoryStatFileLru(std::string_view text, bool v1) noexcept;

// v1 memory.oom_control.
struct OomControl {
  bool oom_kill_disable = false;
  bool under_oom = false;
  std::uint64_t oom_kill = 0;  // absent before 4.13
};
Result<OomControl> ParseOomControl(std::string_view text) noexcept;

}  // namespace reaperd::proc
