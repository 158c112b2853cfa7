// One log line per KillResult, for the daemon and the tests: "kill" for a victim that
// went, "stall" for a missed deadline (the watchdog's raw material), "kill_stale" for a
// PID reused since the scan. Called from the daemon loop, not from the kill path.
#pragma once

#include "base/log.h"
#include "kill/kill_result.h"

namespace reaperd::kill {

void LogKillResult(Logger& log, const KillResult& r);

}  // namespace reaperd::kill
