// The typed configuration of reaperd, parsed from TOML (toml++). Every field has the
// default documented in packaging/config/reaperd.toml, which is also embedded in the binary.
// Parsing validates everything up front: the daemon never meets an invalid value.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reaperd::config {

enum class RuleAction : unsigned char { kProtect, kPrefer, kAvoid };
enum class Widen : unsigned char { kNone, kProcessGroup, kCgroup };
enum class LastResort : unsigned char { kNone, kKernelOom, kPanic, kReboot };

// A rule matches a process when every matcher it sets matches (AND); unset matchers are
// ignored, and a valid rule sets at least one. Regexes are ECMAScript and may match anywhere
// in the string (std::regex_search); anchor them with ^...$ for a whole match.
// They are matched in linear time, without back-references (config/rule_regex.h).
struct Rule {
  std::string name;  // for reports; defaults to "rule N", N being the 0-based index in rule[N]
  RuleAction action = RuleAction::kPrefer;
  // Signed, in oom_score_adj units: prefer 1..1000, avoid -1000..-1, protect 0. The sign is
  // checked, not normalised, so a file never means something other than what it says.
  int weight = 0;
  std::optional<std::string> comm;     // regex on /proc/PID/comm
  std::optional<std::string> exe;      // regex on the /proc/PID/exe link target
  std::optional<std::string> cmdline;  // regex on the space-joined command line
  std::optional<std::string> cgroup;   // regex on the cgroup path
  std::optional<std::uint32_t> uid;    // real uid
  friend bool operator==(const Rule&, const Rule&) = default;
};

struct RankConfig {
  // Exact comm names (at most 15 bytes, the kernel's TASK_COMM_LEN - 1) never killed: processes
  // whose death takes the machine or the user's session down. Why each is here: reaperd.toml.
  std::vector<std::string> protect_comm = {
      "init",        "systemd", "systemd-journal", "systemd-logind", "systemd-udevd", "dbus-daemon",
      "dbus-broker", "sshd",    "sshd-session",    "reaperd"};
  // Exact comm names avoided: chosen only when nothing else in the scope is killable (issue
  // 15). The display servers, compositors, shells and audio servers of a desktop: their death
  // ends the session, but a process may take any name, so a name alone only avoids.
  std::vector<std::string> avoid_comm = {
      "Xorg",        "Xwayland", "gnome-shell",    "kwin_wayland", "kwin_x11",
      "plasmashell", "pipewire", "pipewire-pulse", "wireplumber",  "pulseaudio"};
  // Names never avoided, whatever avoid_comm or the layout says.
  std::vector<std::string> unavoid_comm;
  // Avoid what the systemd/logind layout of the cgroup tree says holds a session together
  // (policy/session.h): user@UID.service's session.slice and manager, session leaders,
  // audio and display-manager services.
  bool session_avoid = true;
  std::vector<std::string> protect_cgroup;  // cgroup path prefixes ("/a/b") never killed
  std::vector<std::uint32_t> protect_uid;   // uids never killed
  std::vector<Rule> rules;
  // Bytes of command line read per process; 0 never reads it (reading takes the process's
  // mmap lock), and then no rule may match on cmdline.
  std::uint32_t cmdline_max = 4096;
  // Percent of an application's growth during the episode added to each of its processes'
  // score (policy/growth.h): 100 counts a page grown like a page held; 0 turns it off.
  int growth_weight = 100;
  friend bool operator==(const RankConfig&, const RankConfig&) = default;
};

struct KillConfig {
  int signal_grace_ms = 0;       // > 0: SIGTERM first, SIGKILL after this grace period
  int deadline_ms = 5000;        // the victim's memory must be released by then
  Widen widen = Widen::kNone;    // kill the process group or the whole cgroup too
  bool honour_oom_group = true;  // v2 memory.oom.group=1 widens to that cgroup
  // The kill-size ladder's highest step (issue 15): when pressure stays after a victim's
  // memory is back and the same application is on top again, the next kill takes its process
  // group, then its cgroup. kNone: every kill is its process alone (or what `widen` says).
  Widen step_up = Widen::kCgroup;
  LastResort last_resort = LastResort::kKernelOom;
  int last_resort_after_misses = 3;  // missed deadlines in a row before the last resort
  int reaper_threads = 2;
  int reaper_realtime_priority = 0;  // 0: off; 1..99: SCHED_FIFO for the reaper threads
  int mrelease_retries = 10;         // bounded retries on EAGAIN/EINTR
  int mrelease_retry_delay_ms = 20;
  friend bool operator==(const KillConfig&, const KillConfig&) = default;
};

