// One victim's reap, as a state machine the reaper threads step through: wait out the
// SIGTERM grace (then SIGKILL), help the victim exit (SIGCONT, thaw, priority), call
// process_mrelease with bounded retries, and watch for exit and for the memory to come
// back. Release is judged on the victim itself, never on a scope-wide figure (file and shmem
// pages it mapped may stay charged to the scope): process_mrelease reaped its mm, or every
// process of the group using the mm exited or dropped it and the mm has no users left (seen
// through mm_fd; without it, unless process_mrelease said EINVAL: a user of the mm outside
// the group is alive and not dying, so the group's exit frees nothing). Step() never
// sleeps longer than a short poll, so a job is easy to test with a fake clock and a thread is never
// tied to one victim except inside a syscall.
#pragma once

#include "config/config.h"
#include "kill/kill_result.h"
#include "kill/killer.h"
#include "kill/process_ops.h"
#include "kill/victim.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::kill {

enum class ReapPhase : std::uint8_t { kGrace, kHelp, kRelease, kDone };

// What the reaper needs from its environment, bundled to keep signatures short.
struct ReapContext {
  sys::SystemView& view;
  ProcessOps& ops;
  Killer& killer;
  const config::KillConfig& config;
  const sys::Clock& clock;  // read after each syscall, so t_exit/t_reaped are exact
  std::uint64_t page_size = 4096;
};

struct ReapJob {
  Victim victim;
  KillResult result;
  ReapPhase phase = ReapPhase::kRelease;
  sys::Nanos grace_until = 0;    // kGrace: SIGKILL at this time
  int retries = 0;               // EAGAIN/EINTR so far
  bool mrelease_done = false;    // stop calling process_mrelease (success, gone, or gave up)
  bool mm_reaped = false;        // process_mrelease returned 0
  bool released = false;         // the memory is back (result.t_reaped set)
  bool exited = false;           // every member exited (result.t_exit set)
  bool mm_pinned = false;        // process_mrelease said EINVAL on the mm: a user outside lives
  std::uint64_t mm_dropped = 0;  // bit i: member i has no mm any more (process_mrelease ESRCH)
  // The victim's mm, taken before the signal (ProcessOps::OpenMm), to tell once the group is
  // gone whether a user outside it keeps the mm; invalid when it could not be taken.
  sys::UniqueFd mm_fd;

  // Prepares a job after Killer::Signal: the phase follows the first signal sent.
  void Start(sys::Nanos now, const config::KillConfig& config) noexcept;
  // Does one round of work at `now`. Returns true when the job is finished (released
  // and exited); else sets *next_at, when it wants to run again.
  bool Step(ReapContext& ctx, sys::Nanos now, sys::Nanos* next_at) noexcept;

 private:
  void Help(ReapContext& ctx) noexcept;
  void Release(ReapContext& ctx) noexcept;
  void CheckExit(ReapContext& ctx, int wait_ms) noexcept;
  // True when every member using the victim's mm (not the process-group widening) has
  // exited or dropped its mm.
  bool MmUsersGone() const noexcept;
  void MarkReleased(sys::Nanos now, std::uint64_t bytes, FreedBy by) noexcept;
};

}  // namespace reaperd::kill
