// The engine's reaped stage: the reaper's results come back to the loop thread, are logged,
// told to the observers, the watchdog and the scope's detector, and start the post-kill hook.

#include "daemon/engine.h"
#include "daemon/engine_internal.h"

namespace reaperd::daemon {

bool Engine::OnReaperEvent() {
  bool due = false;
  kill::KillResult r;
  while (reaper_->Pop(r)) {
    auto ms = [](sys::Nanos from, sys::Nanos to) -> double {
      if (from == 0 || to == 0) return -1;
      return static_cast<double>(to - from) / static_cast<double>(sys::kMilli);
    };
    LogLevel lvl =
        r.outcome == kill::Outcome::kMissedDeadline ? LogLevel::kError : LogLevel::kNotice;
    log_.Log(lvl, "reaped",
             "seq={} pid={} comm={} outcome={} after_deadline={} bytes_freed={} freed_mib={:.1f} "
             "freed_by={} members={} signalled={} stale={} errors={} first_error={} "
             "decision_to_signal_ms={:.2f} signal_to_exit_ms={:.1f} signal_to_reaped_ms={:.1f} "
             "mrelease_calls={} escalated={} thawed={} last_resort={}",
             r.seq, r.victim.id.pid, Q{r.victim.comm.view()}, kill::OutcomeName(r.outcome),
             r.after_deadline ? 1 : 0, r.bytes_freed, Mib(r.bytes_freed),
             kill::FreedByName(r.freed_by), r.members, r.members_signalled, r.members_stale,
             r.errors, Q{r.errors ? r.first_error.ToString() : std::string("none")},
             ms(r.t_decision, r.t_signal), ms(r.t_signal, r.t_exit), ms(r.t_signal, r.t_reaped),
             r.mrelease_calls, r.escalated ? 1 : 0, r.thawed ? 1 : 0,
             kill::LastResortName(r.last_resort));
    for (auto* o : observers_) o->OnKillResult(r);
    if (watchdog_) {
      if (r.outcome == kill::Outcome::kMissedDeadline && !r.after_deadline) {
        watchdog_->NoteMissedDeadline(r.victim.id.pid, std::string(r.victim.comm.view()),
                                      r.t_signal);
      } else {
        watchdog_->NoteVictimDone(r.victim.id.pid);
      }
    }
    QueuePostKill(r);
    // The victim's outcome is in (even a missed deadline): the scope's ladder may step up.
    for (auto& st : status_) st.ladder.NoteResult(r.seq);
    // Tell the scope's detector the victim is done (or stuck: its deadline handles that).
    if (r.outcome == kill::Outcome::kMissedDeadline && !r.after_deadline) continue;
    for (std::size_t i = 0; i < status_.size(); ++i) {
      const policy::Scope& sc = status_[i].scope;
      bool same = sc.kind == r.scope.kind &&
                  (sc.kind == policy::ScopeKind::kSystem || sc.cgroup == r.scope.cgroup.view());
      if (!same) continue;
      detectors_[i].NoteVictimDone(clock_.Now());
      // Looked at again now: with other processes still growing, the next kill must not
      // wait for the scope's next tick.
      status_[i].due_ns = 0;
      due = true;
    }
  }
  return due;
}

}  // namespace reaperd::daemon
