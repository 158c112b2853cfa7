#include "cli/common.h"

#include <unistd.h>

#include <cstdio>

#include "sys/trust.h"

namespace reaperd::cli {

bool ConfigTrusted(const std::string& path) {
  // The owner may also be the user running an unprivileged reaperd (rank, check-config):
  // such a run cannot signal anyone else's processes anyway.
  auto trusted = sys::CheckTrustedFile(path, ::geteuid());
  if (trusted) return true;
  const Error& e = trusted.error();
  std::fprintf(stderr,
               "reaperd: refusing config %s: %s (it and every directory above it must be "
               "owned by root and not writable by group or others)\n",
               path.c_str(), e.code == Errc::kSys ? e.ToString().c_str() : e.context);
  return false;
}

bool HooksTrusted(const config::Config& config) {
  bool ok = true;
  for (const auto& h : config::HookPrograms(config)) {
    auto trusted = sys::CheckTrustedFile(h.path, ::geteuid());
    if (trusted) continue;
    const Error& e = trusted.error();
    std::fprintf(stderr,
                 "reaperd: refusing %s program %s: %s (it and every directory above it must be "
                 "owned by root and not writable by group or others)\n",
                 h.key.c_str(), h.path.c_str(),
                 e.code == Errc::kSys ? e.ToString().c_str() : e.context);
    ok = false;
  }
  return ok;
}

std::optional<Loaded> LoadCommon(const CommonOptions& options) {
  Loaded l;
  if (options.config_path.empty()) {
    l.config = config::DefaultConfig();
  } else {
    if (!ConfigTrusted(options.config_path)) return std::nullopt;
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
