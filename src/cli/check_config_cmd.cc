#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "config/config.h"
#include "sys/realtime.h"

namespace reaperd::cli {

int RunCheckConfig(const std::string& path) {
  if (!ConfigTrusted(path)) return 1;
  auto cfg = config::LoadConfigFile(path);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().ToString().c_str());
    return 1;
  }
  if (!HooksTrusted(*cfg)) return 1;
  // The cgroups the config names as scopes must exist, as `run` will refuse them otherwise.
  if (cfg->daemon.watch_limited_cgroups && !ResolveCgroup(cfg->daemon.watch_limited_cgroups_under,
                                                          "daemon.watch_limited_cgroups_under")) {
    return 1;
  }
  if (const int prio = cfg->kill.reaper_realtime_priority; prio > 0) {
    // Valid, but only a drop-in makes it work under the shipped unit: say so here, where the
    // unit's seccomp filter cannot be seen (and whether this process is refused too).
    auto probe = sys::ProbeRealtime(prio);
    std::fprintf(stderr, "%s: warning: kill.reaper_realtime_priority = %d: %s%s%s\n", path.c_str(),
                 prio, probe ? "" : "SCHED_FIFO is refused here (",
                 probe ? "" : probe.error().ToString().c_str(), probe ? "" : "); ");
    std::fprintf(stderr, "%s: note: %s\n", path.c_str(), sys::kRealtimeAdvice);
  }
  std::printf("%s: ok\n", path.c_str());
  return 0;
}

}  // namespace reaperd::cli
