// What became of one victim, as a plain value the daemon logs and reports. Times are
// monotonic nanoseconds (sys::Clock); 0 means "did not happen".
#pragma once

#include <cstdint>

#include "base/error.h"
#include "config/config.h"
#include "kill/victim.h"
#include "sys/clock.h"

namespace reaperd::kill {

enum class Outcome : std::uint8_t {
  kReaped,          // memory released (process_mrelease reaped the mm)
  kExited,          // every process using the mm exited (or dropped it): the mm is gone
  kMissedDeadline,  // not released by the deadline: skipped, a stall
  kStale,           // the chosen PID named another process by signal time: nothing sent
  kDryRun,          // everything but the signal
  kFailed,          // no member could be signalled (a miss: skipped, counted on the ladder)
};
const char* OutcomeName(Outcome o) noexcept;

// How bytes_freed was measured: process_mrelease (rss before minus what statm still shows),
// or the exit of every user of the mm (the victim's rss at the scan).
enum class FreedBy : std::uint8_t { kNone, kMrelease, kExit };
const char* FreedByName(FreedBy f) noexcept;

// The end of the ladder a run of misses pulled. The system scope pulls the host-wide sysrq
// action of kill.last_resort; a cgroup scope always pulls its own cgroup kill, never a
// host-wide action (one stuck container must not take down or kill across the host).
enum class LastResortAction : std::uint8_t { kNone, kKernelOom, kPanic, kReboot, kKillCgroup };
const char* LastResortName(LastResortAction a) noexcept;

struct KillResult {
  std::uint64_t seq = 0;  // the victim's number, given by Reaper::Submit
  VictimIdentity victim;
  ScopeKey scope;
  int members = 0;            // processes in the victim group
  int members_signalled = 0;  // including cgroup widening
  int members_stale = 0;
  int errors = 0;
  Error first_error{};
  int signal = 0;          // first signal sent (SIGKILL, or SIGTERM with a grace period)
  bool escalated = false;  // SIGTERM grace ran out and SIGKILL followed
  sys::Nanos t_decision = 0;
  sys::Nanos t_signal = 0;
  sys::Nanos t_exit = 0;    // every member exited (pidfd readable)
  sys::Nanos t_reaped = 0;  // memory released
  std::uint64_t bytes_freed = 0;
  FreedBy freed_by = FreedBy::kNone;
  int mrelease_calls = 0;
  int mrelease_einval = 0;  // "not dying yet": a sharer outside the group keeps the mm
  bool thawed = false;      // a frozen cgroup was thawed to let it die
  Outcome outcome = Outcome::kFailed;
  // A late report for a victim already reported as kMissedDeadline (it finally went, or
  // the reaper gave up on it).
  bool after_deadline = false;
  LastResortAction last_resort = LastResortAction::kNone;  // pulled because of this miss
  bool last_resort_failed = false;  // it could not act (sysrq write refused, cgroup unreadable...)
  Error last_resort_error{};
  int last_resort_signalled = 0;  // kKillCgroup: processes of the cgroup signalled
};

}  // namespace reaperd::kill
