// `reaperd run`: the foreground daemon. One epoll loop over a signalfd (SIGTERM/SIGINT stop
// cleanly, SIGHUP reloads the config and keeps the old one if the new one is invalid), a
// wait that times out when the next tick is due (the detectors adapt the interval), PSI
// trigger fds (system /proc/pressure/memory
// and memory.pressure of each v2 cgroup scope), v1 memory.pressure_level eventfds, and the
// reaper's completion eventfd; optionally cgroup scopes discovered, rescanned on the ticks and
// at once on inotify events of the cgroup tree (an inotify fd). All decisions are in Engine;
// this file only waits and wires.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "policy/scope.h"

namespace reaperd::daemon {

struct DaemonOptions {
  std::string config_path;  // empty: the embedded default (SIGHUP then has nothing to reload)
  std::vector<policy::Scope> scopes;
  // Also discover limited cgroups under this cgroup path as automatic scopes (see
  // daemon/discovery.h; daemon.max_cgroup_scopes and rescan_interval_ms apply). Unset: none.
  std::optional<std::string> discover_under;
  bool dry_run = false;
  bool lock_memory = true;
  // Stop after this many milliseconds (0: run until a signal). For tests and the lab.
  int run_for_ms = 0;
};

// Runs until SIGTERM/SIGINT (or run_for_ms). Returns the process exit code.
int RunDaemon(const config::Config& initial, const DaemonOptions& options, Logger& log);

}  // namespace reaperd::daemon
