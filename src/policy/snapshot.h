// A snapshot: every process of one scope at one instant, with what the ranking needs.
// Built by scan/ (which does the reading); here it is plain data.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "base/small_string.h"
#include "policy/scope.h"

namespace reaperd::policy {

// What a process's cgroup (or an ancestor) asks of OOM killers through extended attributes:
// systemd's ManagedOOMPreference= (user.oomd_omit, user.oomd_avoid, honoured only on a cgroup
// owned by root or by the owner of the scope's cgroup, as systemd-oomd does) and oomd's own
// trusted.oomd_prefer / trusted.oomd_avoid (trusted.* can be set by root alone).
enum OomdPreference : std::uint8_t {
  kOomdOmit = 1,    // never chosen (protected)
  kOomdAvoid = 2,   // chosen only when no other candidate is left
  kOomdPrefer = 4,  // chosen before every other candidate
};

struct Process {
  pid_t pid = 0;
  std::uint64_t starttime = 0;  // /proc/PID/stat field 22: with pid, the process identity
  SmallString<64> comm;
  std::string cmdline;  // space-joined, bounded by rank.cmdline_max; may be empty
  std::string exe;      // /proc/PID/exe target; empty when unreadable
  std::string cgroup;   // memory cgroup path (v2 unified, or the v1 memory hierarchy)
  uid_t uid = 0;        // real uid
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
  std::uint32_t flags = 0;
  bool kernel_thread = false;
  bool has_mm = false;  // false for kernel threads and zombies
  std::int64_t threads = 0;
  // Memory, bytes.
  std::uint64_t rss_anon = 0;
  std::uint64_t rss_file = 0;
  std::uint64_t rss_shmem = 0;
  std::uint64_t swap = 0;
  std::uint64_t pagetables = 0;
  int oom_score_adj = 0;
  std::uint8_t oomd = 0;  // OomdPreference bits of its cgroup
  // The kernel's own /proc/PID/oom_score (0..2000), -1 when unread; for cross-checks only.
  int kernel_oom_score = -1;
  // Carried over unread by a refresh (Scanner::RefreshInto): its figures are the last whole
  // read's.
  bool carried = false;

  std::uint64_t rss() const noexcept { return rss_anon + rss_file + rss_shmem; }
  // What the process holds that the system counts as used: anonymous and shared memory
  // (neither is in MemAvailable) and swap. Its file pages are page cache, available anyway.
  std::uint64_t charged() const noexcept { return rss_anon + rss_shmem + swap; }
};

struct Snapshot {
  Scope scope;
  std::vector<Process> processes;
  // The kernel's "totalpages" for this scope: RAM+swap for the system, the limit for a
  // cgroup (RAM+swap when the cgroup has no limit).
  std::uint64_t total_pages = 0;
  std::uint64_t page_size = 4096;
  std::int64_t taken_at_ns = 0;  // monotonic
  // When every entry was last read (a refresh re-reads only some: see Scanner::RefreshInto);
  // equal to taken_at_ns after a full scan.
  std::int64_t full_at_ns = 0;
  int reused = 0;       // entries a refresh carried over unread
  int reread_held = 0;  // entries a refresh read again through held files (Scanner::Hold)
  // What the refreshes (and re-reads) since the whole read at full_at_ns saw change, in
  // charged() bytes: the new processes' all, the re-read ones' growth (negative: shrinking)
  // less what the processes gone since held. Used memory that grew beyond it grew in a
  // carried-over process, or outside any. 0 after a whole read.
  std::int64_t seen_growth_bytes = 0;
  // What could not be read, for the "not running as root" warning.
  int unreadable = 0;
  int vanished = 0;
  // The task census (/proc/loadavg) read just before the listing of /proc these entries go
  // with, or carried on by a refresh that probed the PIDs allocated since instead of listing
  // (Scanner::RefreshInto). census_pid < 0: none (a cgroup scope's listing, or unreadable).
  pid_t census_pid = -1;
  std::uint64_t census_tasks = 0;
  // How many PIDs such a refresh probed; -1 when it listed /proc.
  int probed = -1;
};

// The entry of pid among processes sorted by pid (as the scanner leaves a snapshot's), or
// processes.end(). Const or not, as processes is.
template <class Processes>
auto FindByPid(Processes& processes, pid_t pid) noexcept {
  auto it = std::lower_bound(processes.begin(), processes.end(), pid,
                             [](const Process& q, pid_t v) { return q.pid < v; });
  return it != processes.end() && it->pid == pid ? it : processes.end();
}

}  // namespace reaperd::policy
