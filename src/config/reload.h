// What a SIGHUP reload may change in a running daemon. Some sections are read afresh by the
// loop (the detector's thresholds, the ranking, the hooks, the reclaim chain) and apply at
// once; the rest are baked into threads, fds or the kill path at start-up (kill.*, the
// stall watchdog, the report outputs, discovery, the log level) and need a restart.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace reaperd::config {

struct ReloadPlan {
  std::vector<std::string> applied;         // dotted keys that changed and apply live
  std::vector<std::string> restart_needed;  // dotted keys that changed and wait for a restart
};

// Every key whose value differs between running and fresh, sorted into the two lists.
// Lists (rank.rules, reclaim.notifier, ...) are named as one key.
ReloadPlan PlanReload(const Config& running, const Config& fresh);

// Copies the live sections (detector, rank, hooks, reclaim) of fresh into running; every
// other key keeps the value the daemon runs with.
void ApplyLive(Config& running, const Config& fresh);

// "a,b,c", or "none" for an empty list (for log lines).
std::string JoinKeys(const std::vector<std::string>& keys);

}  // namespace reaperd::config
