// The subcommands behind the command line. Each returns the process exit code.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace reaperd::cli {

struct CommonOptions {
  std::string config_path;  // empty: the embedded default
  std::string scope = "system";
};

struct RankOptions {
  CommonOptions common;
  bool json = false;
  int top = 20;  // 0: all
  bool all_protected = false;
  // Scan, wait this long, scan again: the growth term counts what grew in between (0: no
  // growth is measured, only the applications are shown).
  int growth_window_ms = 0;
};

struct RunOptions {
  std::vector<std::string> scopes;
  std::string config_path;
  bool dry_run = false;
  std::string log_level;  // empty: the config's daemon.log_level
  int run_for_ms = 0;
  bool no_mlock = false;
};

struct StatusOptions {
  std::string socket;  // empty: report.status_socket of config_path
  // The daemon's config, for its report.status_socket; empty: /etc/reaperd/reaperd.toml (the
  // shipped unit's) if it exists, else the built-in default.
  std::string config_path;
  bool json = false;
  int timeout_ms = 2000;
};

struct EventsOptions {
  StatusOptions where;  // the socket, as for status (json: print the daemon's lines unchanged)
  int count = 0;        // stop after this many events (0: until the daemon goes)
};

// The status socket `status` and `events` talk to; empty (after a message) when none.
std::string StatusSocket(const StatusOptions& options);

int RunRank(const RankOptions& options);
int RunEvents(const EventsOptions& options);
int RunStatus(const StatusOptions& options);
int RunRun(const RunOptions& options);
int RunCheckConfig(const std::string& path);

}  // namespace reaperd::cli