struct DetectorConfig {
  // Memory headroom thresholds, percent of the scope's total (MemTotal, or the limit).
  double warn_available_percent = 10.0;
  double reclaim_available_percent = 7.0;
  double kill_available_percent = 4.0;
  // Kill when the trend says the floor is reached within this horizon.
  int kill_time_to_exhaustion_ms = 1500;
  // PSI: sustained stall share (percent of wall time) over a window.
  double psi_some_warn_percent = 10.0;
  double psi_full_kill_percent = 40.0;
  // Swap nearly full and memory low (systemd-oomd's SwapUsedLimit, for ManagedOOMSwap=kill):
  // with swap and memory both used at least this much, kill the largest swap user. 0: off.
  double swap_used_kill_percent = 90.0;
  int psi_window_ms = 1000;
  int psi_sustain_ms = 2000;
  // Sampling interval adapts between these.
  int interval_fast_ms = 100;
  int interval_slow_ms = 10000;
  // Hysteresis: a level drops only when headroom exceeds its threshold by this much.
  double hysteresis_percent = 2.0;
  // The headroom trend is a least-squares fit over this window.
  int trend_window_ms = 500;
  // Trend predictions in a row (below the warn threshold) before a time-to-exhaustion kill.
  int tte_confirm_samples = 3;
  // After a kill, the next kill waits until headroom rose by this share of the victim's bytes,
  double victim_return_percent = 50.0;
  // or until this long after the reaper reported the victim done (0: the first sample after
  // it; its pages are free by then: reaped, or its mm gone), or the victim's deadline.
  int victim_settle_ms = 0;
  friend bool operator==(const DetectorConfig&, const DetectorConfig&) = default;
};

struct DaemonConfig {
  std::string log_level = "info";  // debug, info, notice, warning, error
  bool dry_run = false;
  // Without --scope: also watch every cgroup with a memory limit below MemTotal under
  // watch_limited_cgroups_under (smallest limits first, at most max_cgroup_scopes), found
  // again every rescan_interval_ms, so a limited cgroup is protected before its memcg OOM.
  bool watch_limited_cgroups = true;
  std::string watch_limited_cgroups_under = "/";
  int max_cgroup_scopes = 64;
  int rescan_interval_ms = 5000;
  friend bool operator==(const DaemonConfig&, const DaemonConfig&) = default;
};

// Where reaperd reports: kill reports, metrics, the status socket. An empty path turns that
// output off.
struct ReportConfig {
  std::string kill_report_path = "/var/lib/reaperd/kills.jsonl";
  std::uint32_t kill_report_max_bytes = 1U << 20;  // rotate when the file would exceed this
  int kill_report_keep = 3;                        // rotated files kept: PATH.1 .. PATH.N
  std::string metrics_textfile_path = "/var/lib/node_exporter/textfile_collector/reaperd.prom";
  int metrics_interval_ms = 15000;
  std::string metrics_listen;  // "127.0.0.1:PORT" (loopback only); empty: no HTTP endpoint
  std::string status_socket = "/run/reaperd/status.sock";
  // The kubelet's pod log directories (<ns>_<name>_<uid>), read to name pods; "" off.
  std::string pod_logs_dir = "/var/log/pods";
  friend bool operator==(const ReportConfig&, const ReportConfig&) = default;
};

enum class NotifierKind : unsigned char {
  kCgroupReclaim,
  kDropCaches,
  kSignal,
  kSocket,
  kHook,
  kEvent,
};

// One step of the reclaim chain ([[reclaim.notifier]]). Which keys apply depends on kind;
// the others must be left out (checked).
struct NotifierConfig {
  std::string name;  // for logs and status; defaults to "<kind> N"
  NotifierKind kind = NotifierKind::kHook;
  int timeout_ms = 1000;  // the step is abandoned after this
  // cgroup_reclaim: the cgroup to reclaim from ("" = the scope's own) and how much to ask.
  std::string cgroup;
  std::uint32_t reclaim_mib = 64;
  // signal: processes of the scope whose comm is one of these get the signal.
  std::vector<std::string> comm;
  int signal = 10;  // SIGUSR1
  // socket: a unix stream socket; a line "reclaim ..." is written, then a reply line or EOF
  // is awaited until the timeout.
  std::string socket;
  // event: no keys of its own; a "warning" line on the event stream (reaperd-bus turns it
  // into the LowMemoryWarning D-Bus signal).
  // hook: argv[0] is an absolute path; run by execve, never through a shell.
  std::vector<std::string> argv;
  friend bool operator==(const NotifierConfig&, const NotifierConfig&) = default;
};

