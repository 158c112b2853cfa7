// The kill drill (see Engine::DrillKillPath): the kill path run once at start on a child of
// reaperd's own, so that a step the sandbox or the kernel refuses shows at start.

#include <signal.h>

#include <cerrno>
#include <string_view>

#include "daemon/engine.h"
#include "daemon/engine_internal.h"
#include "sys/spawn.h"

namespace reaperd::daemon {

void Engine::DrillKillPath() {
  const sys::Nanos t0 = clock_.Now();
  auto fail = [&](std::string_view step, const Error& e) {
    log_.Log(LogLevel::kWarning, "kill_drill", "outcome=failed step={} error={} note={}", step,
             Q{e.ToString()},
             Q{"a real kill may fail the same way: check the sandbox (seccomp, capabilities)"});
  };
  // Spawned at Launch, before the start-up's code was trimmed (fork's code is not the kill
  // path's); taken here, so that it is reaped whatever the drill's outcome.
  auto child = std::move(drill_child_);
  drill_child_ = Fail(Error::Of(Errc::kMissing, "the drill ran"));
  if (!child) return fail("spawn", child.error());
  // The system scope's kill up to the signal: the standing snapshot's refresh reads the
  // child whole (a new process), the ranking, the victim build.
  policy::Snapshot& standing = snaps_[standing_];
  policy::Snapshot& spare = snaps_[1 - standing_];
  const sys::Nanos t_scan = clock_.Now();
  auto r = scanner_.RefreshInto(policy::Scope{}, scan::KillScanOptions(cfg_.rank),
                                {top_.data(), top_count_}, standing, spare);
  standing_ = 1 - standing_;
  if (!r) {
    spare.full_at_ns = 0;
    return fail("scan", r.error());
  }
  const sys::Nanos t_rank = clock_.Now();
  skip_.CopyTo(skipped_);
  ranker_->RankInto(spare, options_.self, skipped_, kill_ranking_);
  NoteTop(kill_ranking_, spare);
  std::size_t index = spare.processes.size();
  for (std::size_t k = 0; k < spare.processes.size(); ++k) {
    if (spare.processes[k].pid == child->pid()) index = k;
  }
  if (index == spare.processes.size()) {
    return fail("scan", Error::Of(Errc::kMissing, "the drill's child is not in the snapshot"));
  }
  const sys::Nanos t_build = clock_.Now();
  kill::Victim victim;
  auto built = builder_.Build(spare, index, t_build, victim);
  if (!built) return fail("build", built.error());
  if (victim.main_stale || victim.member_count != 1) {
    return fail("build", Error::Of(Errc::kInvalid, "the drill's child did not build as a victim"));
  }
  const sys::Nanos t_signal = clock_.Now();
  const int pidfd = victim.members[0].pidfd.get();
  // Through the reaper's own steps before and at a kill's signal (its mm held, its pidfd
  // polled, the killer's signal): the first real kill runs none of them for the first time.
  bool mm_held = false;
  const kill::KillResult sent = reaper_->DrillSignal(victim, &mm_held);
  if (sent.members_signalled != 1) {
    return fail("pidfd_send_signal",
                sent.errors > 0 ? sent.first_error : Error::Of(Errc::kInvalid, "not signalled"));
  }
  // With a signal grace (kill.signal_grace_ms) that was SIGTERM; a kill's SIGKILL follows it
  // on the reaper's thread.
  if (sent.signal != SIGKILL) {
    if (auto k = ops_.Send(pidfd, SIGKILL); !k) return fail("pidfd_send_signal", k.error());
  }
  // Dying now: process_mrelease frees its memory, or finds it gone already (ESRCH).
  auto released = ops_.Mrelease(pidfd);
  if (!released && released.error().sys_errno != ESRCH) {
    return fail("process_mrelease", released.error());
  }
  auto exited = child->WaitExit(1000);
  const sys::Nanos t_end = clock_.Now();
  if (!exited || !*exited) {
    return fail("exit", Error::Of(Errc::kTimeout, "the drill's child did not exit within 1 s"));
  }
  (void)child->Reap();
  log_.Log(
      LogLevel::kInfo, "kill_drill",
      "outcome=ok pid={} scan_ms={:.2f} rank_ms={:.2f} build_ms={:.2f} signal_to_exit_ms={:.2f} "
      "mm={} mrelease={} total_ms={:.2f}",
      child->pid(), Ms(t_rank - t_scan), Ms(t_build - t_rank), Ms(t_signal - t_build),
      Ms(t_end - t_signal), mm_held ? "held" : "none", released ? "released" : "gone",
      Ms(t_end - t0));
}

}  // namespace reaperd::daemon
