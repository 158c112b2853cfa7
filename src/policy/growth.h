// What each process grew during a pressure episode, and which application it belongs to
// (issue 15: "blame what grows, counted per application"). Pure: the engine feeds it the
// snapshots its scans already read, so growth costs no /proc read of its own.
//
// The baseline of a process (pid + start time) is its rss at its first sighting in the
// episode: the scans that run while the scope is at warn or above. A process started since
// the episode's first scan grew all of its rss during the episode (baseline 0). Growth is
// rss now minus the baseline, never negative; a process with no baseline (a full table)
// grew nothing, so growth can only ever point at what was seen to grow.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "policy/snapshot.h"

namespace reaperd::policy {

class GrowthBaseline {
 public:
  // The table is sized at first use (Observe with may_grow); capacity 0 until then.
  GrowthBaseline() = default;

  // Records the rss of every process of snap not yet known (its baseline). The first call
  // of an episode also marks its start: the newest start time seen. may_grow lets the table
  // allocate to hold snap (never on the kill path: there it records what fits).
  void Observe(const Snapshot& snap, bool may_grow);
  // The episode ended: forgets every baseline (the table keeps its capacity).
  void Reset() noexcept;
  bool started() const noexcept { return started_; }

  // Bytes p's rss grew since its baseline: 0 before the episode's first observation, for a
  // process never recorded (the table was full) or one that shrank.
  std::uint64_t Growth(const Process& p) const noexcept;

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return slots_.size(); }
  // Processes not recorded because the table was full, this episode.
  std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  struct Slot {
    std::uint64_t starttime = 0;
    pid_t pid = 0;  // 0: empty
    std::uint32_t rss_pages = 0;
  };
  const Slot* Find(pid_t pid, std::uint64_t starttime) const noexcept;
  bool Insert(pid_t pid, std::uint64_t starttime, std::uint64_t rss_bytes) noexcept;
  void Rehash(std::size_t capacity);

  std::vector<Slot> slots_;  // open addressing, linear probing, a power of two
  std::size_t size_ = 0;
  bool started_ = false;
  std::uint64_t born_after_ = 0;  // start times above this are new in the episode
  std::uint64_t page_size_ = 4096;
  std::uint64_t dropped_ = 0;
};

// True when a cgroup holds one application (so the cgroup is the application): a systemd
// service or app scope/slice unit, or a container. Anything else (the root, a slice, a
// logind session-N.scope, a terminal's vte-spawn-*.scope, a plain directory) may hold many,
// and its processes are grouped by process tree.
bool CgroupIsOneApplication(std::string_view cgroup) noexcept;

}  // namespace reaperd::policy
