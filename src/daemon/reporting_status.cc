// Reporting's answer on the status socket (`reaperd status`): the scopes, the victims in flight,
// the recent kills, the notifiers and the pulled reclaim hooks, as one JSON document.
#include "daemon/engine.h"
#include "daemon/engine_internal.h"
#include "daemon/reporting.h"
#include "report/recent_kills.h"

namespace reaperd::daemon {

using nlohmann::json;

std::string Reporting::StatusJson() const {
  const sys::Nanos now = sys::MonotonicClock().Now();
  json j;
  j["version"] = REAPERD_VERSION;
  j["pid"] = ::getpid();
  j["uptime_s"] = Seconds(started_ns_, now);
  j["dry_run"] = dry_run_;
  json scopes = json::array();
  for (const auto& [name, st] : scopes_) {
    scopes.push_back({{"scope", name},
                      {"level", pressure::LevelName(st.decision.level)},
                      {"reasons", ReasonsString(st.decision.reasons)},
                      {"available_bytes", st.sample.available_bytes},
                      {"total_bytes", st.sample.total_bytes},
                      {"swap_total_bytes", st.sample.swap_total_bytes},
                      {"swap_free_bytes", st.sample.swap_free_bytes},
                      {"zram_swap_bytes", st.sample.zram_swap_bytes},
                      {"zram_swap_free_bytes", st.sample.zram_swap_free_bytes},
                      {"available_percent", st.decision.available_percent},
                      {"psi_some_percent", st.decision.psi_some_percent},
                      {"psi_full_percent", st.decision.psi_full_percent},
                      {"slope_bytes_per_s", st.decision.slope_bytes_per_s},
                      {"time_to_exhaustion_ms", st.decision.time_to_exhaustion_ms},
                      {"kills", st.kills}});
    if (auto c = ScopeContainerJson(st.scope.cgroup); !c.is_null()) {
      scopes.back()["container"] = std::move(c);
    }
  }
  j["scopes"] = scopes;
  json flight = json::array();
  for (const auto& [seq, f] : in_flight_) {
    flight.push_back({{"seq", seq},
                      {"scope", f.scope},
                      {"pid", f.pid},
                      {"comm", f.comm},
                      {"age_ms", static_cast<double>(now - f.t_decision_ns) / 1e6}});
  }
  j["victims_in_flight"] = flight;
  j["recent_kills"] = report::RecentKillsJson(reports_.recent());
  j["notifiers"] = notifier_status_ ? notifier_status_() : json::array();
  json pulled = json::array();
  for (const LastResortEvent& e : last_resorts_) {
    pulled.push_back({{"seq", e.seq},
                      {"scope", e.scope},
                      {"action", e.action},
                      {"result", e.failed ? "failed" : "done"},
                      {"signalled", e.signalled},
                      {"error", e.failed ? json(e.error) : json(nullptr)},
                      {"age_s", Seconds(e.at_ns, now)}});
  }
  j["last_resorts"] = {
      {"fired", last_resorts_fired_}, {"failed", last_resorts_failed_}, {"recent", pulled}};
  j["log_lines_dropped"] = log_.sink().lines_dropped();
  j["metrics"] = {{"kill_report_path", cfg_.report.kill_report_path},
                  {"textfile_path", cfg_.report.metrics_textfile_path},
                  {"listen", cfg_.report.metrics_listen}};
  return report::DumpLine(j) + "\n";
}

}  // namespace reaperd::daemon
