// The mm sharers of a cgroup scope's top candidates, found before the kill is decided.
// A victim may share its mm with a process anywhere on the host (clone with CLONE_VM and
// without CLONE_THREAD: vfork, some sandboxes and runtimes), and the kernel's
// __oom_kill_process kills those too. Finding them takes one kcmp per process on the host:
// at 10,000 processes that walk was most of a cgroup scope's decision (15 ms of 16).
// So while a scope is at warn or above, the engine has its top candidates watched: one walk
// of /proc records each one's sharers, after reading the PID cursor (/proc/loadavg's last
// field, the PID allocated last). A process comes to share an mm only by being created
// (clone), so at the kill the sharers are among those the walk recorded and the PIDs
// allocated since: the range between the walk's cursor and the current one, each probed by
// one kcmp. The watch vouches only while that range is short (kMaxProbe) and the walk
// young (kMaxAgeNs): PIDs are allocated cyclically up to pid_max, and a range that wrapped
// all the way round in between would look short; beyond either bound the kill walks /proc.
// Fixed size, no allocation after construction; not thread safe (the loop thread's).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include "base/error.h"
#include "kill/process_ops.h"
#include "policy/rank.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::kill {

class SharerWatch {
 public:
  static constexpr std::size_t kEntries = 8;      // candidates watched at once (all scopes)
  static constexpr std::size_t kMaxSharers = 16;  // recorded per candidate; more: not vouched
  static constexpr std::size_t kMaxProbe = 4096;  // PIDs allocated since the walk, at most
  // How old a walk may be: the time a whole cycle of PIDs (pid_max allocations) takes at
  // kPidsPerSecond, a sustained clone storm; 2 s with the kernel's default pid_max (32768),
  // 30 s with systemd's (4194304). A watch is walked again at half its age.
  static constexpr std::int64_t kPidsPerSecond = 16384;
  static constexpr sys::Nanos kMinAgeNs = 2 * sys::kSecond;
  static constexpr sys::Nanos kMaxAgeNs = 30 * sys::kSecond;

  SharerWatch(sys::SystemView& view, ProcessOps& ops);

  // Walks /proc once for those of ids (at most kEntries) the watch does not vouch for now.
  // scratch: the /proc listing buffer (reserved by the caller). Returns how many were walked for.
  std::size_t Watch(std::span<const policy::ProcessId> ids, sys::Nanos now,
                    std::vector<pid_t>& scratch) noexcept;

  // For the kill: calls visit(pid, probed) for every PID that may share id's mm: the
  // sharers the walk recorded (probed=false) and every PID allocated since (probed=true: it
  // may name a thread, or nothing). Stops when visit returns false. Returns false, without
  // a call, when the watch cannot vouch (id not watched, or the walk too old, or too many
  // PIDs allocated since, or the cursor unreadable): the caller then walks /proc.
  template <class F>
  bool ForEachCandidate(const policy::ProcessId& id, sys::Nanos now, F&& visit) noexcept;

  std::uint64_t walks() const noexcept { return walks_; }
  // Kills whose sharers the watch vouched for (no walk of /proc before the signal).
  std::uint64_t vouched() const noexcept { return vouched_; }
  // The age past which a walk no longer vouches (from pid_max, see kPidsPerSecond).
  sys::Nanos max_age_ns() const noexcept { return max_age_ns_; }

 private:
  struct Entry {
    policy::ProcessId id;
    sys::Nanos walked_at = 0;
    pid_t cursor = 0;  // the last PID allocated before the walk began
    std::array<pid_t, kMaxSharers> sharers{};
    std::size_t count = 0;
    bool valid = false;
  };
  Result<pid_t> Cursor() noexcept;
  // PIDs allocated after `from` up to `to` (cyclic: 1..pid_max-1).
  std::size_t RangeLength(pid_t from, pid_t to) const noexcept;
  const Entry* Vouching(const policy::ProcessId& id, sys::Nanos now, pid_t cursor,
                        sys::Nanos max_age) const noexcept;
  // The entry to walk id into: its own, else an empty one, else the oldest; none in taken.
  Entry* Slot(const policy::ProcessId& id, std::span<Entry* const> taken) noexcept;

  sys::SystemView& view_;
  ProcessOps& ops_;
  pid_t pid_max_ = 32768;
  sys::Nanos max_age_ns_ = kMinAgeNs;
  std::array<Entry, kEntries> entries_{};
  std::uint64_t walks_ = 0;
  std::uint64_t vouched_ = 0;
};

template <class F>
bool SharerWatch::ForEachCandidate(const policy::ProcessId& id, sys::Nanos now,
                                   F&& visit) noexcept {
  auto cursor = Cursor();
  if (!cursor) return false;
  const Entry* e = Vouching(id, now, *cursor, max_age_ns_);
  if (e == nullptr) return false;
  ++vouched_;
  for (std::size_t i = 0; i < e->count; ++i) {
    if (!visit(e->sharers[i], false)) return true;
  }
  // The PIDs allocated since the walk, in allocation order; after pid_max - 1 the kernel
  // starts again from the bottom (300 in the initial namespace, 1 in others).
  pid_t pid = e->cursor;
  for (std::size_t n = RangeLength(e->cursor, *cursor); n > 0; --n) {
    pid = pid + 1 >= pid_max_ ? 1 : pid + 1;
    if (!visit(pid, true)) return true;
  }
  return true;
}

}  // namespace reaperd::kill
