#include "cli/common.h"

#include <unistd.h>

#include <cstdio>

namespace reaperd::cli {

std::optional<Loaded> LoadCommon(const CommonOptions& options) {
  Loaded l;
  if (options.config_path.empty()) {
    l.config = config::DefaultConfig();
  } else {
    auto cfg = config::LoadConfigFile(options.config_path);
    if (!cfg) {
      std::fprintf(stderr, "reaperd: %s\n", cfg.error().ToString().c_str());
      return std::nullopt;
    }
    l.config = std::move(*cfg);
  }
  if (!policy::ParseScope(options.scope, &l.scope)) {
    std::fprintf(stderr, "reaperd: invalid scope '%s' (want system or cgroup:PATH)\n",
                 options.scope.c_str());
    return std::nullopt;
  }
  return l;
}

void WarnIfUnprivileged(const policy::Snapshot& snapshot) {
  if (::geteuid() == 0) return;
  std::fprintf(stderr,
               "reaperd: warning: not running as root: %d per-process files were unreadable "
               "(exe links and status of other users' processes), so their figures are "
               "incomplete; killing, reaping and PSI triggers need root\n",
               snapshot.unreadable);
}

}  // namespace reaperd::cli
