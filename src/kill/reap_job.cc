#include "kill/reap_job.h"

#include <algorithm>
#include <cerrno>
#include <csignal>

namespace reaperd::kill {

namespace {

constexpr sys::Nanos kExitPoll = 5 * sys::kMilli;  // cadence while only exit is awaited
constexpr int kExitWaitMs = 10;                    // a short blocking wait on the main pidfd

std::uint64_t Minus(std::uint64_t a, std::uint64_t b) noexcept { return a > b ? a - b : 0; }

}  // namespace

void ReapJob::Start(sys::Nanos now, const config::KillConfig& config) noexcept {
  if (result.signal == SIGTERM) {
    phase = ReapPhase::kGrace;
    grace_until = now + static_cast<sys::Nanos>(config.signal_grace_ms) * sys::kMilli;
  } else {
    phase = ReapPhase::kHelp;
  }
}

void ReapJob::MarkReleased(sys::Nanos now, std::uint64_t bytes, FreedBy by) noexcept {
  if (released) return;
  released = true;
  result.t_reaped = now;
  result.bytes_freed = bytes;
  result.freed_by = by;
}

void ReapJob::Help(ReapContext& ctx) noexcept {
  for (Member& m : victim.active()) {
    if (m.exited) continue;
    // A stopped process cannot die until it runs; a frozen cgroup (v1 freezer) holds
    // even SIGKILL; a low priority slows exit_mmap. Undo all three, best effort.
    if (!ctx.killer.dry_run()) {
      (void)ctx.ops.Send(m.pidfd.get(), SIGCONT);
      if (ctx.ops.Unfreeze(m.pid)) result.thawed = true;
      ctx.ops.Boost(m.pid);
    }
  }
}

void ReapJob::Release(ReapContext& ctx) noexcept {
  if (mrelease_done) return;
  bool all_done = true;
  std::size_t i = 0;
  for (Member& m : victim.active()) {
    const std::uint64_t bit = std::uint64_t{1} << (i++ % 64);
    if (m.released) continue;
    ++result.mrelease_calls;
    auto r = ctx.ops.Mrelease(m.pidfd.get());
    if (r) {
      m.released = true;
      if (!mm_reaped && m.role != MemberRole::kProcessGroup) {
        mm_reaped = true;
        // statm reads 0 once the mm is gone; what it still shows was not freed (file
        // pages of shared mappings, for one).
        auto after = ReadRssBytes(ctx.view, victim.members[0].pid, ctx.page_size);
        MarkReleased(ctx.clock.Now(), Minus(victim.identity.rss_bytes, after ? *after : 0),
                     FreedBy::kMrelease);
      }
      continue;
    }
    int e = r.error().sys_errno;
    if (e == ESRCH) {
      m.released = true;  // past exit_mm: its own reference to the mm is gone
      mm_dropped |= bit;
    } else if (e == EAGAIN || e == EINTR) {
      if (++retries > ctx.config.mrelease_retries) m.released = true;  // give up; exit will do
      all_done = false;
    } else if (e == EINVAL) {
      // Not dying yet: a process sharing the mm is still alive. Try again shortly, until
      // the deadline decides.
      ++result.mrelease_einval;
      if (m.role != MemberRole::kProcessGroup) mm_pinned = true;
      all_done = false;
    } else {
      victim.NoteError(r.error());  // ENOSYS or worse: rely on exit alone
      m.released = true;
    }
  }
  mrelease_done = all_done;
}

void ReapJob::CheckExit(ReapContext& ctx, int wait_ms) noexcept {
  bool all = true;
  bool first = true;
  for (Member& m : victim.active()) {
    if (m.exited) continue;
    auto r = ctx.ops.WaitExit(m.pidfd.get(), first ? wait_ms : 0);
    first = false;
    if (r && *r) {
      m.exited = true;
    } else {
      all = false;
    }
  }
  if (all && !exited) {
    exited = true;
    result.t_exit = ctx.clock.Now();
  }
}

bool ReapJob::MmUsersGone() const noexcept {
  std::size_t i = 0;
  for (const Member& m : victim.active()) {
    const std::uint64_t bit = std::uint64_t{1} << (i++ % 64);
    if (m.role == MemberRole::kProcessGroup) continue;
    if (!m.exited && (mm_dropped & bit) == 0) return false;
  }
  return true;
}

bool ReapJob::Step(ReapContext& ctx, sys::Nanos now, sys::Nanos* next_at) noexcept {
  if (phase == ReapPhase::kGrace) {
    CheckExit(ctx, 0);
    if (exited) {
      phase = ReapPhase::kRelease;
    } else if (now >= grace_until) {
      ctx.killer.SignalMembers(victim, SIGKILL, result);
      ctx.killer.KillCgroupPass(victim, SIGKILL, result);
      result.escalated = true;
      phase = ReapPhase::kHelp;
    } else {
      *next_at = std::min(now + kExitPoll * 2, grace_until);
      return false;
    }
  }
  bool released_now = false;
  if (phase == ReapPhase::kHelp) {
    // Reap first, while a frozen or starved victim cannot race us into exit_mm (after
    // which process_mrelease can only say ESRCH); then let it run and die.
    Release(ctx);
    released_now = true;
    Help(ctx);
    phase = ReapPhase::kRelease;
  }
  // v1 cgroup widening: keep emptying the cgroup (forks that raced the first pass).
  if (victim.widen_version == sys::CgroupVersion::kV1 && !exited) {
    result.members_signalled += ctx.killer.KillCgroupPass(victim, SIGKILL, result);
  }
  // Process-group widening likewise: children forked between the scan and the signal.
  if (victim.widen_pgrp > 0 && !exited && phase != ReapPhase::kGrace) {
    result.members_signalled += ctx.killer.KillProcessGroupPass(victim, SIGKILL, result);
  }
  if (!released_now) Release(ctx);
  CheckExit(ctx, mrelease_done ? kExitWaitMs : 0);
  if (!released && MmUsersGone()) {
    // The group is done with the mm. It is freed unless a user outside the group keeps it:
    // ask the mm itself when we hold it, else trust process_mrelease's EINVAL.
    bool gone = !mm_pinned;
    if (mm_fd) {
      if (auto g = ctx.ops.MmGone(mm_fd.get())) gone = *g;
    }
    if (gone) {
      // The last user ran exit_mmap: the anonymous memory is back. What it mapped from
      // files or shmem may stay charged to the scope; that is not the victim's to free.
      MarkReleased(ctx.clock.Now(), victim.identity.rss_bytes, FreedBy::kExit);
    } else {
      mm_pinned = true;
    }
  }
  if (released && exited) {
    phase = ReapPhase::kDone;
    result.errors = victim.errors;
    result.first_error = victim.first_error;
    result.members_stale = victim.members_stale;
    result.outcome = result.freed_by == FreedBy::kExit ? Outcome::kExited : Outcome::kReaped;
    return true;
  }
  sys::Nanos delay =
      mrelease_done ? kExitPoll
                    : static_cast<sys::Nanos>(ctx.config.mrelease_retry_delay_ms) * sys::kMilli;
  *next_at = now + delay;
  return false;
}

}  // namespace reaperd::kill
