// The lines of the event stream (report/event_stream.h) that Reporting publishes, one JSON
// object each, named by "event": level, kill, kill_result, reclaim_step. docs/architecture.md
// lists their fields; reaperd-bus and `reaperd events` read them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "daemon/observer.h"

namespace reaperd::daemon {

// warning_step: the scopes' reclaim chains publish the reclaim level's warning themselves.
nlohmann::json LevelEventJson(const std::string& scope, pressure::Level from,
                              const pressure::Decision& decision,
                              const pressure::PressureSample& sample, bool warning_step);
// p is the victim of k, as scanned.
nlohmann::json KillEventJson(const KillDecision& k, const policy::Process& p,
                             const std::string& scope);
nlohmann::json KillResultEventJson(const kill::KillResult& r, const std::string& scope);
nlohmann::json ReclaimStepEventJson(const std::string& scope, const reclaim::StepResult& step,
                                    const reclaim::PassResult& pass);

}  // namespace reaperd::daemon
