// `reaperd run`: loads the config and the scopes, then hands over to the daemon loop.
#include <cstdio>
#include <string>
#include <string_view>

#include "base/log.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "daemon/daemon.h"
#include "report/journal_sink.h"
#include "sys/self_protect.h"

namespace reaperd::cli {

int RunRun(const RunOptions& o) {
  // The start-up's code is read back one page at a time, not 64 KiB around each fault: the
  // daemon's peak footprint is what it touches (see sys::TrimColdCode).
  if (!o.no_mlock) (void)sys::TrimColdCode(false);
  CommonOptions common;
  common.config_path = o.config_path;
  auto loaded = LoadCommon(common);
  if (!loaded) return 1;
  if (!HooksTrusted(loaded->config)) return 1;

  daemon::DaemonOptions d;
  d.config_path = o.config_path;
  d.dry_run = o.dry_run;
  d.run_for_ms = o.run_for_ms;
  d.lock_memory = !o.no_mlock;
  const config::DaemonConfig& dc = loaded->config.daemon;
  // No --scope: the system, plus the limited cgroups if the config asks for them.
  std::vector<std::string> texts = o.scopes;
  if (texts.empty()) {
    texts.push_back("system");
    if (dc.watch_limited_cgroups) texts.push_back("auto:" + dc.watch_limited_cgroups_under);
  }
  for (const auto& text : texts) {
    std::string_view t = text;
    if (t == "auto" || t.starts_with("auto:")) {
      if (d.discover_under) {
        std::fprintf(stderr, "reaperd: invalid scope '%s' (only one auto or auto:PATH)\n",
                     text.c_str());
        return 1;
      }
      auto under = ResolveCgroup(
          t == "auto" ? std::string_view(dc.watch_limited_cgroups_under) : t.substr(5), "scope");
      if (!under) return 1;
      d.discover_under = std::move(*under);
      continue;
    }
    policy::Scope s;
    if (!ResolveScope(text, &s, "system, cgroup:PATH, auto or auto:PATH")) return 1;
    d.scopes.push_back(s);
  }

  LogLevel level = LogLevel::kInfo;
  const std::string& name = o.log_level.empty() ? loaded->config.daemon.log_level : o.log_level;
  if (!ParseLogLevel(name, &level)) {
    std::fprintf(stderr, "reaperd: invalid log level '%s'\n", name.c_str());
    return 1;
  }
  // The journal (with structured fields) under systemd, else plain lines on stderr.
  auto sink = report::MakeLogSink();
  Logger log(*sink, level);
  return daemon::RunDaemon(loaded->config, d, log);
}

}  // namespace reaperd::cli
