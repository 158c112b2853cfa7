// The scanner turns a SystemView into a policy::Snapshot of one scope. It is the only
// code that reads per-process files. A process that vanishes mid-scan is dropped (counted
// in Snapshot::vanished). One whose identity (stat), oom_score_adj or cgroup cannot be read
// whole is dropped and counted in Snapshot::unreadable. One whose status cannot be read
// stays, its memory taken from statm or stat (its uid then reads kUnknownUid), and is
// counted in Snapshot::unreadable too.
// ScanInto() refills a caller-owned snapshot in place, so the kill path's scan does not
// allocate once the snapshot and the scanner are warm (see docs/architecture.md).
#pragma once

#include <sys/types.h>

#include <array>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "config/config.h"
#include "policy/snapshot.h"
#include "proc/loadavg.h"
#include "scan/cgroup_prefs.h"
#include "sys/clock.h"
#include "sys/held_file.h"
#include "sys/system_view.h"

namespace reaperd::scan {

// The uid of a process whose status could not be read ((uid_t)-1 is never a real uid).
inline constexpr uid_t kUnknownUid = static_cast<uid_t>(-1);

struct ScanOptions {
  std::uint32_t cmdline_max = 4096;
  bool read_exe = true;
  bool read_kernel_oom_score = true;
  // A cgroup scope's totalpages as a recent scan of it read them (0: read them): the kill's
  // scan then reads neither /proc/meminfo nor the limits on the cgroup's path. The limits
  // change rarely, and the total only scales oom_score_adj (Snapshot::total_pages).
  std::uint64_t known_total_pages = 0;
};

// The options for the scan the kill path runs. Reading /proc/PID/cmdline takes each
// process's mmap lock, which a hog that maps memory holds for write again and again, so
// under pressure it stalls the scan for seconds: the command line is read only when a rule
// matches on it. exe stays (the link is read under RCU, not the mmap lock) because it
// finds the processes sharing the victim's mm; the kernel's oom_score is not needed.
ScanOptions KillScanOptions(const config::RankConfig& rank) noexcept;

// Not thread-safe: one Scanner per thread (it keeps reusable buffers).
class Scanner {
 public:
  Scanner(sys::SystemView& view, const sys::Clock& clock);

  // Reads every process of the scope: all of /proc for the system, the cgroup.procs of the
  // cgroup and its descendants for a cgroup scope. Fails only when the processes cannot be
  // listed or the scope's totals cannot be read. A fresh snapshot each call: for tools and tests.
  Result<policy::Snapshot> Scan(const policy::Scope& scope, const ScanOptions& options);

  // The same into out, overwriting its processes in place: their strings and the vector keep
  // their capacity, so a re-scan of as many processes (with paths no longer than before)
  // makes no heap allocation. On failure out is left partly filled.
  Result<void> ScanInto(const policy::Scope& scope, const ScanOptions& options,
                        policy::Snapshot& out);

  // The kill path's cheap re-scan of a scope that prev already holds (same scope, sorted by
  // pid, as ScanInto leaves it): lists the scope's pids, reads whole only the processes new
  // since prev and those named in reread (the top candidates), and moves every other entry
  // over from prev unread, so its cost is the listing plus reread.size() + new processes,
  // not the number of processes. prev's entries are swapped out (its contents are then
  // unspecified). out.seen_growth_bytes counts on from prev's (both go with prev's whole
  // read). Falls back to ScanInto when prev holds another scope. No allocation once out is
  // warm.
  // For the system scope it lists nothing when prev's task census vouches for its entries:
  // /proc/loadavg names the last PID allocated and counts the tasks, so when at most
  // kMaxProbe PIDs were allocated since prev's census, each of them is probed instead, and
  // when the tasks counted then plus those probed now are the tasks counted now, no process
  // of prev exited since (out.probed says how many were probed; -1: /proc was listed). Used
  // only in the initial PID namespace, where the count and /proc hold the same tasks.
  Result<void> RefreshInto(const policy::Scope& scope, const ScanOptions& options,
                           std::span<const pid_t> reread, policy::Snapshot& prev,
                           policy::Snapshot& out);
  static constexpr pid_t kMaxProbe = 64;

  // The kill path's second look after a refresh (snap is RefreshInto's output): reads again,
  // in place, the entries of snap named in pids (carried-over candidates that may have grown
  // past the first: policy::CarriedRivals), adds their growth since their last read to
  // snap.seen_growth_bytes and clears their carried flags. One gone, unreadable or out of
  // the scope since is dropped (what it held counts as freed). Lists nothing, so its cost is
  // pids.size() reads. No allocation once warm.
  void RereadInto(const policy::Scope& scope, const ScanOptions& options,
                  std::span<const pid_t> pids, policy::Snapshot& snap);

