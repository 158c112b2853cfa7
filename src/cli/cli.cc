#include "cli/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "sys/self_protect.h"

namespace reaperd::cli {

bool TrimsAtStart(int argc, char** argv) noexcept {
  return argc > 1 && argv != nullptr && std::string_view(argv[1]) == "run" &&
         std::none_of(argv + 2, argv + argc,
                      [](const char* a) { return std::string_view(a) == "--no-mlock"; });
}

int Main(int argc, char** argv) {
  // `reaperd run`: the pages the static initialisers touched are dropped before the command
  // line's parser runs (those of exec, the relocations and the C library's start were
  // dropped before the initialisers, src/main.cc), and the parser's own at the start of
  // RunRun: the daemon's resident peak was this start-up, 0.3-0.4 MiB above what it keeps
  // (see sys::TrimColdCode). Not with --no-mlock (tests), as in RunRun.
  if (TrimsAtStart(argc, argv)) (void)sys::TrimColdCode(false);
  CLI::App app{"reaperd: a userspace OOM killer and memory reaper"};
  app.set_version_flag("--version", std::string("reaperd ") + REAPERD_VERSION);
  app.require_subcommand(1);

  RankOptions rank;
  auto* rank_cmd = app.add_subcommand(
      "rank",
      "If memory ran out now, who would die, and why: the ranked candidates with the "
      "breakdown of each score, and the protected processes with the reason");
  rank_cmd->add_flag("--json", rank.json, "Machine-readable output");
  rank_cmd->add_option("--top", rank.top, "Candidates to show (0: all)")
      ->check(CLI::NonNegativeNumber);
  rank_cmd->add_option("--scope", rank.common.scope, "system or cgroup:PATH")
      ->capture_default_str();
  rank_cmd->add_option("--config", rank.common.config_path, "Config file (default: embedded)");
  rank_cmd->add_flag("--all-protected", rank.all_protected,
                     "List every protected process (default: all but kernel threads)");
  rank_cmd
      ->add_option("--growth-window", rank.growth_window_ms,
                   "Measure growth over this window (2s, 500ms; a plain number is ms; at most 60s) "
                   "and count it "
                   "as the daemon does during an episode (default: none)")
      ->transform(CLI::AsNumberWithUnit(std::map<std::string, int>{{"ms", 1}, {"s", 1000}},
                                        CLI::AsNumberWithUnit::CASE_SENSITIVE))
      ->check(CLI::Range(0, 60000));

  RunOptions run;
  auto* run_cmd = app.add_subcommand(
      "run",
      "Run the daemon in the foreground: watch memory pressure per scope, ask for memory "
      "back, kill and reap");
  run_cmd->add_option(
      "--scope", run.scopes,
      "system, cgroup:PATH, auto (the cgroups with a memory limit) or auto:PATH (those "
      "under PATH); repeatable; default: system, plus auto if "
      "daemon.watch_limited_cgroups");
  run_cmd->add_option("--config", run.config_path, "Config file (default: embedded)");
  run_cmd->add_flag("--dry-run", run.dry_run, "Decide and log everything, but send no signal");
  run_cmd->add_option("--log-level", run.log_level, "debug, info, notice, warning, error");
  run_cmd->add_option("--run-for-ms", run.run_for_ms, "Stop after this long (tests)")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_flag("--no-mlock", run.no_mlock, "Do not mlockall (tests)");

  StatusOptions status;
  auto* status_cmd = app.add_subcommand(
      "status",
      "Ask the running daemon for its scopes, levels, victims in flight, recent kills and "
      "notifier figures");
  status_cmd->add_flag("--json", status.json, "The daemon's JSON answer, unchanged");
  status_cmd->add_option("--socket", status.socket,
                         "The status socket (default: report.status_socket of the config)");
  status_cmd->add_option("--config", status.config_path,
                         "The daemon's config file, for its report.status_socket (default: "
                         "/etc/reaperd/reaperd.toml if it exists)");
  status_cmd->add_option("--timeout-ms", status.timeout_ms, "How long to wait for the answer")
      ->check(CLI::PositiveNumber);

  EventsOptions events;
  auto* events_cmd = app.add_subcommand(
      "events",
      "Follow the running daemon's events: level changes, reclaim steps (with what came back) "
      "and kills, one per line");
  events_cmd->add_flag("--json", events.where.json, "The daemon's JSON lines, unchanged");
  events_cmd->add_option("--socket", events.where.socket,
                         "The status socket (default: report.status_socket of the config)");
  events_cmd->add_option("--config", events.where.config_path,
                         "The daemon's config file, for its report.status_socket (default: "
                         "/etc/reaperd/reaperd.toml if it exists)");
  events_cmd->add_option("--count", events.count, "Stop after this many events (0: follow)")
      ->check(CLI::NonNegativeNumber);

  std::string check_path;
  auto* check_cmd = app.add_subcommand("check-config", "Validate a config file (exit 0 if valid)");
  check_cmd->add_option("FILE", check_path, "The TOML file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (run_cmd->parsed()) return RunRun(run);
    if (rank_cmd->parsed()) return RunRank(rank);
    if (check_cmd->parsed()) return RunCheckConfig(check_path);
    if (status_cmd->parsed()) return RunStatus(status);
    if (events_cmd->parsed()) return RunEvents(events);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reaperd: fatal: %s\n", e.what());
    return 70;
  }
  return 64;
}

}  // namespace reaperd::cli
