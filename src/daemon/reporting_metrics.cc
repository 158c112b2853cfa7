// Reporting's metric families: every name, type and help text reaperd exports (the Prometheus
// textfile and the loopback endpoint), defined once at construction.
#include "daemon/reporting.h"

namespace reaperd::daemon {

using report::MetricType;

void Reporting::DefineMetrics() {
  auto& m = metrics_;
  m.Define("reaperd_build_info", MetricType::kGauge, "Always 1; the version is a label.");
  m.Set("reaperd_build_info", {{"version", REAPERD_VERSION}}, 1);
  m.Define("reaperd_dry_run", MetricType::kGauge, "1 when reaperd decides but never signals.");
  m.Set("reaperd_dry_run", {}, dry_run_ ? 1 : 0);
  m.Define("reaperd_kills_total", MetricType::kCounter,
           "Victims chosen and signalled, by scope and final outcome (reaped, exited, "
           "missed_deadline, stale, dry_run, failed).");
  m.Define("reaperd_kill_decisions_total", MetricType::kCounter,
           "Kill decisions by scope and by each reason that held (available_low, "
           "time_to_exhaustion, psi_some, psi_full).");
  m.Define("reaperd_deadlines_missed_total", MetricType::kCounter,
           "Victims whose memory was not released by kill.deadline_ms, by scope.");
  m.Define("reaperd_escalations_total", MetricType::kCounter,
           "SIGTERM grace periods that ran out and were followed by SIGKILL, by scope.");
  m.Define("reaperd_last_resort_total", MetricType::kCounter,
           "Last resorts pulled after repeated misses, by scope and action (kernel, panic, "
           "reboot: system scope only; kill_cgroup: a cgroup scope's own).");
  m.Define("reaperd_last_resort_failed_total", MetricType::kCounter,
           "Last resorts that could not act (sysrq write refused, nothing killable left in "
           "the cgroup...), by scope and action.");
  m.Define("reaperd_bytes_freed_total", MetricType::kCounter,
           "Bytes released by victims (process_mrelease, or visibly back in the scope), by scope.");
  m.Define("reaperd_level_changes_total", MetricType::kCounter,
           "Detector level changes, by scope and the level entered.");
  m.Define("reaperd_reclaim_runs_total", MetricType::kCounter,
           "Reclaim notifier runs, by notifier and result.");
  m.Define("reaperd_reclaim_bytes_freed_total", MetricType::kCounter,
           "Bytes the reclaim notifiers were measured to free, by notifier.");
  m.Define("reaperd_kill_report_write_errors_total", MetricType::kCounter,
           "Kill reports that could not be written to the kill report file.");
  m.Add("reaperd_kill_report_write_errors_total", {}, 0);
  for (const char* name : {"reaperd_detection_to_signal_seconds", "reaperd_signal_to_exit_seconds",
                           "reaperd_signal_to_reaped_seconds"}) {
    m.Define(name, MetricType::kHistogram,
             "Latency of the kill path, seconds (detection is the kill decision).",
             report::kLatencyBuckets);
  }
  m.Define("reaperd_pressure_some_percent", MetricType::kGauge,
           "PSI memory some: share of wall time with a task stalled on memory, by scope.");
  m.Define("reaperd_pressure_full_percent", MetricType::kGauge,
           "PSI memory full: share of wall time with all non-idle tasks stalled, by scope.");
  m.Define("reaperd_available_bytes", MetricType::kGauge,
           "Memory available to the scope (MemAvailable, or limit minus usage).");
  m.Define("reaperd_total_bytes", MetricType::kGauge, "The scope's memory (MemTotal, or limit).");
  m.Define("reaperd_swap_total_bytes", MetricType::kGauge,
           "The scope's swap as headroom counts it (swap on zram at what it frees).");
  m.Define("reaperd_swap_free_bytes", MetricType::kGauge,
           "The scope's free swap as headroom counts it (swap on zram at what it frees).");
  m.Define("reaperd_level", MetricType::kGauge,
           "The scope's detector level: 0 ok, 1 warn, 2 reclaim, 3 kill.");
  m.Define("reaperd_log_lines_dropped_total", MetricType::kCounter,
           "Log lines dropped because journald (or stderr's reader) was not keeping up: the "
           "daemon never waits for its log.");
  m.Add("reaperd_log_lines_dropped_total", {}, 0);
  m.Define("reaperd_victims_in_flight", MetricType::kGauge,
           "Victims signalled whose memory is not yet released.");
  m.Set("reaperd_victims_in_flight", {}, 0);
}

}  // namespace reaperd::daemon
