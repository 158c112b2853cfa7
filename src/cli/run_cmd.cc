// `reaperd run`: loads the config and the scopes, then hands over to the daemon loop.
#include <cstdio>

#include "base/log.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "daemon/daemon.h"
#include "report/journal_sink.h"

namespace reaperd::cli {

int RunRun(const RunOptions& o) {
  CommonOptions common;
  common.config_path = o.config_path;
  auto loaded = LoadCommon(common);
  if (!loaded) return 1;

  daemon::DaemonOptions d;
  d.config_path = o.config_path;
  d.dry_run = o.dry_run;
  d.run_for_ms = o.run_for_ms;
  d.lock_memory = !o.no_mlock;
  for (const auto& text : o.scopes.empty() ? std::vector<std::string>{"system"} : o.scopes) {
    policy::Scope s;
    if (!policy::ParseScope(text, &s)) {
      std::fprintf(stderr, "reaperd: invalid scope '%s' (want system or cgroup:PATH)\n",
                   text.c_str());
      return 1;
    }
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