struct ReclaimConfig {
  bool enabled = true;
  // After each step, wait this long before measuring what it freed.
  int settle_ms = 200;
  // A step that freed less than this many MiB freed nothing.
  std::uint32_t min_freed_mib = 1;
  // Consecutive steps that freed nothing before a notifier is backed off; the back-off
  // starts at backoff_initial_ms and doubles with each further miss, up to backoff_max_ms.
  int backoff_after = 3;
  int backoff_initial_ms = 5000;
  int backoff_max_ms = 300000;
  // While at the reclaim level, the chain runs again this long after its last pass ended.
  int interval_ms = 1000;
  // At the kill level, the first kill of an episode waits at most this long for the chain
  // (less when the trend says memory runs out sooner).
  int kill_budget_ms = 300;
  std::vector<NotifierConfig> notifiers;
  friend bool operator==(const ReclaimConfig&, const ReclaimConfig&) = default;
};

// A program run on an event: argv (empty: none) and its timeout.
struct HookConfig {
  std::vector<std::string> argv;
  int timeout_ms = 5000;
  friend bool operator==(const HookConfig&, const HookConfig&) = default;
};

struct HooksConfig {
  HookConfig warn;
  HookConfig pre_kill{{}, 200};
  HookConfig post_kill;
  friend bool operator==(const HooksConfig&, const HooksConfig&) = default;
};

struct WatchdogConfig {
  bool enabled = true;
  int check_interval_ms = 1000;
  // A task in uninterruptible sleep (D) this long is stalled.
  int d_state_ms = 10000;
  // System PSI memory full above this share of wall time for psi_full_sustain_ms: a stall.
  double psi_full_percent = 50.0;
  int psi_full_sustain_ms = 5000;
  // The daemon loop this long past the tick it announced (Watchdog::Beat): late.
  int loop_late_ms = 5000;
  // At most one report per this interval (a stall lasts; its report need not repeat).
  int report_interval_ms = 30000;
  // Stalled tasks listed per report, at most.
  int max_tasks = 32;
  bool read_stack = true;
  std::string report_path = "/var/lib/reaperd/stalls.jsonl";  // "" = log only
  friend bool operator==(const WatchdogConfig&, const WatchdogConfig&) = default;
};

struct Config {
  DaemonConfig daemon;
  DetectorConfig detector;
  KillConfig kill;
  RankConfig rank;
  ReclaimConfig reclaim;
  HooksConfig hooks;
  WatchdogConfig watchdog;
  ReportConfig report;
  friend bool operator==(const Config&, const Config&) = default;
};

// The spelling of each enum value in the config file (e.g. "process_group").
std::string_view Name(RuleAction a) noexcept;
std::string_view Name(Widen w) noexcept;
std::string_view Name(LastResort r) noexcept;
std::string_view Name(NotifierKind k) noexcept;
// "SIGUSR1" for 10, ...: the signal names a notifier accepts; "?" for others.
std::string_view SignalName(int sig) noexcept;

// A parse or validation error: where and what.
struct ConfigError {
  std::string file;  // path, or "<default>" for the embedded config
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
  std::string key;   // dotted key, e.g. "kill.deadline_ms" or "rule[2].comm"
  std::string message;
  std::string ToString() const;  // "file:line:column: key: message"; unknown parts left out
  friend bool operator==(const ConfigError&, const ConfigError&) = default;
};

// Parses "127.x.y.z:PORT" (report.metrics_listen); false for anything not on loopback.
bool ParseLoopbackAddress(std::string_view text, std::uint32_t* addr_host_order,
                          std::uint16_t* port);

// The embedded default config (packaging/config/reaperd.toml), generated at build time.
extern const std::string_view kDefaultConfigToml;

// Parses TOML text; source names it in errors. Unknown keys and bad values are errors.
// (Config sits at the edge, so its error carries strings, unlike reaperd::Error.)
std::expected<Config, ConfigError> ParseConfig(std::string_view text, std::string_view source);
// Reads and parses a file (a regular file of at most 1 MiB).
std::expected<Config, ConfigError> LoadConfigFile(const std::string& path);
// The defaults: Config{}. The embedded kDefaultConfigToml parses to exactly this (tested), so
// the documented file and the struct cannot drift apart.
Config DefaultConfig();

// Every program the config has reaperd run, with the key that names it ("hooks.warn",
// "reclaim.notifier[2]"): each must pass the same trust check as the config file itself.
struct HookProgram {
  std::string key;
  std::string path;  // argv[0]: absolute, checked by the loader
};
std::vector<HookProgram> HookPrograms(const Config& config);

}  // namespace reaperd::config
