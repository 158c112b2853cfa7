#include "kill/kill_log.h"

#include <csignal>
#include <string>

#include "kill/last_resort.h"

namespace reaperd::kill {

namespace {

// Milliseconds from a to b with microsecond precision, or -1 when b did not happen.
double Ms(sys::Nanos a, sys::Nanos b) {
  if (b == 0 || a == 0) return -1;
  return static_cast<double>(b - a) / static_cast<double>(sys::kMilli);
}

}  // namespace

void LogKillResult(Logger& log, const KillResult& r) {
  const char* event = "kill";
  LogLevel level = LogLevel::kNotice;
  if (r.outcome == Outcome::kMissedDeadline) {
    event = "stall";
    level = LogLevel::kWarning;
  } else if (r.outcome == Outcome::kStale) {
    event = "kill_stale";
  } else if (r.outcome == Outcome::kFailed) {
    level = LogLevel::kError;
  }
  const char* scope = r.scope.kind == policy::ScopeKind::kSystem ? "system" : "cgroup";
  log.Log(level, event,
          "seq={} outcome={} late={} pid={} starttime={} comm={} cgroup={} uid={} scope={}:{} "
          "rss={} members={} signalled={} stale={} signal={} escalated={} "
          "decision_to_signal_ms={:.3f} signal_to_exit_ms={:.3f} signal_to_reaped_ms={:.3f} "
          "bytes_freed={} freed_by={} mrelease_calls={} mrelease_einval={} thawed={} "
          "errors={} last_resort={} last_resort_failed={} last_resort_signalled={} "
          "last_resort_error={}",
          r.seq, OutcomeName(r.outcome), r.after_deadline, r.victim.id.pid, r.victim.id.starttime,
          Q{r.victim.comm.view()}, Q{r.victim.cgroup.view()}, r.victim.uid, scope,
          Q{r.scope.cgroup.view()}, r.victim.rss_bytes, r.members, r.members_signalled,
          r.members_stale, r.signal == SIGTERM ? "TERM" : (r.signal == SIGKILL ? "KILL" : "none"),
          r.escalated, Ms(r.t_decision, r.t_signal), Ms(r.t_signal, r.t_exit),
          Ms(r.t_signal, r.t_reaped), r.bytes_freed, FreedByName(r.freed_by), r.mrelease_calls,
          r.mrelease_einval, r.thawed, r.errors, LastResortName(r.last_resort),
          r.last_resort_failed, r.last_resort_signalled,
          Q{r.last_resort_failed ? r.last_resort_error.ToString() : std::string("none")});
}

}  // namespace reaperd::kill
