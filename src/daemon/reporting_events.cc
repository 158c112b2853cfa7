#include "daemon/reporting_events.h"

#include "daemon/engine.h"
#include "report/kill_report.h"

namespace reaperd::daemon {

using nlohmann::json;

json LevelEventJson(const std::string& scope, pressure::Level from,
                    const pressure::Decision& decision, const pressure::PressureSample& sample,
                    bool warning_step) {
  return {{"event", "level"},
          {"scope", scope},
          {"from", pressure::LevelName(from)},
          {"to", pressure::LevelName(decision.level)},
          {"reasons", ReasonsString(decision.reasons)},
          {"available_bytes", sample.available_bytes},
          {"total_bytes", sample.total_bytes},
          {"available_percent", decision.available_percent},
          {"psi_some_percent", decision.psi_some_percent},
          {"psi_full_percent", decision.psi_full_percent},
          {"warning_step", warning_step}};
}

json KillEventJson(const KillDecision& k, const policy::Process& p, const std::string& scope) {
  json e = {{"event", "kill"},
            {"seq", k.seq},
            {"scope", scope},
            {"pid", p.pid},
            {"comm", std::string(p.comm.view())},
            {"uid", p.uid},
            {"rss_bytes", p.rss()},
            {"cgroup", p.cgroup},
            {"members", k.members.size()},
            {"outcome", k.dry_run ? "dry_run" : "signalled"}};
  if (auto c = report::ContainerJson(p.cgroup); c.is_object()) e["container"] = c["label"];
  return e;
}

json KillResultEventJson(const kill::KillResult& r, const std::string& scope) {
  return {{"event", "kill_result"},
          {"seq", r.seq},
          {"scope", scope},
          {"pid", r.victim.id.pid},
          {"comm", std::string(r.victim.comm.view())},
          {"uid", r.victim.uid},
          {"rss_bytes", r.victim.rss_bytes},
          {"outcome", kill::OutcomeName(r.outcome)},
          {"after_deadline", r.after_deadline},
          {"escalated", r.escalated},
          {"bytes_freed", r.bytes_freed}};
}

json ReclaimStepEventJson(const std::string& scope, const reclaim::StepResult& step,
                          const reclaim::PassResult& pass) {
  // The chain's own feedback: what came back over the step's settle window.
  return {{"event", "reclaim_step"},
          {"scope", scope},
          {"step", step.notifier},
          {"outcome", reclaim::NotifyOutcomeName(step.outcome)},
          {"freed_bytes", step.freed_bytes},
          {"available_bytes", pass.last.available_bytes},
          {"target_reached", pass.target_reached}};
}

}  // namespace reaperd::daemon