  // Reads one process (pid) into p (every field overwritten; its strings keep their
  // capacity); false if it vanished or is unreadable (then counted in *unreadable, which may
  // be null).
  bool ReadProcess(pid_t pid, const ScanOptions& options, policy::Process& p, int* unreadable);

  // The scope's totalpages (see Snapshot::total_pages).
  Result<std::uint64_t> TotalPages(const policy::Scope& scope);

  // The processes RefreshInto will be asked to re-read (the top candidates, at most
  // kMaxHeld): their stat, status, oom_score_adj and cgroup files are held open, so that the
  // kill's re-read of each is four preads instead of a directory and four files opened,
  // read and closed (issue 13). Opens what is new in pids, closes what left it; no
  // allocation. Not for the kill path itself: the engine calls it after a tick. A view
  // that cannot hold files (SystemView::OpenAt unsupported) holds nothing.
  void Hold(std::span<const pid_t> pids) noexcept;
  std::size_t held() const noexcept;
  static constexpr std::size_t kMaxHeld = 8;
  // A held file of pid, for the victim builder's checks right before the signal (a pread
  // instead of an open, a read and a close): -1 when pid is not held. The file names the
  // process it was opened on, whatever the PID names since (a read of it fails once that
  // process is gone).
  enum class HeldFile : unsigned char { kStat, kAdj };
  int HeldFd(pid_t pid, HeldFile which) const noexcept;

 private:
  struct Held {
    pid_t pid = 0;
    sys::UniqueFd stat, status, adj, cgroup;
  };
  Held* FindHeld(pid_t pid) noexcept;
  // Re-reads p, a carried entry of the same pid, through its held files: identity, memory,
  // oom_score_adj and cgroup (exe and cmdline are kept: they change only with an exec, which
  // changes comm too). False if it vanished or is unreadable (counted in *unreadable as
  // ReadProcess does), or, with *again set, if it must be read whole (another start time or
  // comm, a status not readable whole).
  bool RereadHeld(Held& h, const ScanOptions& options, policy::Process& p, int* unreadable,
                  bool* again);
  // Fills pids_ (sorted, unique) with the PIDs that may belong to the scope; out's task
  // census when it lists /proc.
  Result<void> ListCandidatePids(const policy::Scope& scope, policy::Snapshot& out);
  // Fills the snapshot's header (scope, page size, counters, total pages) for a new scan;
  // a refresh passes the snapshot it refreshes (prev), whose total the system scope keeps,
  // and a cgroup scope's scan the total its caller knows (ScanOptions::known_total_pages).
  Result<void> Begin(const policy::Scope& scope, policy::Snapshot& out,
                     const policy::Snapshot* prev = nullptr, std::uint64_t known_total_pages = 0);
  Result<proc::TaskCensus> Census() noexcept;
  bool InitialPidNamespace() noexcept;
  // RefreshInto's listing when prev's census vouches (see there): pids_ is prev's PIDs and
  // the new processes' (probe_new_), probe_known_ the PIDs allocated since that prev holds
  // (reused, or alive since before the last wrap: read again). False: list /proc.
  bool ProbeSinceCensus(const policy::Snapshot& prev, policy::Snapshot& out) noexcept;

  sys::SystemView& view_;
  const sys::Clock& clock_;
  std::uint64_t page_size_;
  std::vector<pid_t> pids_;        // reused by every scan
  std::vector<char> cmdline_raw_;  // grown to the largest cmdline_max asked for
  CgroupPrefs prefs_;              // the cgroups' OOM preferences, cached between whole reads
  uid_t trusted_owner_ = 0;        // the owner of the last scope's cgroup (see CgroupPrefs)
  static constexpr sys::Nanos kPrefsMaxAgeNs = 5 * sys::kSecond;
  sys::Nanos prefs_cleared_ns_ = 0;
  // During a refresh, the entry the process being re-read had (its cgroup's preference is
  // carried over when the cgroup is the same); null otherwise.
  const policy::Process* carry_ = nullptr;
  policy::Process reread_before_;  // RereadInto's copy of the entry it reads again
  std::array<Held, kMaxHeld> held_{};
  std::vector<pid_t> probe_new_, probe_known_;          // ProbeSinceCensus's, kMaxProbe reserved
  int initial_pid_ns_ = -1;                             // InitialPidNamespace(), once known
  sys::HeldFile loadavg_{sys::Root::kProc, "loadavg"};  // the census, read twice a refresh
};

}  // namespace reaperd::scan
