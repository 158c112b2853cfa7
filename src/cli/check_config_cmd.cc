#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "config/config.h"

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
  std::printf("%s: ok\n", path.c_str());
  return 0;
}

}  // namespace reaperd::cli
